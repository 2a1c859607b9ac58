import numpy as np
import pytest

from face_assets.identity.assignment import (
    ASSIGN_MARGIN,
    Assignment,
    Candidate,
    FaceCandidates,
    PrototypeIndex,
    resolve_assignments,
)

SEED_THRESHOLD = 0.7  # the seed's default threshold (buffalo_l in vision/packs.py)


def face(face_id, photo_id, *hits):
    """hits are (person_id, similarity) or (person_id, similarity, prototype_id)."""
    return FaceCandidates(face_id, photo_id, [Candidate(*h) for h in hits])


def as_pairs(assignments):
    return {a.face_id: a.person_id for a in assignments}


def resolve(faces, threshold=SEED_THRESHOLD, **kwargs):
    return resolve_assignments(faces, threshold=threshold, **kwargs)


def test_defaults_are_the_documented_constants():
    assert ASSIGN_MARGIN == 0.05


def test_clear_match_is_assigned_with_runner_up_recorded():
    out = resolve([face(1, 10, (7, 0.9, 70), (8, 0.6, 80))])
    assert out == [
        Assignment(face_id=1, person_id=7, similarity=0.9, second_similarity=0.6, prototype_id=70)
    ]


def test_single_candidate_needs_no_margin():
    out = resolve([face(1, 10, (7, 0.71))])
    assert out[0].second_similarity is None
    assert as_pairs(out) == {1: 7}


def test_threshold_rejection():
    assert resolve([face(1, 10, (7, 0.69))]) == []
    assert as_pairs(resolve([face(1, 10, (7, 0.69))], threshold=0.65)) == {1: 7}


def test_threshold_boundary_is_inclusive():
    assert as_pairs(resolve([face(1, 10, (7, 0.7))])) == {1: 7}


def test_margin_rejection():
    # 0.82 vs 0.80: clears the threshold, but too close to call.
    ambiguous = [face(1, 10, (7, 0.82), (8, 0.80))]
    assert resolve(ambiguous) == []
    assert as_pairs(resolve(ambiguous, margin=0.01)) == {1: 7}
    # Exactly the margin (0.75 - 0.70 = 0.05 despite float rounding) passes.
    assert as_pairs(resolve([face(1, 10, (7, 0.75), (8, 0.70))])) == {1: 7}


def test_runner_up_below_threshold_still_counts_for_margin():
    assert resolve([face(1, 10, (7, 0.72), (8, 0.69))]) == []


def test_multiple_prototypes_of_one_person_are_reduced():
    # Three prototypes of person 7 must not be each other's runner-up.
    f = face(1, 10, (7, 0.80, 71), (7, 0.91, 72), (7, 0.89, 73), (8, 0.5, 80))
    out = resolve([f])
    assert out == [Assignment(1, 7, 0.91, 0.5, 72)]


def test_prototype_reduction_uses_best_of_each_person_for_margin():
    # Person 8's best prototype (0.88) is within the margin of person 7's (0.9).
    f = face(1, 10, (7, 0.9, 71), (8, 0.6, 81), (8, 0.88, 82))
    assert resolve([f]) == []


def test_same_photo_conflict_more_similar_face_wins_other_unassigned():
    faces = [face(1, 10, (7, 0.85)), face(2, 10, (7, 0.92))]
    assert as_pairs(resolve(faces)) == {2: 7}


def test_same_photo_conflict_loser_falls_to_next_person():
    # Face 1 looks most like 7 (0.90) but face 2 is a better 7 (0.95). Person 7 is then known to
    # be elsewhere in the photo, so face 1 falls to person 8 (0.85), measured against person 9.
    faces = [face(1, 10, (7, 0.90), (8, 0.85), (9, 0.60)), face(2, 10, (7, 0.95))]
    out = resolve(faces)
    assert as_pairs(out) == {1: 8, 2: 7}
    assert out[0].second_similarity == 0.60


def test_fallback_person_must_clear_margin_against_remaining_rivals():
    faces = [face(1, 10, (7, 0.90), (8, 0.85), (9, 0.83)), face(2, 10, (7, 0.95))]
    assert as_pairs(resolve(faces)) == {2: 7}


