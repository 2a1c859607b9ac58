"""Deciding which known person (if any) an unlabelled face belongs to.

The inputs are nearest-prototype candidates (from a vector search); the output is the set of
automatic assignments that are safe to write. Wrong automatic labels are far more costly than
missing ones (a user has to notice and undo them), so every rule here errs towards "unassigned".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Seed dual-mode default: cosine similarity a face must reach to be auto-assigned to a person.
PERSON_THRESHOLD = 0.7
# Placeholder until tuned by measurement: the best person must beat the runner-up by this much.
ASSIGN_MARGIN = 0.05
# Float slack for the comparisons above, so 0.75 - 0.70 still counts as a margin of 0.05.
_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Candidate:
    """One (person, similarity) hit; ``prototype_id`` is the matched prototype, if known."""

    person_id: int
    similarity: float
    prototype_id: int | None = None


@dataclass(frozen=True, slots=True)
class FaceCandidates:
    """All candidate hits for one face; several may point at prototypes of one person."""

    face_id: int
    photo_id: int
    candidates: list[Candidate] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Assignment:
    """An accepted face -> person decision, with the runner-up it was measured against."""

    face_id: int
    person_id: int
    similarity: float
    second_similarity: float | None
    prototype_id: int | None


def _best_per_person(candidates: Sequence[Candidate]) -> dict[int, Candidate]:
    """Each person's best hit: a person is as close as their closest prototype.

    Without this reduction a person with three prototypes would be their own runner-up and the
    margin rule would reject every face that matches them well. Ties go to the lowest prototype id
    (None last) so the reported prototype is reproducible. NaN similarities are ignored.
    """
    best: dict[int, Candidate] = {}
    for cand in candidates:
        if math.isnan(cand.similarity):
            continue
        current = best.get(cand.person_id)
        if current is None or _candidate_key(cand) < _candidate_key(current):
            best[cand.person_id] = cand
    return best


def _candidate_key(cand: Candidate) -> tuple[float, bool, int]:
    proto = cand.prototype_id
    return (-cand.similarity, proto is None, 0 if proto is None else proto)


def resolve_assignments(
    faces: Sequence[FaceCandidates],
    threshold: float = PERSON_THRESHOLD,
    margin: float = ASSIGN_MARGIN,
    taken: Mapping[int, set[int]] | None = None,
) -> list[Assignment]:
    """Safe automatic assignments, sorted by face id; faces left out stay unassigned.

    A face may go to person P when sim(P) >= threshold and sim(P) - sim(runner-up) >= margin,
    where the runner-up is the best other person still *available in that photo*.
    One person appears at most once per photo, so (face, person) options are taken greedily in
    descending similarity and a person already present in the photo - assigned to a more similar
    face, or named there by a human (``taken``: photo id -> person ids) - is skipped; the face may
    then fall to its next person. Persons known to be elsewhere in the photo are excluded from the
    runner-up too: they are no longer a plausible identity for this face, and counting them would
    make falling to the next person impossible whenever margin > 0.
    A face rejected for a small margin is not reconsidered if its rival is assigned later in the
    pass (to a less similar face); that is the conservative choice and keeps a single pass.
    Ties are broken by face id then person id, so the output is deterministic.
    """
    seen_faces: set[int] = set()
    per_face: dict[int, dict[int, Candidate]] = {}
    photo_of: dict[int, int] = {}
    for face in faces:
        if face.face_id in seen_faces:
            raise ValueError(f"face {face.face_id} listed twice")
        seen_faces.add(face.face_id)
        per_face[face.face_id] = _best_per_person(face.candidates)
        photo_of[face.face_id] = face.photo_id

    present: dict[int, set[int]] = {}
    for photo, persons in (taken or {}).items():
        present[photo] = set(persons)

    options = sorted(
        (
            (-cand.similarity, face_id, person_id)
            for face_id, best in per_face.items()
            for person_id, cand in best.items()
            if cand.similarity >= threshold - _TOLERANCE
        ),
    )
    assigned: dict[int, Assignment] = {}
    for _, face_id, person_id in options:
        if face_id in assigned:
            continue
        in_photo = present.setdefault(photo_of[face_id], set())
        if person_id in in_photo:
            continue
        best = per_face[face_id]
        cand = best[person_id]
        rivals = [c.similarity for p, c in best.items() if p != person_id and p not in in_photo]
        second = max(rivals) if rivals else None
        if second is not None and cand.similarity - second < margin - _TOLERANCE:
            continue
        assigned[face_id] = Assignment(
            face_id=face_id,
            person_id=person_id,
            similarity=cand.similarity,
            second_similarity=second,
            prototype_id=cand.prototype_id,
        )
        in_photo.add(person_id)
    return [assigned[f] for f in sorted(assigned)]
