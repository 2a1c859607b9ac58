"""Face identities at library scale: sparse average linkage on the k-nearest-neighbour graph.

Every face only meets its k nearest neighbours (identity/knn.py), and a face pair is an edge
when its cosine similarity reaches ``min_similarity``. The default method is average linkage,
computed sparsely: for L2-normalised embeddings the mean similarity between two groups A and B
is exactly (sum A . sum B) / (|A| |B|), so one sum vector per cluster replaces the all-pairs
matrix. Two clusters are candidates only if a kNN edge joins them; each round merges the pairs
of clusters that are each other's best eligible neighbour (reciprocal nearest neighbours: for
average linkage this reproduces the greedy dendrogram) until no candidate pair reaches
``min_similarity`` on average. Cannot-links (two faces of one photo, a human's "not this
person") block a merge, they are not repaired afterwards. Because a cluster is fully described
by its sum vector and size, a refresh continues this linkage from last run's clusters
(identity/refresh.py). The community methods of identity/communities.py stay selectable.

Everything is pure numpy/scipy; the database and Dagster layers call into it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from face_assets.identity.clustering import NOISE
from face_assets.identity.communities import (
    COMMUNITY_METHODS,
    INFOMAP_MIN_SIMILARITY,
    community_labels,
    enforce_cannot_links,
)
from face_assets.identity.knn import DEFAULT_K, Neighbours, knn_graph, unit_f32

# The default and the methods kept selectable for comparison (benchmarks/graph_tuning.py).
DEFAULT_GRAPH_METHOD = "average"
GRAPH_METHODS = (DEFAULT_GRAPH_METHOD, *COMMUNITY_METHODS)
# Measured on lfw_dev by benchmarks/graph_tuning.py: mean similarity >= 0.375 for a merge,
# BCubed P/R/F1 0.9978/0.9905/0.9941. 0.35 scored F1 0.9954 (P 0.9970) and 0.325 0.9948
# (P 0.9936) there, but a larger library has more impostor pairs, so we keep a margin; 0.40
# gives 0.9928 (P 0.9981). Different people reach 0.285 at the 99.99th percentile.
# The service uses the pack's bar for the library's size instead (vision/packs.py cluster_bar).
DEFAULT_MIN_SIMILARITY = 0.375
# Seed value: a cluster needs two faces (one face is not a group); callers may ask for more.
DEFAULT_MIN_CLUSTER_SIZE = 2
# Seed value: average-linkage rounds stop after this many (each round merges >= 1 pair per
# component that still has an eligible pair, so this is only a guard against a bug).
MAX_ROUNDS = 10_000
# Seed value: sum vectors gathered per block when scoring candidate cluster pairs (x 512 x 8 B).
PAIR_BLOCK = 65_536


def _edges(nb: Neighbours, min_similarity: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undirected edges (u < v, sim) of the kNN lists with similarity >= min_similarity."""
    n, k = nb.indices.shape
    cols = nb.indices.ravel()
    sims = nb.similarities.ravel()
    mask = (cols >= 0) & (sims >= min_similarity)
    rows = np.repeat(np.arange(n, dtype=np.int64), k)[mask]
    cols, sims = cols[mask], sims[mask]
    not_self = rows != cols
    rows, cols, sims = rows[not_self], cols[not_self], sims[not_self]
    u, v = np.minimum(rows, cols), np.maximum(rows, cols)
    keys, first = np.unique(u * n + v, return_index=True)
    return keys // n, keys % n, sims[first].astype(np.float64)


def graph_components(nb: Neighbours, min_similarity: float = DEFAULT_MIN_SIMILARITY) -> np.ndarray:
    """Connected component of every face in the graph of edges >= min_similarity (int64)."""
    n = nb.indices.shape[0]
    u, v, _ = _edges(nb, min_similarity)
    adjacency = sparse.coo_matrix((np.ones(u.size, dtype=np.int8), (u, v)), shape=(n, n))
    return connected_components(adjacency, directed=False)[1].astype(np.int64)


