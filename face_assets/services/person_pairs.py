""" "Are X and Y the same person?": pairs of persons whose centroids are close (cached per store
and pack, never pairs a human kept apart or seen together in one photo), and the answers:
yes merges, no is a lasting "different" that can be undone.

Human decisions follow labels.py's rules: one transaction each, logged in label_events (ids
and counts only), never overwritten by a machine."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from face_assets.services import labels
from face_assets.store import Connection, Store
from face_assets.store import label_events as event_store
from face_assets.store import person_pairs as pair_store
from face_assets.store import persons as person_store
from face_assets.vision.packs import embedding_dim, person_threshold

# Merge suggestions between persons: centroids this close are likely one person named twice.
# Same-person pairs of buffalo_s mostly score above 0.5 (README); a centroid is steadier than
# one face, so the pack's person threshold itself is the lower edge.
PAIR_PROBE_PERSONS = 2000  # persons (most faces first) whose centroids are compared: bounded


def pair_suggestions(store: Store, pack: str, limit: int) -> list[tuple[int, int, float]]:
    """(person, other, similarity) of active persons whose centroids are close, closest
    first: the PAIR_PROBE_PERSONS persons with most faces, one matrix product. Pairs a human
    called different, or seen together in one photo, are never suggested.

    The review queue asks on every request; the centroid read and the matrix product (about
    0.2 s for 2,000 persons) are redone only when the centroids or the labels change
    (_candidate_pairs); the two filters, bounded by `limit`, run each time."""
    with store.transaction() as conn:
        version = (
            event_store.labels_version(conn),
            pair_store.centroids_version(conn, pack),
        )
        pairs = _candidate_pairs(store, conn, pack, limit * 4, version)
        involved = sorted({p for a, b, _ in pairs for p in (a, b)})
        different = pair_store.different_pairs(conn, involved)
        together = pair_store.pairs_in_one_photo(conn, [(a, b) for a, b, _ in pairs])
    return [(a, b, s) for a, b, s in pairs if (a, b) not in different | together][:limit]


# (database, pack) -> (version, count, pairs): the last probe per store and pack.
_PAIR_CACHE: dict[tuple[str | None, Path, str], tuple[tuple, int, list]] = {}


def _candidate_pairs(
    store: Store, conn: Connection, pack: str, count: int, version: tuple
) -> list[tuple[int, int, float]]:
    """The `count` closest centroid pairs at or above the pack's person threshold, (low id,
    high id, similarity). Cached per store and pack under `version` (the labels' version and
    the centroids' version: a merge, hide or forget logs a label event, and a rebuild or an
    assignment run rewrites the centroids), so an unchanged library costs two small reads.
    Which PAIR_PROBE_PERSONS persons have most faces can also shift with an assignment run;
    the centroids are rebuilt after one, which changes the version."""
    key = (store.database_url, store.home_path, pack)
    cached = _PAIR_CACHE.get(key)
    if cached is not None and cached[0] == version and cached[1] == count:
        return cached[2]
    ids, vectors = pair_store.person_centroids(conn, pack, PAIR_PROBE_PERSONS, embedding_dim(pack))
    pairs: list[tuple[int, int, float]] = []
    if len(ids) >= 2:
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, -1.0)
        rows, cols = np.nonzero(np.triu(sims, 1) >= person_threshold(pack))
        order = np.argsort(-sims[rows, cols], kind="stable")[:count]
        pairs = [
            (min(ids[rows[i]], ids[cols[i]]), max(ids[rows[i]], ids[cols[i]]),
             float(sims[rows[i], cols[i]]))
            for i in order
        ]  # fmt: skip
    _PAIR_CACHE[key] = (version, count, pairs)
    return pairs


def answer_pair(store: Store, pack: str, answer: str, person_id: int, other_id: int) -> dict:
    """yes: merge the person with fewer faces into the other; no: a lasting "different"."""
    if answer not in ("yes", "no"):
        raise ValueError("an answer is 'yes' or 'no' (skipping changes nothing)")
    if person_id == other_id:
        raise ValueError("a pair is two different persons")
    with store.transaction() as conn:
        a = person_store.find_person(conn, str(person_id))
        b = person_store.find_person(conn, str(other_id))
        if answer == "no":
            pair_store.mark_different(conn, a.id, b.id)
            event_store.log_event(conn, "different", a.id, None, 0, {"other": b.id})
            return {"operation": "different", "person_id": a.id, "other_person_id": b.id,
                    "faces": 0}  # fmt: skip
        counts = pair_store.face_counts(conn, [a.id, b.id])
    source, target = (a, b) if counts.get(a.id, 0) < counts.get(b.id, 0) else (b, a)
    done = labels.merge_persons(store, str(source.id), str(target.id), pack)
    return {"operation": "merge", "person_id": target.id, "other_person_id": source.id,
            "faces": done["faces_moved"]}  # fmt: skip


def undo_different(store: Store, person_id: int, other_id: int) -> dict:
    with store.transaction() as conn:
        removed = pair_store.unmark_different(conn, person_id, other_id)
        event_store.log_event(conn, "same_maybe", person_id, None, 0, {"other": other_id})
    return {"removed": removed}
