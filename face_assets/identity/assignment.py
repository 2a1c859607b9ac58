"""Deciding which known person (if any) an unlabelled face belongs to.

The inputs are nearest-prototype candidates (from a vector search); the output is the set of
automatic assignments that are safe to write. Wrong automatic labels are far more costly than
missing ones (a user has to notice and undo them), so every rule here errs towards "unassigned".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

# The best person must beat the runner-up by this much (placeholder: no measurable effect on
# faces_real or lfw_dev). The threshold itself is per model pack: vision/packs.py.
ASSIGN_MARGIN = 0.05
# Persons whose centroid is nearest a face are considered, then their exemplars: enough for
# the margin rule (best vs runner-up) and for one person taken elsewhere in the photo.
PERSONS_PER_FACE = 4
# Faces compared with all centroids at once: 2048 x 10k persons x 4 bytes = 80 MB of scores.
MATCH_BATCH = 2048
# How far an exemplar may beat its person's centroid (faces within this of the bar by their
# nearest centroid are looked at closely). A centroid is the normalised mean of the person's
# faces, so it is usually the closer one; 0.15 is a wide margin over what faces_real shows.
EXEMPLAR_SLACK = 0.15
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
    threshold: float,
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


@dataclass(frozen=True)
class PrototypeIndex:
    """Every active person's centroid and exemplars, ready to match faces in batches.

    Faces are compared with all centroids by one matrix product per batch (exact, no index to
    build or keep in sync), then with the exemplars of their nearest persons only. This replaces
    one vector-index probe per face in SQL: measured by benchmarks/identity_scale.py.
    """

    person_ids: np.ndarray  # (P,) person of each centroid row
    centroids: np.ndarray  # (P, d) unit rows
    centroid_ids: np.ndarray  # (P,) prototype id of each centroid
    exemplars: np.ndarray  # (P, E, d), zero rows where a person has fewer than E
    exemplar_ids: np.ndarray  # (P, E) prototype ids, -1 for padding

    @classmethod
    def build(
        cls,
        prototype_ids: Sequence[int],
        person_ids: Sequence[int],
        roles: Sequence[str],
        embeddings: np.ndarray,
    ) -> PrototypeIndex:
        """From prototype rows (role 'centroid' or 'exemplar'); a person without a centroid
        is matched by the mean of their exemplars' direction (never happens in the store)."""
        emb = np.asarray(embeddings, dtype=np.float32)
        dim = emb.shape[-1] if emb.ndim == 2 else 0
        emb = emb.reshape(len(prototype_ids), dim)
        order: dict[int, int] = {}
        cents: dict[int, tuple[int, np.ndarray]] = {}
        exes: dict[int, list[tuple[int, np.ndarray]]] = {}
        for pid, person, role, row in zip(prototype_ids, person_ids, roles, emb, strict=True):
            order.setdefault(int(person), len(order))
            if role == "centroid":
                cents[int(person)] = (int(pid), row)
            else:
                exes.setdefault(int(person), []).append((int(pid), row))
        persons = list(order)
        width = max((len(v) for v in exes.values()), default=0)
        centroids = np.zeros((len(persons), dim), dtype=np.float32)
        centroid_ids = np.full(len(persons), -1, dtype=np.int64)
        exemplars = np.zeros((len(persons), width, dim), dtype=np.float32)
        exemplar_ids = np.full((len(persons), width), -1, dtype=np.int64)
        for row, person in enumerate(persons):
            for col, (pid, vec) in enumerate(exes.get(person, [])):
                exemplars[row, col], exemplar_ids[row, col] = vec, pid
            if person in cents:
                centroid_ids[row], centroids[row] = cents[person]
            else:
                mean = exemplars[row, : len(exes[person])].mean(axis=0)
                centroids[row] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        return cls(np.asarray(persons, dtype=np.int64), centroids, centroid_ids, exemplars,
                   exemplar_ids)  # fmt: skip

    def __len__(self) -> int:
        return len(self.person_ids)

    def candidates(
        self,
        faces: np.ndarray,
        min_similarity: float = -1.0,
        persons_per_face: int = PERSONS_PER_FACE,
        batch: int = MATCH_BATCH,
    ) -> list[list[Candidate]]:
        """Each face's best hit per nearby person (the closest of that person's prototypes).

        Faces whose every hit is below `min_similarity` get no candidates: they cannot be
        assigned, and skipping them keeps the cost of strangers to one matrix product.
        """
        faces = np.asarray(faces, dtype=np.float32)
        out: list[list[Candidate]] = [[] for _ in range(len(faces))]
        if len(self) == 0 or len(faces) == 0:
            return out
        top = min(persons_per_face, len(self))
        for start in range(0, len(faces), batch):
            sims = faces[start : start + batch] @ self.centroids.T
            # A face whose nearest centroid is far below the bar is skipped before the costly
            # top-k selection (most of a library's faces are strangers); exemplars can beat
            # their centroid by a little, so the bar is lowered by EXEMPLAR_SLACK here.
            rows = np.flatnonzero(sims.max(axis=1) >= min_similarity - EXEMPLAR_SLACK)
            if rows.size == 0:
                continue
            chunk, sims = faces[start + rows], sims[rows]
            near = _top_columns(sims, top)
            cent = np.take_along_axis(sims, near, axis=1)  # (b, top)
            if self.exemplars.shape[1]:
                ex = np.einsum("bd,bted->bte", chunk, self.exemplars[near])  # (b, top, E)
                ex = np.where(self.exemplar_ids[near] >= 0, ex, -np.inf)
                best_ex = ex.argmax(axis=2)
                ex_sim = np.take_along_axis(ex, best_ex[..., None], axis=2)[..., 0]
            else:
                ex_sim = np.full_like(cent, -np.inf)
                best_ex = np.zeros(cent.shape, dtype=np.int64)
            use_ex = ex_sim > cent
            best = np.where(use_ex, ex_sim, cent)
            keep = np.flatnonzero(best.max(axis=1) >= min_similarity)
            for i in keep.tolist():
                row = out[start + int(rows[i])]
                for j in range(top):
                    p = near[i, j]
                    proto = (
                        self.exemplar_ids[p, best_ex[i, j]]
                        if use_ex[i, j]
                        else self.centroid_ids[p]
                    )
                    row.append(Candidate(int(self.person_ids[p]), float(best[i, j]), int(proto)))
        return out


def _top_columns(scores: np.ndarray, top: int) -> np.ndarray:
    """Column indices of each row's `top` largest scores, best first.

    `top` passes of argmax: for the handful of persons a face is compared closely with, this
    is ~5x faster than argpartition over 10k columns (measured: 32 ms vs 174 ms for
    2048 x 10000), which cost as much as the matrix product itself.
    """
    if top >= scores.shape[1]:
        return np.argsort(-scores, axis=1, kind="stable")
    work = scores.copy()
    rows = np.arange(len(work))
    out = np.empty((len(work), top), dtype=np.int64)
    for j in range(top):
        out[:, j] = work.argmax(axis=1)
        work[rows, out[:, j]] = -np.inf
    return out
