"""Tracks as identity units: two tracks seen in the same frame are two people (cannot-link),
like two faces of one photo, so a machine never names both after the same person, and
clustering sees a track as one item (a clip gives one cluster member per track)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from face_assets.identity.knn import DEFAULT_K
from face_assets.identity.linkage import DEFAULT_MIN_SIMILARITY, cluster_graph


def resolve_track_assignments(
    candidates: Iterable[tuple[int, int, float]],
    cannot_link: Iterable[tuple[int, int]],
    fixed: dict[int, int],
) -> list[tuple[int, int]]:
    """(track, person) assignments from (track, person, similarity) candidates, best first,
    refusing a person already held by a cannot-linked track: a human's label (`fixed`,
    track -> person) first, then the stronger machine match."""
    partners: dict[int, set[int]] = {}
    for a, b in cannot_link:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    holder = dict(fixed)
    chosen: list[tuple[int, int]] = []
    for track, person, _ in sorted(candidates, key=lambda c: (-c[2], c[0])):
        if track in holder:
            continue
        if any(holder.get(other) == person for other in partners.get(track, ())):
            continue
        holder[track] = person
        chosen.append((track, person))
    return chosen


def track_clusters(
    tracks: np.ndarray,
    cluster_sums: np.ndarray,
    cluster_sizes: np.ndarray,
    cannot_link: Iterable[tuple[int, int]],
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
) -> tuple[np.ndarray, np.ndarray]:
    """Where unassigned tracks go in clustering, each track ONE item (its normalised mean).

    Returns (joined, group), one entry per track row: `joined` is the photo cluster (row of
    `cluster_sums`) a track joins, or -1; it joins the one of highest average similarity
    (dot with the cluster's sum / its size, average linkage's measure) >= min_similarity,
    strongest first, never one a cannot-linked track (`cannot_link`: row pairs, tracks seen
    in the same frame) already joined. `group` numbers the tracks that joined none: average
    linkage among them with the same cannot-links, a track no other reaches a group of its own
    (a track is many agreeing faces of one person, not noise); -1 for joined tracks.
    """
    n = tracks.shape[0]
    joined = np.full(n, -1, dtype=np.int64)
    group = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return joined, group
    pairs = [(int(a), int(b)) for a, b in cannot_link]
    if cluster_sums.shape[0]:
        sim = (tracks @ cluster_sums.T) / np.maximum(cluster_sizes, 1)[None, :]
        rows, cols = np.nonzero(sim >= min_similarity)
        candidates = [(int(i), int(j), float(sim[i, j])) for i, j in zip(rows, cols, strict=True)]
        for row, cluster in resolve_track_assignments(candidates, pairs, {}):
            joined[row] = cluster
    rest = np.flatnonzero(joined < 0)
    labels = np.full(rest.size, -1, dtype=np.int64)
    if rest.size >= 2:
        position = {int(r): i for i, r in enumerate(rest)}
        inner = [(position[a], position[b]) for a, b in pairs if a in position and b in position]
        labels = cluster_graph(
            tracks[rest],
            None,
            k=min(DEFAULT_K, rest.size - 1),
            min_similarity=min_similarity,
            cannot_link=inner,
            min_cluster_size=2,
        )
    next_label = int(labels.max()) + 1 if labels.size else 0
    for i, row in enumerate(rest):
        if labels[i] < 0:
            labels[i], next_label = next_label, next_label + 1
        group[row] = labels[i]
    return joined, group