def _photo_pairs(photo_ids: Sequence | np.ndarray | None, n: int) -> np.ndarray:
    """Cannot-link pairs (m, 2) between faces of one photo: a person is in a photo once."""
    if photo_ids is None:
        return np.empty((0, 2), dtype=np.int64)
    photos = np.asarray(photo_ids)
    if photos.shape[0] != n:
        raise ValueError(f"{photos.shape[0]} photo ids for {n} embeddings")
    _, codes = np.unique(photos, return_inverse=True)
    codes = codes.reshape(-1)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    out = [
        group[np.column_stack(np.triu_indices(group.size, 1))]
        for group in np.split(order, bounds)
        if group.size > 1
    ]
    return np.vstack(out).astype(np.int64) if out else np.empty((0, 2), dtype=np.int64)


def cannot_pairs(
    photo_ids: Sequence | np.ndarray | None, cannot_link: Iterable, n: int
) -> np.ndarray:
    """Sorted unique row pairs (m, 2) that must never share a cluster: faces of one photo and
    the given ``cannot_link`` pairs (a human's "not this person")."""
    extra = np.asarray(list(cannot_link), dtype=np.int64).reshape(-1, 2)
    if extra.size and (extra.min() < 0 or extra.max() >= n):
        raise ValueError(f"cannot_link rows must lie in [0, {n})")
    pairs = np.vstack([_photo_pairs(photo_ids, n), extra])
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(np.sort(pairs, axis=1), axis=0) if pairs.size else pairs


