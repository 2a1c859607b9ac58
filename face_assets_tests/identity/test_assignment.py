import pytest

from face_assets.identity.assignment import (
    ASSIGN_MARGIN,
    PERSON_THRESHOLD,
    Assignment,
    Candidate,
    FaceCandidates,
    resolve_assignments,
)


def face(face_id, photo_id, *hits):
    """hits are (person_id, similarity) or (person_id, similarity, prototype_id)."""
    return FaceCandidates(face_id, photo_id, [Candidate(*h) for h in hits])


def as_pairs(assignments):
    return {a.face_id: a.person_id for a in assignments}


def test_defaults_are_the_documented_constants():
    assert PERSON_THRESHOLD == 0.7
    assert ASSIGN_MARGIN == 0.05


def test_clear_match_is_assigned_with_runner_up_recorded():
    out = resolve_assignments([face(1, 10, (7, 0.9, 70), (8, 0.6, 80))])
    assert out == [
        Assignment(face_id=1, person_id=7, similarity=0.9, second_similarity=0.6, prototype_id=70)
    ]


def test_single_candidate_needs_no_margin():
    out = resolve_assignments([face(1, 10, (7, 0.71))])
    assert out[0].second_similarity is None
    assert as_pairs(out) == {1: 7}


def test_threshold_rejection():
    assert resolve_assignments([face(1, 10, (7, 0.69))]) == []
    assert as_pairs(resolve_assignments([face(1, 10, (7, 0.69))], threshold=0.65)) == {1: 7}


def test_threshold_boundary_is_inclusive():
    assert as_pairs(resolve_assignments([face(1, 10, (7, 0.7))])) == {1: 7}


def test_margin_rejection():
    # 0.82 vs 0.80: clears the threshold, but too close to call.
    ambiguous = [face(1, 10, (7, 0.82), (8, 0.80))]
    assert resolve_assignments(ambiguous) == []
    assert as_pairs(resolve_assignments(ambiguous, margin=0.01)) == {1: 7}
    # Exactly the margin (0.75 - 0.70 = 0.05 despite float rounding) passes.
    assert as_pairs(resolve_assignments([face(1, 10, (7, 0.75), (8, 0.70))])) == {1: 7}


def test_runner_up_below_threshold_still_counts_for_margin():
    assert resolve_assignments([face(1, 10, (7, 0.72), (8, 0.69))]) == []


def test_multiple_prototypes_of_one_person_are_reduced():
    # Three prototypes of person 7 must not be each other's runner-up.
    f = face(1, 10, (7, 0.80, 71), (7, 0.91, 72), (7, 0.89, 73), (8, 0.5, 80))
    out = resolve_assignments([f])
    assert out == [Assignment(1, 7, 0.91, 0.5, 72)]


def test_prototype_reduction_uses_best_of_each_person_for_margin():
    # Person 8's best prototype (0.88) is within the margin of person 7's (0.9).
    f = face(1, 10, (7, 0.9, 71), (8, 0.6, 81), (8, 0.88, 82))
    assert resolve_assignments([f]) == []


def test_same_photo_conflict_more_similar_face_wins_other_unassigned():
    faces = [face(1, 10, (7, 0.85)), face(2, 10, (7, 0.92))]
    assert as_pairs(resolve_assignments(faces)) == {2: 7}


def test_same_photo_conflict_loser_falls_to_next_person():
    # Face 1 looks most like 7 (0.90) but face 2 is a better 7 (0.95). Person 7 is then known to
    # be elsewhere in the photo, so face 1 falls to person 8 (0.85), measured against person 9.
    faces = [face(1, 10, (7, 0.90), (8, 0.85), (9, 0.60)), face(2, 10, (7, 0.95))]
    out = resolve_assignments(faces)
    assert as_pairs(out) == {1: 8, 2: 7}
    assert out[0].second_similarity == 0.60


def test_fallback_person_must_clear_margin_against_remaining_rivals():
    faces = [face(1, 10, (7, 0.90), (8, 0.85), (9, 0.83)), face(2, 10, (7, 0.95))]
    assert as_pairs(resolve_assignments(faces)) == {2: 7}


def test_fallback_person_must_clear_threshold():
    faces = [face(1, 10, (7, 0.90), (8, 0.65)), face(2, 10, (7, 0.95))]
    assert as_pairs(resolve_assignments(faces)) == {2: 7}


def test_different_photos_do_not_conflict():
    faces = [face(1, 10, (7, 0.85)), face(2, 11, (7, 0.92))]
    assert as_pairs(resolve_assignments(faces)) == {1: 7, 2: 7}


def test_taken_persons_are_not_auto_assigned_in_that_photo():
    faces = [face(1, 10, (7, 0.95), (8, 0.80)), face(2, 11, (7, 0.95))]
    out = resolve_assignments(faces, taken={10: {7}})
    # Person 7 is human-labelled in photo 10: face 1 falls to person 8 (no rival left);
    # photo 11 is unaffected.
    assert as_pairs(out) == {1: 8, 2: 7}
    assert out[0].second_similarity is None
    assert resolve_assignments([face(1, 10, (7, 0.95))], taken={10: {7}}) == []


def test_taken_is_not_mutated():
    taken = {10: {7}}
    resolve_assignments([face(1, 10, (8, 0.9))], taken=taken)
    assert taken == {10: {7}}


def test_output_is_deterministic_and_sorted_by_face_id():
    faces = [
        face(5, 10, (7, 0.9)),
        face(3, 10, (7, 0.9)),  # exact tie with face 5: lower face id wins
        face(4, 11, (8, 0.8)),
    ]
    out = resolve_assignments(faces)
    assert [a.face_id for a in out] == [3, 4]
    assert out == resolve_assignments(list(reversed(faces)))


def test_faces_without_candidates_and_duplicate_faces():
    assert resolve_assignments([face(1, 10)]) == []
    assert resolve_assignments([]) == []
    with pytest.raises(ValueError, match="twice"):
        resolve_assignments([face(1, 10, (7, 0.9)), face(1, 10, (7, 0.9))])
