"""Video tracks in clustering: where each unassigned track goes once the photos are clustered,
and what named tracks remember of the clusters a run retired.

A track is many agreeing faces of one person, so it enters clustering as ONE item (its mean,
identity/track_units.py) after the photos, whose clusters it never changes: it joins the photo
cluster it matches on average, or a cluster of tracks; two tracks seen in the same frame never
share a cluster. services/clusters.py calls both steps at the end of every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from face_assets.identity.cluster_ids import mint_cluster_id, successor_ids
from face_assets.identity.track_units import track_clusters
from face_assets.store import Store
from face_assets.store import track_clusters as track_cluster_store
from face_assets.store import track_labels as track_label_store
from face_assets.store import tracks as track_store
from face_assets.vision.packs import pack_info


@dataclass
class TrackPlacement:
    """Where a run put the unassigned tracks."""

    tracks: int = 0  # unassigned tracks, each one item
    joined: int = 0  # of them, joined a photo cluster
    track_clusters: int = 0  # clusters of tracks only
    moved: list[tuple[str | None, str]] = field(default_factory=list)  # (before, after) each


def place_tracks(
    store: Store, pack: str, probe_k: int, min_quality: float, min_similarity: float
) -> TrackPlacement:
    """Each unassigned track's cluster. The clusters a track is weighed against are those of
    its `probe_k` nearest photo faces (an HNSW probe, as a refresh finds where a new face
    joins): a cluster none of whose faces is among them is not one it matches on average, and
    a run costs what the tracks cost, not a pass over every clustered face of the library."""
    dim = pack_info(pack).embedding_dim
    with store.transaction() as conn:
        track_ids, x = track_cluster_store.clusterable_tracks(conn, pack, dim)
        if not track_ids:
            track_cluster_store.set_track_clusters(conn, pack, [])
            return TrackPlacement()
        before = track_cluster_store.unassigned_track_clusters(conn, pack)
        near = track_cluster_store.photo_clusters_near_tracks(
            conn, pack, track_ids, probe_k, min_quality
        )
        cluster_ids, sums, sizes = track_cluster_store.photo_cluster_sums(
            conn, pack, min_quality, dim, near
        )
        cannot = track_store.cooccurring_pairs(conn, pack)
    row = {t: i for i, t in enumerate(track_ids)}
    pairs = [(row[a], row[b]) for a, b in cannot if a in row and b in row]
    joined, group = track_clusters(x, sums, sizes, pairs, min_similarity)
    used = set(cluster_ids)
    own: dict[int, str] = {}
    for g in np.unique(group[group >= 0]).tolist():
        members = [track_ids[i] for i in np.flatnonzero(group == g)]
        # Track ids negated: never the member set of a photo cluster.
        own[g] = mint_cluster_id([-t for t in members], used)
    rows = [
        (t, cluster_ids[joined[i]] if joined[i] >= 0 else own[int(group[i])])
        for i, t in enumerate(track_ids)
    ]
    with store.transaction() as conn:
        track_cluster_store.set_track_clusters(conn, pack, rows)
    return TrackPlacement(
        tracks=len(track_ids),
        joined=int((joined >= 0).sum()),
        track_clusters=len(own),
        moved=[(before.get(t), cluster) for t, cluster in rows],
    )


def carry_remembered(
    store: Store,
    pack: str,
    faces_before: list[str | None],
    faces_after: list[str | None],
    tracks_moved: list[tuple[str | None, str]],
) -> None:
    """Named tracks remember the cluster they were named from, for an undo to give back; a
    cluster this run retired (a full run's re-cut, a track cluster re-minted as its members
    changed) is replaced there by its successor, where most of its members went (each face's
    and unassigned track's cluster before and after the run)."""
    with store.transaction() as conn:
        remembered = track_label_store.remembered_clusters(conn, pack)
    if not remembered:
        return
    moves = [*zip(faces_before, faces_after, strict=True), *tracks_moved]
    alive = {after for _, after in moves}
    successors = successor_ids(moves, [c for c in remembered if c not in alive])
    if successors:
        with store.transaction() as conn:
            track_label_store.move_remembered_clusters(conn, pack, successors)