class _Sums:
    """Per-cluster sum vectors, stored only for clusters with two or more faces."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self.slot = np.full(x.shape[0], -1, dtype=np.int64)
        self.sums = np.zeros((0, x.shape[1]), dtype=np.float64)

    def vectors(self, clusters: np.ndarray) -> np.ndarray:
        slots = self.slot[clusters]
        out = self.x[clusters].astype(np.float64)
        merged = slots >= 0
        out[merged] = self.sums[slots[merged]]
        return out

    def group_sums(self, members: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
        """Sum vector of every group (members sorted by group), in blocks of PAIR_BLOCK rows."""
        out = np.zeros((n_groups, self.x.shape[1]), dtype=np.float64)
        for start in range(0, members.size, PAIR_BLOCK):
            g = group[start : start + PAIR_BLOCK]
            bounds = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
            out[g[bounds]] += np.add.reduceat(
                self.vectors(members[start : start + PAIR_BLOCK]), bounds, axis=0
            )
        return out

    def replace(self, roots: np.ndarray, vectors: np.ndarray, alive: np.ndarray) -> None:
        """New sums for the merged roots; slots are compacted to the clusters still alive."""
        old = alive[self.slot[alive] >= 0]
        old = old[~np.isin(old, roots)]
        sums = np.vstack([self.sums[self.slot[old]], vectors])
        self.slot[:] = -1
        self.slot[old] = np.arange(old.size)
        self.slot[roots] = old.size + np.arange(roots.size)
        self.sums = sums


def _pair_similarity(sums: _Sums, size: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty(a.size, dtype=np.float64)
    for start in range(0, a.size, PAIR_BLOCK):
        sa, sb = a[start : start + PAIR_BLOCK], b[start : start + PAIR_BLOCK]
        dots = np.einsum("ij,ij->i", sums.vectors(sa), sums.vectors(sb))
        out[start : start + PAIR_BLOCK] = dots / (size[sa] * size[sb])
    return out


def _round_groups(
    best: np.ndarray,
    pickers: np.ndarray,
    sums: _Sums,
    size: np.ndarray,
    ca: np.ndarray,
    cb: np.ndarray,
    min_similarity: float,
) -> np.ndarray:
    """Root of every cluster after one round (root[c] == c: c does not move).

    Reciprocal best pairs merge (exact average linkage). So that a big cluster can take in many
    stragglers per round instead of one, a cluster that nobody picked (a leaf) also joins the
    cluster it picked, as long as its average similarity to the rest of the group it joins stays
    >= min_similarity and it has no cannot-link into that group; leaves failing either test
    wait for a later round. ``pickers`` are the clusters with an eligible partner ``best``.
    """
    n = best.size
    root = np.arange(n, dtype=np.int64)
    target = best[pickers]
    indegree = np.bincount(target, minlength=n)
    mutual = best[target] == pickers
    core = pickers[mutual]
    root[core] = np.minimum(core, best[core])
    leaf_mask = ~mutual & (indegree[pickers] == 0)
    leaves, leaf_target = pickers[leaf_mask], target[leaf_mask]
    joined = np.ones(leaves.size, dtype=bool)
    while True:
        root[leaves] = np.where(joined, root[leaf_target], leaves)
        members = np.flatnonzero(root != np.arange(n))
        if members.size == 0:
            return root
        # Leaves with a cannot-link inside their group leave it (cores were checked already).
        conflict = (root[ca] == root[cb]) & (ca != cb)
        bad = np.unique(np.concatenate([ca[conflict], cb[conflict]]))
        drop = np.isin(leaves, bad) & joined
        # Leaves too far from the rest of their group on average leave it as well.
        members = np.concatenate([members, np.unique(root[members])])
        members = np.unique(members)
        order = np.argsort(root[members], kind="stable")
        members = members[order]
        groups, group_of = np.unique(root[members], return_inverse=True)
        totals = sums.group_sums(members, group_of, groups.size)
        group_size = np.bincount(group_of, weights=size[members])
        active = np.flatnonzero(joined & ~drop)
        if active.size:
            leaf = leaves[active]
            g = np.searchsorted(groups, root[leaf])
            vec = sums.vectors(leaf)
            rest = np.einsum("ij,ij->i", vec, totals[g]) - np.einsum("ij,ij->i", vec, vec)
            avg = rest / (size[leaf] * (group_size[g] - size[leaf]))
            drop[active[avg < min_similarity]] = True
        if not drop.any():
            return root
        joined &= ~drop


def average_linkage(
    x: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    sim: np.ndarray,
    cannot: np.ndarray,
    min_similarity: float,
    sizes: np.ndarray | None = None,
) -> np.ndarray:
    """Cluster id of every face: sparse average linkage over the candidate pairs of the edges.

    Synchronous rounds (see _round_groups); ties go to the lower cluster id, so the result
    depends only on each component's faces and edges, never on the rest of the library.
    With ``sizes``, a row may stand for a whole group: x holds its sum vector and sizes its
    number of faces (a refresh continues from last run's clusters that way), and ``sim`` must
    then hold the exact average similarity of each pair.
    """
    n = x.shape[0]
    cluster = np.arange(n, dtype=np.int64)
    size = np.ones(n, dtype=np.float64) if sizes is None else sizes.astype(np.float64)
    sums = _Sums(x)
    a, b, s = u.copy(), v.copy(), sim.copy()
    ca, cb = cannot[:, 0].copy(), cannot[:, 1].copy()
    best = np.full(n, -1, dtype=np.int64)
    for _ in range(MAX_ROUNDS):
        if a.size == 0:
            break
        ok = s >= min_similarity
        if ca.size:
            ok &= ~np.isin(a * n + b, np.minimum(ca, cb) * n + np.maximum(ca, cb))
        ea, eb, es = a[ok], b[ok], s[ok]
        if ea.size == 0:
            break
        # Best eligible partner per cluster: highest similarity, then lowest partner id.
        src = np.concatenate([ea, eb])
        dst = np.concatenate([eb, ea])
        order = np.lexsort((dst, -np.concatenate([es, es]), src))
        src, dst = src[order], dst[order]
        first = np.ones(src.size, dtype=bool)
        first[1:] = src[1:] != src[:-1]
        pickers = src[first]
        best[pickers] = dst[first]
        root = _round_groups(best, pickers, sums, size, ca, cb, min_similarity)
        best[pickers] = -1
        moved = np.flatnonzero(root != np.arange(n))
        if moved.size == 0:
            break
        members = np.unique(np.concatenate([moved, root[moved]]))
        members = members[np.argsort(root[members], kind="stable")]
        roots, group_of = np.unique(root[members], return_inverse=True)
        vectors = sums.group_sums(members, group_of, roots.size)
        alive = np.unique(np.concatenate([a, b]))
        sums.replace(roots, vectors, alive)
        np.add.at(size, root[moved], size[moved])
        cluster = root[cluster]
        ca, cb = root[ca], root[cb]
        a, b = root[a], root[b]
        a, b = np.minimum(a, b), np.maximum(a, b)
        inside = a == b
        a, b, s = a[~inside], b[~inside], s[~inside]
        touched = np.zeros(n, dtype=bool)
        touched[roots] = True
        changed = touched[a] | touched[b]
        keys = np.unique(a[changed] * n + b[changed])
        ra, rb = keys // n, keys % n
        rs = _pair_similarity(sums, size, ra, rb)
        a = np.concatenate([a[~changed], ra])
        b = np.concatenate([b[~changed], rb])
        s = np.concatenate([s[~changed], rs])
    return cluster


def final_labels(raw: np.ndarray, min_cluster_size: int) -> np.ndarray:
    """Clusters below min_cluster_size become noise; others 0..k-1 by their smallest row."""
    n = raw.size
    out = np.full(n, NOISE, dtype=np.int64)
    ok = raw != NOISE
    if not ok.any():
        return out
    ids, first, counts = np.unique(raw[ok], return_index=True, return_counts=True)
    rows = np.flatnonzero(ok)
    big = counts >= min_cluster_size
    first_row = rows[first[big]]
    rank = np.empty(first_row.size, dtype=np.int64)
    rank[np.argsort(first_row, kind="stable")] = np.arange(first_row.size)
    code = np.full(ids.size, NOISE, dtype=np.int64)
    code[big] = rank
    out[rows] = code[np.searchsorted(ids, raw[ok])]
    return out


def _check_method(method: str, min_cluster_size: int) -> None:
    if method not in GRAPH_METHODS:
        raise ValueError(
            f"unknown graph method {method!r}; valid methods: {', '.join(GRAPH_METHODS)}"
        )
    if min_cluster_size < 2:
        raise ValueError(
            f"min_cluster_size must be >= 2 (one face is not a group), got {min_cluster_size}"
        )


def _cluster_rows(
    x: np.ndarray,
    nb: Neighbours,
    cannot: np.ndarray,
    method: str,
    min_similarity: float,
    seed: int,
) -> np.ndarray:
    """Raw labels (cluster ids, not yet filtered by size) of all rows of x."""
    n = x.shape[0]
    threshold = INFOMAP_MIN_SIMILARITY if method == "infomap" else min_similarity
    u, v, sim = _edges(nb, threshold)
    if method == "average":
        return average_linkage(x, u, v, sim, cannot, min_similarity)
    raw = community_labels(n, u, v, sim, method, seed)
    return enforce_cannot_links(x, raw, cannot)


def cluster_graph(
    embeddings: np.ndarray,
    photo_ids: Sequence | np.ndarray | None,
    *,
    neighbours: Neighbours | None = None,
    method: str = DEFAULT_GRAPH_METHOD,
    k: int = DEFAULT_K,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    cannot_link: Iterable[tuple[int, int]] = (),
    min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
    seed: int = 0,
) -> np.ndarray:
    """Cluster labels (int64; -1 = noise, others 0..k-1 ordered by their first face's row).

    Two faces of one photo, and the row pairs of ``cannot_link``, never share a cluster. A face
    without an edge >= min_similarity stays noise; a cluster smaller than min_cluster_size is
    noise; if all faces form one group they are one cluster. Identical input gives identical
    output (no randomness in "average" and "components"; fixed seeds for the others).
    """
    _check_method(method, min_cluster_size)
    x = unit_f32(embeddings)
    n = x.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)
    cannot = cannot_pairs(photo_ids, cannot_link, n)
    nb = neighbours if neighbours is not None else knn_graph(x, k, seed=seed)
    raw = _cluster_rows(x, nb, cannot, method, min_similarity, seed)
    return final_labels(raw, min_cluster_size)
