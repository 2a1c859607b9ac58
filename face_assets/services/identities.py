"""Identities: person prototypes and the assignment of faces to known persons.

Dual mode (the image-search seed) assigns known people first, then clusters only the faces
nobody claimed: the clustering is services/clusters.py's, both steps in one call
services/dual.py's. Each function takes a plain Store.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from face_assets.identity import prototypes
from face_assets.identity.assignment import (
    FaceCandidates,
    PrototypeIndex,
    resolve_assignments,
)
from face_assets.services.matching import MatchingRule
from face_assets.store import Connection, Store, face_sets
from face_assets.store import assignments as assignment_store
from face_assets.store import labels as label_store
from face_assets.store import person_profiles as profile_store
from face_assets.store import persons as person_store
from face_assets.store import prototypes as prototype_store
from face_assets.store import vectors as vector_store
from face_assets.vision.packs import assign_margins_help, pack_info

__all__ = ["assign_margins_help"]  # for the asset's config help, re-exported here (layers)

WRITE_BATCH = 20_000  # faces per write-back transaction: short locks, few round trips
# Faces matched per chunk: 100k x 512 float32 = 200 MB of embeddings in memory at a time.
ASSIGN_CHUNK = 100_000


@dataclass
class PrototypeStats:
    persons: int = 0
    prototypes: int = 0
    faces_per_person: dict[int, int] = field(default_factory=dict)


def rebuild_prototypes(
    conn: Connection, pack: str, person_ids: list[int] | None = None
) -> PrototypeStats:
    """Centroid (normalised mean, seed formula) + top-quality exemplars per active person."""
    stats = PrototypeStats()
    grouped = face_sets.human_face_sets(conn, pack, person_ids)
    targets = person_ids if person_ids is not None else person_store.active_person_ids(conn)
    rows: list[tuple[int, str, int | None, np.ndarray]] = []
    for person_id in targets:
        faces = grouped.get(person_id)
        if faces is None or not faces.face_ids:
            continue  # no labelled face left: the person has no prototypes
        rows.append((person_id, "centroid", None, prototypes.centroid(faces.embeddings)))
        for i in prototypes.exemplar_indices(faces.qualities):
            rows.append((person_id, "exemplar", faces.face_ids[i], faces.embeddings[i]))
        stats.persons += 1
        stats.faces_per_person[person_id] = len(faces.face_ids)
    # One statement for all persons: a library-wide refresh is not one round trip per person.
    stats.prototypes = prototype_store.replace_prototypes_of(conn, pack, list(targets), rows)
    prototype_store.drop_prototypes_of_inactive(conn)
    return stats


def refresh_prototypes(store: Store, pack: str) -> PrototypeStats:
    """Every active person's prototypes, in one transaction."""
    with store.transaction() as conn:
        return rebuild_prototypes(conn, pack)


@dataclass
class AssignmentStats:
    faces: int = 0
    assigned: int = 0
    per_person: Counter = field(default_factory=Counter)
    similarities: list[float] = field(default_factory=list)
    threshold: float = 0.0
    margin: float = 0.0
    head: str | None = None
    phases: Counter = field(default_factory=Counter)  # seconds: read, match, resolve, write
    before_birthdate: int = 0  # candidates dropped: the photo predates the person's birth


def prototype_index(
    store: Store, pack: str, projector: Callable[[np.ndarray], np.ndarray] | None = None
) -> PrototypeIndex:
    """Every active person's prototypes, loaded once per run (in a head's space if given)."""
    with store.transaction() as conn:
        ids, persons, embeddings, roles = prototype_store.prototypes(conn, pack)
    if projector is not None and ids:
        embeddings = projector(embeddings)
    return PrototypeIndex.build(ids, persons, roles, embeddings)


def assign_month(
    store: Store, pack: str, month: str, rule: MatchingRule, margin: float | None = None
) -> AssignmentStats:
    """assign_months for one month."""
    return assign_months(store, pack, [month], rule, margin)


