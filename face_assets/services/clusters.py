"""Clustering the faces no known person claimed, at library scale and incrementally.

A full run reads the unlabelled good faces, builds their kNN graph in batches, clusters it
(identity/graph.py) and persists the graph. A refresh (the default) only looks at faces new
since the last run: pgvector's HNSW index finds their neighbours, and only the graph
components they touch are read back and re-clustered; every other cluster keeps its id and
members. A run whose input did not change since the last run returns at once. Reads are a
snapshot, the work happens outside any transaction, and writes go back in short batches that
skip every face a person claimed meanwhile (a human's decision is never overwritten).
"""

from __future__ import annotations

import hashlib
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from face_assets.identity import clustering, graph
from face_assets.store import Store
from face_assets.store import graph as graph_store

QUALITY_THRESHOLD = 0.5  # seed: only faces of quality >= 0.5 are clustered
DEFAULT_METHOD = graph.DEFAULT_GRAPH_METHOD
METHODS = (*graph.GRAPH_METHODS, *clustering.METHODS)
# The seed's all-pairs methods (hdbscan, dbscan, agglomerative) stay for small libraries:
# HDBSCAN took 100 s at 10k faces and 417 s at 20k (issue #10), so above this it is refused.
ALL_PAIRS_MAX_FACES = 10_000
# A new face's probe asks pgvector for k neighbours plus this many: a few answers are labelled
# or low-quality faces, which clustering does not see. (Twice k cost 7.6 ms a probe at 100k.)
PROBE_EXTRA = 10
# Methods whose result on a graph component depends on that component alone: only these can
# refresh the components new faces touch; infomap and leiden see the whole graph (full runs).
COMPONENT_LOCAL_METHODS = ("average", "components", "leiden_cpm")
WRITE_BATCH = 50_000  # cluster labels / graph rows per write-back transaction
STAGE = "clusters"

Log = Callable[[str], None]


@dataclass
class ClusterStats:
    faces: int = 0
    new_faces: int = 0
    reclustered_faces: int = 0
    mode: str = "full"  # full, refresh, unchanged
    clusters: int = 0
    noise: int = 0
    sizes: list[int] = field(default_factory=list)
    created: int = 0
    grown: int = 0
    unchanged: int = 0
    largest_component: int = 0
    phases: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0

    @property
    def kept_ids(self) -> int:
        return self.grown + self.unchanged


@dataclass(frozen=True)
class ClusterParams:
    method: str = DEFAULT_METHOD
    k: int = graph.DEFAULT_K
    min_similarity: float = graph.DEFAULT_MIN_SIMILARITY
    min_cluster_size: int = graph.DEFAULT_MIN_CLUSTER_SIZE
    min_quality: float = QUALITY_THRESHOLD
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
) -> ClusterStats:
    """Cluster the unlabelled good faces: a refresh by default, everything when `full`."""
    params = params or ClusterParams()
    params.check()
    stats = ClusterStats()
    clock = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stats.phases[name] = round(now - clock, 3)
        clock = now

    scope = params.digest()
    with store.transaction() as conn:
        graph_store.drop_graph_rows_of_labelled(conn, pack)
        digest = graph_store.input_digest(conn, pack, params.min_quality)
        last = graph_store.watermark(conn, STAGE, pack, scope)
        inp = graph_store.cluster_input(conn, pack, params.min_quality)
    stats.faces = len(inp.face_ids)
    phase("read_seconds")
    if not full and last == digest:
        stats.mode = "unchanged"
        _summarise(stats, inp.cluster_ids, {})
        stats.peak_rss_mb = _peak_rss_mb()
        return stats
    is_new = inp.components < 0
    seed_method = params.method in clustering.METHODS
    local = params.method in COMPONENT_LOCAL_METHODS
    refresh = not full and local and last is not None and not is_new.all()
    if refresh:
        stats.mode = "refresh"
        cluster_of = _refresh(store, pack, params, inp, is_new, stats, phase)
    else:
        stats.mode = "full"
        cluster_of = _full(store, pack, params, inp, stats, phase, seed_method)
    with store.transaction() as conn:
        ids = list(cluster_of)
        for start in range(0, len(ids), WRITE_BATCH):
            chunk = ids[start : start + WRITE_BATCH]
            graph_store.write_cluster_labels(conn, chunk, [cluster_of[f] for f in chunk])
        # Faces that left the input (claimed, or rescored below the bar) leave their cluster.
        graph_store.clear_clusters_outside(conn, pack, params.min_quality)
        graph_store.set_watermark(
            conn, STAGE, pack, scope, graph_store.input_digest(conn, pack, params.min_quality)
        )
    phase("write_seconds")
    previous = dict(zip(inp.face_ids.tolist(), inp.cluster_ids, strict=True))
    _summarise(stats, [cluster_of.get(f, previous[f]) for f in previous], previous)
    stats.peak_rss_mb = _peak_rss_mb()
    if log:
        log(
            f"{stats.mode}: {stats.faces} faces ({stats.new_faces} new, {stats.reclustered_faces}"
            f" re-clustered), {stats.clusters} clusters, phases {stats.phases}"
        )
    return stats


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
    names = graph.stable_ids_sparse(_previous_clusters(face_ids, cluster_ids), face_ids, labels)
    return {
        int(f): names.get(int(label)) for f, label in zip(face_ids.tolist(), labels, strict=True)
    }


