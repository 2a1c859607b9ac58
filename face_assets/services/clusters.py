"""Clustering the faces no known person claimed, at library scale and incrementally.

A full run reads the unlabelled good faces, builds their kNN graph in batches (identity/knn.py)
and clusters it (identity/linkage.py); every run records which faces it clustered. A refresh
(the default) only looks at faces new since the last run: pgvector's HNSW index finds their
neighbours, and average linkage goes on from last run's clusters, each entering as its sum
vector and size (identity/refresh.py), so a month costs what its new faces cost, whatever the
library's size; every cluster they do not reach keeps its id and members. A run whose input did
not change since the last run returns at once; the weekly schedule runs in full. Reads are a
snapshot, the work happens outside any transaction, and writes go back in short batches that
skip every face a person claimed meanwhile (a human's decision is never overwritten).
"""

from __future__ import annotations

import hashlib
import resource
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from face_assets.defaults import QUALITY_GATE
from face_assets.identity import clustering, knn, linkage
from face_assets.identity.cluster_ids import mint_cluster_id, stable_cluster_ids
from face_assets.identity.refresh import refresh_labels
from face_assets.services import track_clustering
from face_assets.store import Store
from face_assets.store import clusters as cluster_store
from face_assets.store import vectors as vector_store
from face_assets.vision.packs import cluster_bar, cluster_bars_help

METHODS = (*linkage.GRAPH_METHODS, *clustering.ALL_PAIRS_METHODS)
# The seed's all-pairs methods (hdbscan, dbscan, agglomerative) stay for small libraries:
# HDBSCAN took 100 s at 10k faces and 417 s at 20k (issue #10), so above this it is refused.
ALL_PAIRS_MAX_FACES = 10_000
# A new face's probe asks pgvector for k neighbours plus this many: a few answers are labelled
# or low-quality faces, which clustering does not see. (Twice k cost 7.6 ms a probe at 100k.)
PROBE_EXTRA = 10
# Connections probing at once (pgvector runs each query in one server process): 2 cores here.
PROBE_THREADS = 2
# Methods a refresh can continue from last run's clusters (identity/refresh.py); the others
# are selectable for comparison and re-cluster everything on each run.
REFRESH_METHODS = ("average",)
WRITE_BATCH = 50_000  # cluster labels / clustered-face records per write statement
STAGE = "clusters"

Log = Callable[[str], None]


__all__ = ["cluster_bars_help"]  # for the asset's config help, re-exported here (layers)


@dataclass
class ClusterStats:
    faces: int = 0
    new_faces: int = 0
    reclustered_faces: int = 0  # full: every face; refresh: new faces + the clusters they reach
    mode: str = "full"  # full, refresh, unchanged
    min_similarity: float = 0.0  # the merge bar this run used (the pack's for its size, or given)
    clusters: int = 0
    noise: int = 0
    sizes: list[int] = field(default_factory=list)
    created: int = 0
    grown: int = 0
    unchanged: int = 0
    deferred: int = 0  # new faces past max_faces, left for the next run
    largest_component: int = 0
    tracks: int = 0  # unassigned video tracks, each one item (identity/track_units.py)
    tracks_joined: int = 0  # of them, joined a photo cluster
    track_clusters: int = 0  # clusters of tracks only
    phases: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0

    @property
    def full(self) -> bool:
        return self.mode == "full"

    @property
    def kept_ids(self) -> int:
        return self.grown + self.unchanged