def assign_months(
    store: Store,
    pack: str,
    months: Iterable[str],
    rule: MatchingRule,
    margin: float | None = None,
) -> AssignmentStats:
    """Assign the months' unlabelled faces to known persons (auto), never over human labels.

    Faces are matched against every person's prototypes (loaded once) in batches: matrix
    products (PrototypeIndex), outside any transaction, photo by photo in chunks of
    ASSIGN_CHUNK faces. Results are written back in short transactions that re-check, row by
    row, what a human decided meanwhile (a label, an unassign, a hidden person). The rule
    (services/matching.py) gives the threshold and the space: with a promoted projection head
    faces and prototypes are compared in its space.
    """
    threshold, head_name = rule.threshold, rule.head
    if margin is None:  # the pack's lead over the runner-up, in its own similarity scale
        margin = pack_info(pack).assign_margin
    stats = AssignmentStats(threshold=threshold, margin=margin, head=head_name)
    started = time.perf_counter()
    index = prototype_index(store, pack, rule.projector)
    with store.transaction() as conn:
        face_ids, image_ids = assignment_store.faces_to_assign(conn, sorted(set(months)), pack)
    stats.faces = len(face_ids)
    stats.phases["read_seconds"] += time.perf_counter() - started
    run = _MonthsRun(store, pack, index, rule, margin, stats)
    decided: list = []
    for part in _photo_chunks(image_ids, ASSIGN_CHUNK):
        decided += _assign_chunk(run, face_ids[part], image_ids[part])
    started = time.perf_counter()
    by_face = {a.face_id: (a.face_id, a.person_id, a.similarity, a.prototype_id, head_name)
               for a in decided}  # fmt: skip
    for start in range(0, len(face_ids), WRITE_BATCH):
        chunk = face_ids[start : start + WRITE_BATCH]
        with store.transaction() as conn:
            assignment_store.write_assignments(
                conn, chunk, [by_face[f] for f in chunk if f in by_face]
            )
    stats.phases["write_seconds"] += time.perf_counter() - started
    stats.assigned = len(decided)
    stats.per_person = Counter(a.person_id for a in decided)
    stats.similarities = [a.similarity for a in decided]
    return stats


def _photo_chunks(image_ids: list[int], size: int) -> Iterable[slice]:
    """Slices of about `size` rows of image-ordered faces that never split a photo (the
    one-person-once-per-photo rule needs a photo's faces together)."""
    start, n = 0, len(image_ids)
    while start < n:
        end = min(start + size, n)
        while end < n and image_ids[end] == image_ids[end - 1]:
            end += 1
        yield slice(start, end)
        start = end


@dataclass
class _MonthsRun:
    """What every chunk of one assign_months call is matched with, set once before its loop:
    the prototypes loaded once, the rule and margin, and the stats each chunk adds to."""

    store: Store
    pack: str
    index: PrototypeIndex
    rule: MatchingRule
    margin: float
    stats: AssignmentStats


def _assign_chunk(run: _MonthsRun, face_ids: list[int], image_ids: list[int]) -> list:
    phases = run.stats.phases
    started = time.perf_counter()
    with run.store.transaction() as conn:
        rejected = label_store.rejections(conn, face_ids)
        # A cannot-link in time: nobody is in a photo taken before their birthdate.
        early = profile_store.born_after_photo(conn, face_ids)
        taken = assignment_store.human_persons_per_photo(conn, sorted(set(image_ids)), run.pack)
        embeddings = vector_store.embeddings(conn, np.asarray(face_ids, dtype=np.int64))
    phases["read_seconds"] += time.perf_counter() - started
    started = time.perf_counter()
    candidates = run.index.candidates(
        run.rule.vectors(embeddings), min_similarity=run.rule.threshold
    )
    phases["match_seconds"] += time.perf_counter() - started
    started = time.perf_counter()
    requests = []
    for face_id, photo, cands in zip(face_ids, image_ids, candidates, strict=True):
        kept = [c for c in cands if c.person_id not in rejected.get(face_id, ())]
        allowed = [c for c in kept if c.person_id not in early.get(face_id, ())]
        run.stats.before_birthdate += len(kept) - len(allowed)
        if allowed:
            requests.append(FaceCandidates(face_id, photo, allowed))
    decided = resolve_assignments(
        requests, threshold=run.rule.threshold, margin=run.margin, taken=taken
    )
    phases["resolve_seconds"] += time.perf_counter() - started
    return decided
