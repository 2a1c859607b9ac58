"""Naming clips' tracks from the persons' centroids (issue 20): one track is one item, a
human's track decision is never replaced, and only tracks new since the last run are matched
while nothing they depend on changed (a watermark)."""

from __future__ import annotations

import hashlib

import numpy as np

from face_assets.identity.track_units import resolve_track_assignments
from face_assets.store import Store
from face_assets.store import clusters as cluster_store
from face_assets.store import prototypes as prototype_store
from face_assets.store import track_labels as track_label_store
from face_assets.store import tracks as track_store
from face_assets.vision.packs import embedding_dim, person_threshold

ASSIGN_STAGE = "track_assignment"  # identity_watermarks row of assign_tracks
ASSIGN_SCOPE = "centroids"


def _assignment_inputs(person_ids, centroids, threshold, fixed, rejected) -> str:
    """Fingerprint of what every track's match depends on besides the track itself: the
    centroids, the bar, the humans' track labels (cannot-links refuse their persons) and
    rejections. While it holds, only tracks new since the last run need matching."""
    digest = hashlib.sha1(repr((person_ids, float(threshold))).encode())
    digest.update(np.ascontiguousarray(centroids, dtype=np.float32).tobytes())
    digest.update(repr((sorted(fixed.items()), sorted(rejected))).encode())
    return digest.hexdigest()[:16]


def assign_tracks(store: Store, pack: str, threshold: float | None = None) -> dict:
    """Name tracks from the persons' centroids: each track is one item (its quality-weighted
    mean), so one labelled photo names the whole track; a human's label or rejection is never
    replaced, and two tracks seen in the same frame never get the same person (the stronger
    match wins). Only tracks new since the last run are matched, all of them when the
    centroids, the bar or a human's track decision changed (a watermark, as clustering's);
    only tracks whose person changed are written."""
    threshold = person_threshold(pack) if threshold is None else threshold
    with store.transaction() as conn:
        person_ids, centroids = prototype_store.prototype_centroids(conn, pack, embedding_dim(pack))
        fixed = track_label_store.human_track_labels(conn, pack)
        rejected = track_label_store.track_rejections(conn, pack)
        inputs = _assignment_inputs(person_ids, centroids, threshold, fixed, rejected)
        last = cluster_store.watermark(conn, ASSIGN_STAGE, pack, ASSIGN_SCOPE)
        seen, _, since = (last or "").partition(":")
        after = int(since) if seen == inputs and since else 0
        tracks = track_label_store.unassigned_tracks(conn, pack, after)
        cannot = track_store.cooccurring_pairs(conn, pack, after)
    summary = {"tracks": len(tracks), "assigned": 0, "changed": 0, "threshold": threshold}
    if not person_ids:
        return summary
    rows: list[tuple[int, int]] = []
    if tracks:
        matrix = np.stack([emb for _, emb, _ in tracks]) @ centroids.T
        candidates = [
            (track_id, person_ids[j], float(matrix[i, j]))
            for i, (track_id, _, _) in enumerate(tracks)
            for j in np.flatnonzero(matrix[i] >= threshold)
            if (track_id, person_ids[j]) not in rejected  # a human's "not this person" holds
        ]
        rows = resolve_track_assignments(candidates, cannot, fixed)
    best, current = dict(rows), {t: p for t, _, p in tracks}
    changed = [(t, p) for t, p in rows if current[t] != p]
    released = [t for t, p in current.items() if p is not None and t not in best]
    newest = max([after, *(t for t, _, _ in tracks)])
    with store.transaction() as conn:
        track_label_store.release_auto(conn, released)
        track_label_store.assign_tracks(conn, changed)
        cluster_store.set_watermark(conn, ASSIGN_STAGE, pack, ASSIGN_SCOPE, f"{inputs}:{newest}")
    summary.update(assigned=len(rows), changed=len(changed) + len(released))
    return summary