def test_fallback_person_must_clear_threshold():
    faces = [face(1, 10, (7, 0.90), (8, 0.65)), face(2, 10, (7, 0.95))]
    assert as_pairs(resolve(faces)) == {2: 7}


def test_different_photos_do_not_conflict():
    faces = [face(1, 10, (7, 0.85)), face(2, 11, (7, 0.92))]
    assert as_pairs(resolve(faces)) == {1: 7, 2: 7}


def test_taken_persons_are_not_auto_assigned_in_that_photo():
    faces = [face(1, 10, (7, 0.95), (8, 0.80)), face(2, 11, (7, 0.95))]
    out = resolve(faces, taken={10: {7}})
    # Person 7 is human-labelled in photo 10: face 1 falls to person 8 (no rival left);
    # photo 11 is unaffected.
    assert as_pairs(out) == {1: 8, 2: 7}
    assert out[0].second_similarity is None
    assert resolve([face(1, 10, (7, 0.95))], taken={10: {7}}) == []


def test_taken_is_not_mutated():
    taken = {10: {7}}
    resolve([face(1, 10, (8, 0.9))], taken=taken)
    assert taken == {10: {7}}


def test_output_is_deterministic_and_sorted_by_face_id():
    faces = [
        face(5, 10, (7, 0.9)),
        face(3, 10, (7, 0.9)),  # exact tie with face 5: lower face id wins
        face(4, 11, (8, 0.8)),
    ]
    out = resolve(faces)
    assert [a.face_id for a in out] == [3, 4]
    assert out == resolve(list(reversed(faces)))


def test_faces_without_candidates_and_duplicate_faces():
    assert resolve([face(1, 10)]) == []
    assert resolve([]) == []
    with pytest.raises(ValueError, match="twice"):
        resolve([face(1, 10, (7, 0.9)), face(1, 10, (7, 0.9))])


def _unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_prototype_index_matches_the_exhaustive_best_prototype_per_person():
    """Centroids first, then the exemplars of the nearest persons: each face's candidate per
    person is that person's closest prototype, as comparing with every prototype gives."""
    rng = np.random.default_rng(0)
    persons = 30
    centres = _unit(rng.normal(size=(persons, 512)))
    rows, ids, owners, roles = [], [], [], []
    for p in range(persons):
        members = _unit(centres[p] + 0.6 * rng.normal(size=(3, 512)) / np.sqrt(512) * 8)
        for vec, role in [(_unit(members.mean(axis=0)), "centroid")] + [
            (m, "exemplar") for m in members
        ]:
            rows.append(vec)
            ids.append(len(ids) + 100)
            owners.append(p + 1)
            roles.append(role)
    emb = np.vstack(rows)
    index = PrototypeIndex.build(ids, owners, roles, emb)
    faces = _unit(centres[rng.integers(0, persons, 50)] + rng.normal(size=(50, 512)) * 0.05)
    got = index.candidates(faces, persons_per_face=persons)
    sims = faces @ emb.T
    for f, cands in enumerate(got):
        for cand in cands:
            mine = [i for i, o in enumerate(owners) if o == cand.person_id]
            best = max(mine, key=lambda i: sims[f, i])
            assert cand.similarity == pytest.approx(float(sims[f, best]), abs=1e-5)
            assert cand.prototype_id == ids[best]
    # With fewer persons per face, the best person is still found (it has the nearest centroid).
    top = index.candidates(faces, persons_per_face=2)
    assert [max(c, key=lambda c: c.similarity).person_id for c in top] == [
        max(c, key=lambda c: c.similarity).person_id for c in got
    ]


def test_prototype_index_skips_faces_below_the_threshold_and_handles_no_persons():
    empty = PrototypeIndex.build([], [], [], np.zeros((0, 512), dtype=np.float32))
    assert empty.candidates(np.ones((3, 512), dtype=np.float32)) == [[], [], []]
    a, b = _unit(np.eye(512)[0]), _unit(np.eye(512)[1])
    index = PrototypeIndex.build([1, 2], [7, 8], ["centroid", "centroid"], np.vstack([a, b]))
    faces = np.vstack([_unit(a + 0.1 * b), _unit(np.eye(512)[2])])
    got = index.candidates(faces, min_similarity=0.5)
    assert {c.person_id for c in got[0]} == {7, 8} and got[1] == []