@dataclass(frozen=True)
class ClusterParams:
    method: str = linkage.DEFAULT_GRAPH_METHOD
    k: int = knn.DEFAULT_K
    min_similarity: float | None = None  # None: the pack's bar for the faces' number (packs)
    min_cluster_size: int = linkage.DEFAULT_MIN_CLUSTER_SIZE
    min_quality: float = QUALITY_GATE
    # the seed methods' parameters (hdbscan, dbscan, agglomerative)
    min_samples: int = clustering.MIN_SAMPLES
    eps: float = clustering.UNKNOWN_EPS

    def digest(self) -> str:
        return hashlib.sha1(repr(self).encode()).hexdigest()[:16]

    def check(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def recluster(
    store: Store,
    pack: str,
    params: ClusterParams | None = None,
    full: bool = False,
    log: Log | None = None,
    max_faces: int | None = None,
) -> ClusterStats:
    """Cluster the unlabelled good faces: a refresh by default, everything when `full`.

    `max_faces` (seed 002's maxFaces) bounds what one run takes in: at most that many new
    faces (the earliest first) join this run; the rest wait for the next one, which is then
    never skipped as unchanged. Faces clustered before are always in (a full run re-cuts them).
    One pass of a pack at a time (store.clusters.clustering_lock): a second waits for the first.
    """
    with cluster_store.clustering_lock(store, pack):
        return _recluster(store, pack, params, full, log, max_faces)


def _recluster(
    store: Store,
    pack: str,
    params: ClusterParams | None,
    full: bool,
    log: Log | None,
    max_faces: int | None,
) -> ClusterStats:
    params = params or ClusterParams()
    params.check()
    if max_faces is not None and max_faces < 1:
        raise ValueError(f"max_faces must be >= 1, got {max_faces}")
    stats = ClusterStats()
    clock = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stats.phases[name] = round(now - clock, 3)
        clock = now

    with store.transaction() as conn:
        cluster_store.forget_claimed(conn, pack)
        digest = cluster_store.input_digest(conn, pack, params.min_quality)
        inp = cluster_store.cluster_input(conn, pack, params.min_quality)
        inp, stats.deferred = _within(inp, max_faces)
        stats.faces = len(inp.face_ids)
        # The pack's bar for this many faces (it rises in steps as the library grows), resolved
        # before the digest: a step changes the scope, so that run re-clusters in full.
        if params.min_similarity is None:
            params = replace(params, min_similarity=cluster_bar(pack, stats.faces))
        stats.min_similarity = params.min_similarity
        scope = params.digest()
        # A refresh or the unchanged shortcut goes on only from the last run's clusters, and
        # only when they were cut with these parameters (the latest watermark row's scope).
        latest = cluster_store.latest_watermark(conn, STAGE, pack)
    last = latest[1] if latest is not None and latest[0] == scope else None
    phase("read_seconds")
    if not full and last == digest and not stats.deferred:
        stats.mode = "unchanged"
        _summarise(stats, inp.cluster_ids, {})
        moved = _cluster_tracks(store, pack, params, stats)
        track_clustering.carry_remembered(store, pack, inp.cluster_ids, inp.cluster_ids, moved)
        stats.peak_rss_mb = _peak_rss_mb()
        return stats
    is_new = ~inp.clustered
    seed_method = params.method in clustering.ALL_PAIRS_METHODS
    refresh = not full and params.method in REFRESH_METHODS and last is not None
    refresh = refresh and not is_new.all()
    if refresh:
        stats.mode = "refresh"
        cluster_of = _refresh(store, pack, params, inp, is_new, stats, phase)
    else:
        stats.mode = "full"
        cluster_of = _full(store, pack, params, inp, stats, phase, seed_method)
    with store.transaction() as conn:
        # What this run clustered (before the digest below, which counts it).
        clustered = inp.face_ids if stats.full else inp.face_ids[is_new]
        for start in range(0, len(clustered), WRITE_BATCH):
            part = clustered[start : start + WRITE_BATCH]
            cluster_store.mark_clustered(conn, pack, part, stats.full and start == 0)
        ids = list(cluster_of)
        for start in range(0, len(ids), WRITE_BATCH):
            chunk = ids[start : start + WRITE_BATCH]
            cluster_store.write_cluster_labels(conn, chunk, [cluster_of[f] for f in chunk])
        # Faces that left the input (claimed, or rescored below the bar) leave their cluster.
        cluster_store.clear_clusters_outside(conn, pack, params.min_quality)
        after = cluster_store.input_digest(conn, pack, params.min_quality)
        # Faces left for the next run: a fingerprint no input matches, so it is not skipped.
        cluster_store.set_watermark(
            conn, STAGE, pack, scope, f"{after}+deferred" if stats.deferred else after
        )
    phase("write_seconds")
    previous = dict(zip(inp.face_ids.tolist(), inp.cluster_ids, strict=True))
    after = [cluster_of.get(f, previous[f]) for f in previous]
    _summarise(stats, after, previous)
    moved = _cluster_tracks(store, pack, params, stats)
    track_clustering.carry_remembered(store, pack, inp.cluster_ids, after, moved)
    phase("tracks_seconds")
    stats.peak_rss_mb = _peak_rss_mb()
    if log:
        log(
            f"{stats.mode}: {stats.faces} faces ({stats.new_faces} new, {stats.reclustered_faces}"
            f" re-clustered), {stats.clusters} clusters, phases {stats.phases}"
        )
    return stats


def _cluster_tracks(
    store: Store, pack: str, params: ClusterParams, stats: ClusterStats
) -> list[tuple[str | None, str]]:
    """The tracks' places after the photos' (services/track_clustering.py), in the stats;
    each track's (cluster before, cluster after)."""
    placed = track_clustering.place_tracks(
        store, pack, params.k + PROBE_EXTRA, params.min_quality, params.min_similarity
    )
    stats.tracks, stats.tracks_joined = placed.tracks, placed.joined
    stats.track_clusters = placed.track_clusters
    return placed.moved


def _within(
    inp: cluster_store.ClusterInput, max_faces: int | None
) -> tuple[cluster_store.ClusterInput, int]:
    """The input with at most max_faces new faces (the earliest ids), and how many were left."""
    new = np.flatnonzero(~inp.clustered)
    if max_faces is None or len(new) <= max_faces:
        return inp, 0
    keep = inp.clustered.copy()
    keep[new[:max_faces]] = True
    picked = np.flatnonzero(keep)
    kept = cluster_store.ClusterInput(
        inp.face_ids[picked],
        inp.image_ids[picked],
        [inp.cluster_ids[i] for i in picked],
        inp.clustered[picked],
    )
    return kept, len(new) - max_faces


def _summarise(stats: ClusterStats, labels: list, previous: dict) -> None:
    sizes = Counter(c for c in labels if c)
    stats.clusters = len(sizes)
    stats.noise = sum(1 for c in labels if not c)
    stats.sizes = sorted(sizes.values(), reverse=True)
    if previous:
        before = Counter(c for c in previous.values() if c)
        stats.created = sum(1 for c in sizes if c not in before)
        stats.grown = sum(1 for c, n in sizes.items() if c in before and n != before[c])
        stats.unchanged = sum(1 for c, n in sizes.items() if before.get(c) == n)
    else:
        stats.unchanged = len(sizes)


def _previous_clusters(face_ids: np.ndarray, cluster_ids: list) -> dict[str, set[int]]:
    previous: dict[str, set[int]] = {}
    for face, cid in zip(face_ids.tolist(), cluster_ids, strict=True):
        if cid:
            previous.setdefault(cid, set()).add(face)
    return previous


def _named(face_ids: np.ndarray, cluster_ids: list, labels: np.ndarray) -> dict[int, str | None]:
    """Cluster id per face: last run's id where membership barely changed, else a new one."""
    names = stable_cluster_ids(_previous_clusters(face_ids, cluster_ids), face_ids, labels)
    return {
        int(f): names.get(int(label)) for f, label in zip(face_ids.tolist(), labels, strict=True)
    }


def _full(
    store: Store,
    pack: str,
    params: ClusterParams,
    inp: cluster_store.ClusterInput,
    stats: ClusterStats,
    phase: Callable[[str], None],
    seed_method: bool,
) -> dict[int, str | None]:
    n = len(inp.face_ids)
    stats.new_faces = int((~inp.clustered).sum())
    stats.reclustered_faces = n
    if seed_method and n > ALL_PAIRS_MAX_FACES:
        raise ValueError(
            f"{params.method} compares all faces with all faces: {n} faces would take hours"
            f" (more than {ALL_PAIRS_MAX_FACES} is refused); use {linkage.DEFAULT_GRAPH_METHOD!r}"
        )
    with store.transaction() as conn:
        x = vector_store.embeddings(conn, inp.face_ids)
    phase("embeddings_seconds")
    if n == 0:
        return {}
    if seed_method:
        labels = clustering.cluster_labels(
            x,
            method=params.method,
            min_cluster_size=max(params.min_cluster_size, 2),
            min_samples=params.min_samples,
            eps=params.eps,
            photo_ids=inp.image_ids,
        )
        phase("cluster_seconds")
        return _named(inp.face_ids, inp.cluster_ids, labels)
    nb = knn.knn_graph(x, params.k)
    phase("knn_seconds")
    labels = linkage.cluster_graph(
        x,
        inp.image_ids,
        neighbours=nb,
        method=params.method,
        k=params.k,
        min_similarity=params.min_similarity,
        min_cluster_size=params.min_cluster_size,
    )
    components = linkage.graph_components(nb, params.min_similarity)
    stats.largest_component = int(np.bincount(components).max())
    phase("cluster_seconds")
    return _named(inp.face_ids, inp.cluster_ids, labels)


def _refresh(
    store: Store,
    pack: str,
    params: ClusterParams,
    inp: cluster_store.ClusterInput,
    is_new: np.ndarray,
    stats: ClusterStats,
    phase: Callable[[str], None],
) -> dict[int, str | None]:
    """New faces join last run's clusters (identity/refresh.py); returns the faces whose
    cluster changed. Only the new faces' neighbours and the sums of the clusters they reach are
    read: the cost follows the month, not the library."""
    stats.new_faces = int(is_new.sum())
    new_ids = inp.face_ids[is_new]
    probes = _probe(store, pack, new_ids, params.k + PROBE_EXTRA)
    phase("probe_seconds")
    names, previous = _label_codes(inp.cluster_ids)
    new_nb = knn.neighbour_rows(inp.face_ids, probes, params.k)

    def vectors_of(rows: np.ndarray) -> np.ndarray:
        with store.transaction() as conn:
            return vector_store.embeddings(conn, inp.face_ids[rows])

    def sums_of(labels: np.ndarray) -> np.ndarray:
        with store.transaction() as conn:
            return cluster_store.cluster_sums(
                conn, pack, params.min_quality, names[labels].tolist()
            )

    result = refresh_labels(
        previous,
        is_new,
        inp.image_ids,
        new_nb,
        vectors_of,
        sums_of,
        min_similarity=params.min_similarity,
        min_cluster_size=params.min_cluster_size,
        first_new_label=names.size,  # never an id in use, even one whose faces are all new
    )
    stats.reclustered_faces = result.faces
    rows = np.flatnonzero(result.touched)
    labels = result.labels[rows]
    fresh = np.unique(labels[labels >= names.size])
    used = set(names.tolist())
    minted = {
        label: mint_cluster_id(inp.face_ids[rows[labels == label]].tolist(), used)
        for label in fresh.tolist()
    }
    cluster_of: dict[int, str | None] = {
        int(f): (None if lab < 0 else minted[lab] if lab >= names.size else str(names[lab]))
        for f, lab in zip(inp.face_ids[rows].tolist(), labels.tolist(), strict=True)
    }
    phase("cluster_seconds")
    return cluster_of


def _label_codes(cluster_ids: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct cluster ids, each face's index into them or -1 for none)."""
    names, codes = np.unique(np.asarray([c or "" for c in cluster_ids]), return_inverse=True)
    codes = codes.astype(np.int64).reshape(-1)
    if names.size and names[0] == "":
        return names[1:], codes - 1
    return names, codes


def _probe(store: Store, pack: str, face_ids: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    """pgvector HNSW probes of these faces, split over PROBE_THREADS connections (each probe
    runs in one server process, so one connection uses one core)."""
    parts = [p for p in np.array_split(face_ids, PROBE_THREADS) if p.size]

    def run(part: np.ndarray) -> list[list[tuple[int, float]]]:
        with store.transaction() as conn:
            return vector_store.nearest_embedded(conn, pack, part, k)

    if len(parts) <= 1:
        return run(face_ids) if face_ids.size else []
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        answers = list(pool.map(run, parts))
    return [found for answer in answers for found in answer]