def _full(
    store: Store,
    pack: str,
    params: ClusterParams,
    inp: graph_store.ClusterInput,
    stats: ClusterStats,
    phase: Callable[[str], None],
    seed_method: bool,
) -> dict[int, str | None]:
    n = len(inp.face_ids)
    stats.new_faces = int((inp.components < 0).sum())
    stats.reclustered_faces = n
    if seed_method and n > ALL_PAIRS_MAX_FACES:
        raise ValueError(
            f"{params.method} compares all faces with all faces: {n} faces would take hours"
            f" (more than {ALL_PAIRS_MAX_FACES} is refused); use {DEFAULT_METHOD!r}"
        )
    with store.transaction() as conn:
        x = graph_store.embeddings(conn, inp.face_ids)
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
    nb = graph.knn_graph(x, params.k)
    phase("knn_seconds")
    labels = graph.cluster_graph(
        x,
        inp.image_ids,
        neighbours=nb,
        method=params.method,
        k=params.k,
        min_similarity=params.min_similarity,
        min_cluster_size=params.min_cluster_size,
    )
    rows_component = graph.graph_components(nb, params.min_similarity)
    components = _component_ids(inp.face_ids, rows_component)
    stats.largest_component = int(np.bincount(rows_component).max())
    phase("cluster_seconds")
    neighbour_ids = np.where(nb.indices >= 0, inp.face_ids[np.maximum(nb.indices, 0)], -1)
    _write_graph(store, pack, inp.face_ids, components, neighbour_ids, nb.similarities, True)
    phase("graph_write_seconds")
    return _named(inp.face_ids, inp.cluster_ids, labels)


def _component_ids(face_ids: np.ndarray, rows_component: np.ndarray) -> np.ndarray:
    """A component's persistent id: its smallest face id (stable while it is unchanged)."""
    smallest = np.full(
        int(rows_component.max()) + 1 if rows_component.size else 0, np.iinfo(np.int64).max
    )
    np.minimum.at(smallest, rows_component, face_ids)
    return smallest[rows_component]


def _write_graph(
    store: Store,
    pack: str,
    face_ids: np.ndarray,
    components: np.ndarray,
    neighbour_ids: np.ndarray,
    similarities: np.ndarray,
    full: bool,
) -> None:
    for start in range(0, len(face_ids), WRITE_BATCH):
        part = slice(start, start + WRITE_BATCH)
        with store.transaction() as conn:
            graph_store.replace_graph(
                conn,
                pack,
                face_ids[part],
                components[part],
                neighbour_ids[part],
                similarities[part],
                full and start == 0,
            )


def _refresh(
    store: Store,
    pack: str,
    params: ClusterParams,
    inp: graph_store.ClusterInput,
    is_new: np.ndarray,
    stats: ClusterStats,
    phase: Callable[[str], None],
) -> dict[int, str | None]:
    """Re-cluster only the components that new faces touch (see the module docstring)."""
    stats.new_faces = int(is_new.sum())
    new_ids = inp.face_ids[is_new]
    row_of = {int(f): i for i, f in enumerate(inp.face_ids.tolist())}
    k = params.k
    with store.transaction() as conn:
        probes = graph_store.nearest_embedded(conn, pack, new_ids, k + PROBE_EXTRA)
    phase("probe_seconds")
    # New faces' neighbours among the faces clustering sees (the probe also meets others).
    new_lists = [[(o, s) for o, s in found if o in row_of][:k] for found in probes]
    touched_components = {
        int(inp.components[row_of[o]])
        for found in new_lists
        for o, s in found
        if s >= params.min_similarity and inp.components[row_of[o]] >= 0
    }
    touched = is_new | np.isin(inp.components, list(touched_components))
    rows = np.flatnonzero(touched)
    ids = inp.face_ids[rows]
    stats.reclustered_faces = int(rows.size)
    with store.transaction() as conn:
        x = graph_store.embeddings(conn, ids)
        stored = graph_store.graph_rows(conn, ids[~is_new[rows]])
    phase("embeddings_seconds")
    lists: dict[int, list[tuple[int, float]]] = {
        f: [(o, s) for o, s in zip(nbs.tolist(), sims.tolist(), strict=True) if o in row_of]
        for f, (nbs, sims) in stored.items()
    }
    for face, found in zip(new_ids.tolist(), new_lists, strict=True):
        lists[face] = list(found)
        for other, sim in found:  # the reverse edge: an old face may now rank the new one
            if other in lists:
                lists[other].append((face, sim))
    sub_of = {int(f): i for i, f in enumerate(ids.tolist())}
    indices = np.full((len(ids), k), -1, dtype=np.int64)
    sims = np.full((len(ids), k), -1.0, dtype=np.float32)
    out_ids = np.full((len(ids), k), -1, dtype=np.int64)
    for face, found in lists.items():
        best = sorted(set(found), key=lambda p: (-p[1], p[0]))[:k]
        i = sub_of[face]
        for j, (other, sim) in enumerate(best):
            out_ids[i, j], sims[i, j] = other, sim
            indices[i, j] = sub_of.get(other, -1)
    # Neighbours outside the touched components are below min_similarity (else their
    # component would be touched): the clustering sees the same strong edges as a full run.
    inside = np.where(indices >= 0, sims, -1.0).astype(np.float32)
    nb = graph.Neighbours(indices, inside)
    labels = graph.cluster_graph(
        x,
        inp.image_ids[rows],
        neighbours=nb,
        method=params.method,
        k=k,
        min_similarity=params.min_similarity,
        min_cluster_size=params.min_cluster_size,
    )
    rows_component = graph.graph_components(nb, params.min_similarity)
    stats.largest_component = int(np.bincount(rows_component).max()) if rows.size else 0
    phase("cluster_seconds")
    _write_graph(store, pack, ids, _component_ids(ids, rows_component), out_ids, sims, False)
    phase("graph_write_seconds")
    return _named(ids, [inp.cluster_ids[r] for r in rows.tolist()], labels)
