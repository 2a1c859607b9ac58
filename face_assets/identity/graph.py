"""Face identities at library scale: clustering on a sparse k-nearest-neighbour graph.

HDBSCAN over all faces is quadratic (206 s for 14k faces). Here every face only ever meets its
k nearest neighbours (exact FAISS search for small libraries, an IVF index above), and a face
pair is an edge when its cosine similarity reaches ``min_similarity``. Clusters never cross a
connected component of that graph, and every method used by default is local to a component,
so a refresh only has to re-cluster the components that new faces touch.

The default method is average linkage, computed sparsely: for L2-normalised embeddings the mean
similarity between two groups A and B is exactly (sum A . sum B) / (|A| |B|), so one sum vector
per cluster replaces the all-pairs matrix. Two clusters are candidates only if a kNN edge joins
them; each round merges the pairs of clusters that are each other's best eligible neighbour
(reciprocal nearest neighbours: for average linkage this reproduces the greedy dendrogram) until
no candidate pair reaches ``min_similarity`` on average. Cannot-links (two faces of one photo,
a human's "not this person") block a merge, they are not repaired afterwards.

Everything is pure numpy/scipy/faiss/igraph; the database and Dagster layers call into it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import connected_components

from face_assets.identity.clustering import MIN_ID_OVERLAP, NOISE, default_cluster_id

# The default and the methods kept selectable for comparison (benchmarks/graph_tuning.py).
DEFAULT_GRAPH_METHOD = "average"
GRAPH_METHODS = ("average", "components", "infomap", "leiden", "leiden_cpm")
# Measured on lfw_dev by benchmarks/graph_tuning.py: k=30 and k=50 give identical results for
# "average" at every threshold; 30 keeps the 1M-face graph at <= 30M edges.
DEFAULT_K = 30
# Measured on lfw_dev by benchmarks/graph_tuning.py: mean similarity >= 0.375 for a merge,
# BCubed P/R/F1 0.9978/0.9905/0.9941. 0.35 scored F1 0.9954 (P 0.9970) and 0.325 0.9948
# (P 0.9936) there, but a larger library has more impostor pairs, so we keep a margin; 0.40
# gives 0.9928 (P 0.9981). Different people reach 0.285 at the 99.99th percentile.
DEFAULT_MIN_SIMILARITY = 0.375
# Seed value: a cluster needs two faces (one face is not a group); callers may ask for more.
DEFAULT_MIN_CLUSTER_SIZE = 2
# Seed value: exact search (IndexFlatIP) below this many faces: 20k x 20k x 512 is 0.4 Tflop,
# ~10 s on 2 cores; above it the IVF index is faster at the same neighbours' quality.
EXACT_BELOW = 20_000
# Seed value: queries per search call, so that (batch x k) results and FAISS's per-query heaps
# stay a few MB whatever the library size.
SEARCH_BATCH = 8192
# IVF index (measured on synthetic 100k faces by benchmarks/graph_scale.py, see FaceIndex): the
# number of lists is IVF_LISTS_PER_SQRT x sqrt(n), trained on IVF_TRAIN_PER_LIST points a list.
IVF_LISTS_PER_SQRT = 4
IVF_TRAIN_PER_LIST = 40  # FAISS warns below 39 training points per centroid
IVF_KMEANS_ITERATIONS = 10  # seed value: k-means converges for IVF purposes in ~10 iterations
IVF_NPROBE = 8  # measured at 100k (FaceIndex): 45% less search time than 16 probes
# Infomap baseline of the issue: kNN k=30, edges of similarity >= 0.5.
INFOMAP_MIN_SIMILARITY = 0.5
# Measured on lfw_dev by benchmarks/graph_tuning.py: CPM resolution on similarity weights,
# 0.05 -> BCubed F1 0.9955, 0.2 -> 0.982, 0.5 -> 0.932 (large sparse kNN clusters split).
LEIDEN_CPM_RESOLUTION = 0.05
# Seed value: average-linkage rounds stop after this many (each round merges >= 1 pair per
# component that still has an eligible pair, so this is only a guard against a bug).
MAX_ROUNDS = 10_000
# Seed value: sum vectors gathered per block when scoring candidate cluster pairs (x 512 x 8 B).
PAIR_BLOCK = 65_536


@dataclass(frozen=True)
class Neighbours:
    """k nearest neighbours of every face, best first; self excluded.

    ``indices`` (n, k) int64 rows into the library (-1 = no neighbour, for n <= k),
    ``similarities`` (n, k) float32 cosine similarities (-1.0 where there is no neighbour).
    """

    indices: np.ndarray
    similarities: np.ndarray

    @property
    def k(self) -> int:
        return int(self.indices.shape[1])


def _unit_f32(embeddings: np.ndarray) -> np.ndarray:
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (n, dim), got shape {x.shape}")
    return np.ascontiguousarray(x)


class FaceIndex:
    """Inner-product index over unit vectors: exact below EXACT_BELOW faces, IVF above.

    Why FAISS IVFFlat (measured on synthetic 100k x 512, 2 cores, /tmp notes of this change;
    benchmarks/graph_scale.py --compare-hnsw repeats it): 4 sqrt(n) = 1264 lists trained on 40
    points a list took 7.4 s, adding 1.9 s, searching 20k queries 2.8 s at 8 probes (5.1 s at
    16), so the whole 100k graph costs ~22 s; FAISS IndexHNSWFlat (M=16, efConstruction=80) had
    not finished building the same 100k after 90 s. IVF also builds in batches (train on a
    sample, then add), keeps memory at the vectors plus the lists, and takes new faces by simply
    adding them to their lists.
    """

    def __init__(self, index, exact: bool) -> None:
        self._index = index
        self.exact = exact

    @classmethod
    def build(
        cls,
        embeddings: np.ndarray,
        *,
        exact_below: int = EXACT_BELOW,
        batch: int = SEARCH_BATCH,
        seed: int = 0,
    ) -> FaceIndex:
        import faiss

        x = _unit_f32(embeddings)
        n, dim = x.shape
        if n < exact_below:
            index = faiss.IndexFlatIP(dim)
            out = cls(index, exact=True)
        else:
            nlist = max(1, min(int(IVF_LISTS_PER_SQRT * math.sqrt(n)), n // IVF_TRAIN_PER_LIST))
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.niter = IVF_KMEANS_ITERATIONS
            index.cp.seed = seed + 1234
            rng = np.random.default_rng(seed)
            n_train = min(n, IVF_TRAIN_PER_LIST * nlist)
            sample = np.sort(rng.choice(n, size=n_train, replace=False))
            index.train(x[sample])
            index.nprobe = IVF_NPROBE
            out = cls(index, exact=False)
        out.add(x, batch=batch)
        return out

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def add(self, embeddings: np.ndarray, *, batch: int = SEARCH_BATCH) -> None:
        x = _unit_f32(embeddings)
        for start in range(0, x.shape[0], batch):
            self._index.add(x[start : start + batch])

    def search(
        self, queries: np.ndarray, k: int, *, batch: int = SEARCH_BATCH
    ) -> tuple[np.ndarray, np.ndarray]:
        """(similarities float32 (m, k), indices int64 (m, k)), best first, -1 where none."""
        q = _unit_f32(queries)
        sims = np.full((q.shape[0], k), -1.0, dtype=np.float32)
        idx = np.full((q.shape[0], k), -1, dtype=np.int64)
        if k == 0 or self.ntotal == 0:
            return sims, idx
        for start in range(0, q.shape[0], batch):
            s, i = self._index.search(q[start : start + batch], k)
            sims[start : start + len(s)] = s
            idx[start : start + len(s)] = i
        sims[idx < 0] = -1.0
        return sims, idx


def _drop_self(sims: np.ndarray, idx: np.ndarray, rows: np.ndarray) -> Neighbours:
    """Remove each row's own entry (or its worst one when the index missed it)."""
    n, k1 = idx.shape
    if k1 == 0:
        return Neighbours(idx, sims)
    keep = idx != rows[:, None]
    missing = keep.all(axis=1)
    keep[missing, -1] = False
    # A duplicate of the query may come back before the query itself; only one entry goes.
    first_drop = np.argmin(keep, axis=1)
    keep[:] = True
    keep[np.arange(n), first_drop] = False
    return Neighbours(
        idx[keep].reshape(n, k1 - 1).astype(np.int64),
        sims[keep].reshape(n, k1 - 1).astype(np.float32),
    )


def knn_graph(
    embeddings: np.ndarray,
    k: int = DEFAULT_K,
    *,
    exact_below: int = EXACT_BELOW,
    batch: int = SEARCH_BATCH,
    index: FaceIndex | None = None,
    seed: int = 0,
) -> Neighbours:
    """k nearest neighbours of every face (self excluded), built and queried in batches.

    Pass ``index`` (a FaceIndex over exactly these embeddings) to reuse it, e.g. to keep it for
    later refreshes.
    """
    x = _unit_f32(embeddings)
    n = x.shape[0]
    k_eff = max(0, min(k, n - 1))
    if index is None:
        index = FaceIndex.build(x, exact_below=exact_below, batch=batch, seed=seed)
    sims, idx = index.search(x, k_eff + 1, batch=batch)
    return _drop_self(sims, idx, np.arange(n))


def neighbours_of(
    queries: np.ndarray,
    base: FaceIndex | np.ndarray,
    k: int = DEFAULT_K,
    *,
    batch: int = SEARCH_BATCH,
) -> Neighbours:
    """k nearest faces of ``base`` (an index, or embeddings searched exactly) for each query."""
    if not isinstance(base, FaceIndex):
        base = FaceIndex.build(base, exact_below=np.iinfo(np.int64).max, batch=batch)
    k_eff = max(0, min(k, base.ntotal))
    sims, idx = base.search(queries, k_eff, batch=batch)
    return Neighbours(idx, sims)


def extend_neighbours(
    previous: Neighbours,
    index: FaceIndex,
    new_embeddings: np.ndarray,
    *,
    batch: int = SEARCH_BATCH,
) -> Neighbours:
    """Neighbour lists after appending ``new_embeddings`` as rows n_old.. of the library.

    ``index`` holds the n_old previous faces and receives the new ones. New faces are searched
    against everything; an old face's list takes in the new faces that found it (the reverse
    direction), keeping its best k. That misses a new face q that an old face i would rank in
    its top k while q ranks i below its own top k: rare, since i and q are then close.
    """
    n_old, k = previous.indices.shape
    x_new = _unit_f32(new_embeddings)
    m = x_new.shape[0]
    if index.ntotal != n_old:
        raise ValueError(f"index holds {index.ntotal} faces, neighbours describe {n_old}")
    index.add(x_new, batch=batch)
    sims, idx = index.search(x_new, min(k, n_old + m - 1) + 1, batch=batch)
    new_nb = _drop_self(sims, idx, n_old + np.arange(m))
    if new_nb.k < k:
        pad = k - new_nb.k
        new_nb = Neighbours(
            np.pad(new_nb.indices, ((0, 0), (0, pad)), constant_values=-1),
            np.pad(new_nb.similarities, ((0, 0), (0, pad)), constant_values=-1.0),
        )
    # Reverse candidates: (old row i, new row q, sim) for every old i in a new face's list.
    q_rows = np.repeat(n_old + np.arange(m), new_nb.k)
    cand_to = new_nb.indices.ravel()
    cand_sim = new_nb.similarities.ravel()
    is_old = (cand_to >= 0) & (cand_to < n_old)
    cand_row, cand_nb, cand_sim = cand_to[is_old], q_rows[is_old], cand_sim[is_old]
    indices = np.vstack([previous.indices, new_nb.indices])
    similarities = np.vstack([previous.similarities, new_nb.similarities])
    if cand_row.size:
        rows = np.unique(cand_row)
        row_of = np.searchsorted(rows, cand_row)
        flat_row = np.concatenate([np.repeat(np.arange(rows.size), k), row_of])
        flat_nb = np.concatenate([previous.indices[rows].ravel(), cand_nb])
        flat_sim = np.concatenate([previous.similarities[rows].ravel(), cand_sim])
        order = np.lexsort((flat_nb, -flat_sim.astype(np.float64), flat_row))
        flat_row, flat_nb, flat_sim = flat_row[order], flat_nb[order], flat_sim[order]
        start = np.searchsorted(flat_row, np.arange(rows.size))
        rank = np.arange(flat_row.size) - start[flat_row]
        take = rank < k
        top_idx = np.full((rows.size, k), -1, dtype=np.int64)
        top_sim = np.full((rows.size, k), -1.0, dtype=np.float32)
        top_idx[flat_row[take], rank[take]] = flat_nb[take]
        top_sim[flat_row[take], rank[take]] = flat_sim[take]
        indices[rows], similarities[rows] = top_idx, top_sim
    return Neighbours(indices, similarities)


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


def _cannot_pairs(
    photo_ids: Sequence | np.ndarray | None, cannot_link: Iterable, n: int
) -> np.ndarray:
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


def _average_linkage(
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


def _community_labels(
    n: int, u: np.ndarray, v: np.ndarray, sim: np.ndarray, method: str, seed: int
) -> np.ndarray:
    """Raw community labels of igraph/infomap methods (cannot-links enforced afterwards)."""
    if method == "components":
        adjacency = sparse.coo_matrix((np.ones(u.size), (u, v)), shape=(n, n))
        return connected_components(adjacency, directed=False)[1].astype(np.int64)
    if method == "infomap":
        from infomap import Infomap

        im = Infomap(two_level=True, silent=True, seed=seed + 1, num_trials=1)
        im.add_nodes(range(n))
        for i, j, w in zip(u.tolist(), v.tolist(), sim.tolist(), strict=True):
            im.add_link(i, j, w)
        result = im.run()
        labels = np.arange(n, dtype=np.int64)
        for node, module in result.modules().items():
            labels[node] = n + module
        return labels
    import igraph as ig
    import leidenalg

    graph = ig.Graph(n=n, edges=np.column_stack([u, v]).tolist(), directed=False)
    graph.es["weight"] = sim.tolist()
    if method == "leiden":
        partition = leidenalg.find_partition(
            graph, leidenalg.ModularityVertexPartition, weights="weight", seed=seed
        )
    else:
        partition = leidenalg.find_partition(
            graph,
            leidenalg.CPMVertexPartition,
            weights="weight",
            resolution_parameter=LEIDEN_CPM_RESOLUTION,
            seed=seed,
        )
    return np.asarray(partition.membership, dtype=np.int64)


def _enforce_cannot_links(x: np.ndarray, labels: np.ndarray, cannot: np.ndarray) -> np.ndarray:
    """Break every cannot-link inside a cluster: the face less similar to its cluster's mean
    becomes noise (ties: the higher row). Used by the methods that cannot block merges."""
    labels = labels.copy()
    if cannot.size == 0:
        return labels
    bad = (labels[cannot[:, 0]] == labels[cannot[:, 1]]) & (labels[cannot[:, 0]] != NOISE)
    if not bad.any():
        return labels
    involved = np.unique(labels[cannot[bad]].ravel())
    centre: dict[int, np.ndarray] = {}
    for lab in involved.tolist():
        mean = x[labels == lab].astype(np.float64).mean(axis=0)
        centre[lab] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    for i, j in cannot[bad].tolist():
        lab = labels[i]
        if lab == NOISE or labels[j] != lab:
            continue
        si, sj = float(x[i] @ centre[lab]), float(x[j] @ centre[lab])
        labels[j if (si > sj or (si == sj and i < j)) else i] = NOISE
    return labels


def _final_labels(raw: np.ndarray, min_cluster_size: int) -> np.ndarray:
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
        return _average_linkage(x, u, v, sim, cannot, min_similarity)
    raw = _community_labels(n, u, v, sim, method, seed)
    return _enforce_cannot_links(x, raw, cannot)


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
    x = _unit_f32(embeddings)
    n = x.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)
    cannot = _cannot_pairs(photo_ids, cannot_link, n)
    nb = neighbours if neighbours is not None else knn_graph(x, k, seed=seed)
    raw = _cluster_rows(x, nb, cannot, method, min_similarity, seed)
    return _final_labels(raw, min_cluster_size)


@dataclass(frozen=True)
class Refresh:
    """labels: every face's label after the refresh; touched: faces whose label changed, and
    every new face; grown: previous labels that took in faces or other clusters; nodes: how
    many units (new faces, noise faces, previous clusters) the refresh clustered."""

    labels: np.ndarray
    touched: np.ndarray
    grown: np.ndarray
    nodes: int
    faces: int  # faces behind those nodes


VectorsOf = Callable[[np.ndarray], np.ndarray]


def refresh_labels(
    previous_labels: np.ndarray,
    is_new: np.ndarray,
    photo_ids: Sequence | np.ndarray | None,
    new_neighbours: Neighbours,
    vectors_of: VectorsOf,
    sums_of: VectorsOf,
    *,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
    cannot_link: Iterable[tuple[int, int]] = (),
    first_new_label: int = 0,
) -> Refresh:
    """Labels after new faces arrive: average linkage continued from last run's clusters.

    Why not re-cluster the graph components new faces touch: on a long-tailed library the
    most-photographed people get new faces every month and their components hold a quarter of
    a million faces (243,757 of 1M, benchmarks/graph_scale.py), so a month cost more than a
    minute. Here each previous cluster that a new face reaches by an edge >= min_similarity
    enters as one unit (its sum vector and size: the exact average similarity to it needs
    nothing else), as do the new faces and the noise faces they reach. Average linkage then
    goes on merging those units until no pair reaches min_similarity on average, as a full run
    would have had these faces been there: a new face joins the cluster it is closest to on
    average, new faces form clusters of their own, and two clusters merge when the new faces
    bring them together. Previous clusters never split (only a full run, e.g. the weekly
    schedule, re-cuts them) and an untouched cluster keeps its label and members.

    ``previous_labels`` (n,): last run's label of every face (NOISE for noise and new faces);
    ``new_neighbours``: the kNN lists of the new faces in row order (indices into 0..n-1);
    ``vectors_of(rows)``: embeddings of those rows; ``sums_of(labels)``: the sum vector of each
    of those previous clusters' members (float64). Cannot-links (two faces of one photo, row
    pairs of ``cannot_link``) between units block their merge. A merged cluster keeps the
    label of its largest previous cluster; clusters of only new and noise faces get labels
    above every previous one (and >= ``first_new_label``).
    """
    previous = np.asarray(previous_labels, dtype=np.int64).reshape(-1)
    is_new = np.asarray(is_new, dtype=bool).reshape(-1)
    n = previous.size
    if is_new.size != n:
        raise ValueError(f"is_new has {is_new.size} entries for {n} faces")
    if min_cluster_size < 2:
        raise ValueError(f"min_cluster_size must be >= 2, got {min_cluster_size}")
    new_rows = np.flatnonzero(is_new)
    previous = np.where(is_new, NOISE, previous)
    if new_neighbours.indices.shape[0] != new_rows.size:
        raise ValueError(f"{new_neighbours.indices.shape[0]} lists for {new_rows.size} new faces")
    if new_rows.size == 0:
        return Refresh(previous, is_new.copy(), np.empty(0, dtype=np.int64), 0, 0)
    idx, sims = new_neighbours.indices, new_neighbours.similarities
    strong = (idx >= 0) & (sims >= min_similarity)
    src = np.repeat(new_rows, idx.shape[1])[strong.ravel()]
    dst = idx[strong]
    not_self = src != dst
    src, dst = src[not_self], dst[not_self]
    groups = np.unique(previous[dst][previous[dst] != NOISE])
    noise_rows = np.unique(dst[(previous[dst] == NOISE) & ~is_new[dst]])
    face_rows = np.concatenate([new_rows, noise_rows])
    n_faces = face_rows.size
    node_of = np.full(n, -1, dtype=np.int64)
    node_of[face_rows] = np.arange(n_faces)
    in_group = np.flatnonzero(np.isin(previous, groups))
    node_of[in_group] = n_faces + np.searchsorted(groups, previous[in_group])
    sizes = np.concatenate(
        [np.ones(n_faces), np.bincount(node_of[in_group] - n_faces, minlength=groups.size)]
    ).astype(np.float64)
    vectors = np.asarray(vectors_of(face_rows), dtype=np.float64).reshape(n_faces, -1)
    if groups.size:
        group_sums = np.asarray(sums_of(groups), dtype=np.float64)
        vectors = np.vstack([vectors, group_sums.reshape(groups.size, vectors.shape[1])])
    u, v = node_of[src], node_of[dst]
    u, v = np.minimum(u, v), np.maximum(u, v)
    m = max(vectors.shape[0], 1)
    keys = np.unique(u[u != v] * m + v[u != v])
    u, v = keys // m, keys % m
    dots = np.einsum("ij,ij->i", vectors[u], vectors[v])
    s = dots / (sizes[u] * sizes[v])
    rows = np.flatnonzero(node_of >= 0)
    position = np.full(n, -1, dtype=np.int64)
    position[rows] = np.arange(rows.size)
    photos = None if photo_ids is None else np.asarray(photo_ids)[rows]
    extra = np.asarray(list(cannot_link), dtype=np.int64).reshape(-1, 2)
    extra = position[extra[(node_of[extra] >= 0).all(axis=1)]] if extra.size else extra
    pairs = _cannot_pairs(photos, extra, rows.size)
    cannot = node_of[rows[pairs]] if pairs.size else np.empty((0, 2), dtype=np.int64)
    cannot = cannot[cannot[:, 0] != cannot[:, 1]]
    cannot = np.unique(np.sort(cannot, axis=1), axis=0) if cannot.size else cannot
    root = _average_linkage(vectors, u, v, s, cannot, min_similarity, sizes=sizes)

    labels = previous.copy()
    next_label = max(int(previous.max(initial=NOISE)) + 1, first_new_label)
    node_label = np.full(vectors.shape[0], NOISE, dtype=np.int64)
    node_label[n_faces:] = groups
    order = np.lexsort((-sizes, root))  # per root: its largest unit first
    bounds = np.flatnonzero(np.r_[True, root[order][1:] != root[order][:-1]])
    grown: list[int] = []
    for members in np.split(order, bounds[1:]):
        total = sizes[members].sum()
        old = members[members >= n_faces]
        if old.size:
            keep = groups[old - n_faces]
            winner = int(keep[np.argmax(sizes[old] * (n + 1) - keep)])  # largest, then lowest
            if members.size > 1:
                grown.append(winner)
        elif total >= min_cluster_size:
            winner, next_label = next_label, next_label + 1
        else:
            continue
        node_label[members] = winner
    labels[face_rows] = node_label[:n_faces]
    labels[in_group] = node_label[node_of[in_group]]
    touched = is_new | (labels != previous)
    return Refresh(labels, touched, np.asarray(sorted(grown), dtype=np.int64),
                   vectors.shape[0], int(sizes.sum()))  # fmt: skip


def neighbour_rows(
    face_ids: np.ndarray, found: Sequence[Sequence[tuple[int, float]]], k: int
) -> Neighbours:
    """Neighbours (rows into the sorted ``face_ids``) from per-face (face id, similarity)
    answers of a vector search; faces not in ``face_ids`` are dropped, best k kept."""
    indices = np.full((len(found), k), -1, dtype=np.int64)
    similarities = np.full((len(found), k), -1.0, dtype=np.float32)
    for i, answer in enumerate(found):
        if not answer:
            continue
        ids = np.fromiter((a for a, _ in answer), np.int64, len(answer))
        sims = np.fromiter((b for _, b in answer), np.float32, len(answer))
        pos = np.clip(np.searchsorted(face_ids, ids), 0, max(face_ids.size - 1, 0))
        ok = face_ids[pos] == ids if face_ids.size else np.zeros(ids.size, bool)
        pos, sims = pos[ok], sims[ok]
        best = np.lexsort((pos, -sims))[:k]
        indices[i, : best.size], similarities[i, : best.size] = pos[best], sims[best]
    return Neighbours(indices, similarities)


def stable_ids_sparse(
    previous: Mapping[str, set[int]],
    face_ids: Sequence[int] | np.ndarray,
    labels: np.ndarray,
    min_overlap: float = MIN_ID_OVERLAP,
) -> dict[int, str]:
    """clustering.stable_cluster_ids without the dense clusters x clusters matrix.

    Same semantics: previous clusters are restricted to present faces; new and previous clusters
    are matched one-to-one maximising total Jaccard over pairs with Jaccard >= min_overlap;
    unmatched new clusters get default_cluster_id (salted past ids in use). Pairs are found from
    the faces themselves (sort + count), so the cost is about linear in the number of faces.
    Above 0.5 an eligible pair is the only one for both of its clusters (disjoint clusters cannot
    both hold more than half of a union); at exactly 0.5 a cluster may have two, and each group
    of linked candidates is solved by the same Hungarian assignment on its sorted ids.
    """
    if not 0 < min_overlap <= 1:
        raise ValueError(f"min_overlap must lie in (0, 1], got {min_overlap}")
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    faces = np.asarray(face_ids, dtype=np.int64).reshape(-1)
    if faces.size != labels.size:
        raise ValueError(f"{faces.size} face ids for {labels.size} labels")
    clustered = labels != NOISE
    new_faces, new_labs = faces[clustered], labels[clustered]
    new_ids, new_sizes = np.unique(new_labs, return_counts=True)

    prev_names = sorted(previous)
    prev_face_list = [
        np.fromiter((int(f) for f in previous[p]), dtype=np.int64) for p in prev_names
    ]
    prev_faces = np.concatenate(prev_face_list) if prev_face_list else np.empty(0, np.int64)
    prev_of = np.repeat(np.arange(len(prev_names)), [f.size for f in prev_face_list])
    present = np.isin(prev_faces, faces)
    prev_faces, prev_of = prev_faces[present], prev_of[present]
    pair_keys = np.unique(prev_of * (faces.max(initial=0) + 1) + prev_faces)  # sets, deduplicated
    prev_faces = pair_keys % (faces.max(initial=0) + 1)
    prev_of = pair_keys // (faces.max(initial=0) + 1)
    prev_sizes = np.bincount(prev_of, minlength=len(prev_names))

    result: dict[int, str] = {}
    if new_ids.size and prev_faces.size:
        order = np.argsort(new_faces, kind="stable")
        sorted_faces = new_faces[order]
        pos = np.searchsorted(sorted_faces, prev_faces)
        pos = np.clip(pos, 0, max(sorted_faces.size - 1, 0))
        hit = sorted_faces[pos] == prev_faces
        new_code = np.searchsorted(new_ids, new_labs[order][pos[hit]])
        cells, inter = np.unique(new_code * len(prev_names) + prev_of[hit], return_counts=True)
        ni, pj = cells // len(prev_names), cells % len(prev_names)
        jac = inter / (new_sizes[ni] + prev_sizes[pj] - inter)
        ok = jac >= min_overlap
        ni, pj, jac = ni[ok], pj[ok], jac[ok]
        if ni.size:
            # Groups of linked candidates; almost always one pair each.
            n_new = new_ids.size
            graph = sparse.coo_matrix(
                (np.ones(ni.size), (ni, n_new + pj)), shape=(n_new + len(prev_names),) * 2
            )
            group = connected_components(graph, directed=False)[1][ni]
            for g in np.unique(group).tolist():
                sel = group == g
                rows_g, cols_g = np.unique(ni[sel]), np.unique(pj[sel])
                if rows_g.size == 1 and cols_g.size == 1:
                    result[int(new_ids[rows_g[0]])] = prev_names[int(cols_g[0])]
                    continue
                dense = np.zeros((rows_g.size, cols_g.size))
                dense[np.searchsorted(rows_g, ni[sel]), np.searchsorted(cols_g, pj[sel])] = jac[sel]
                r, c = linear_sum_assignment(dense, maximize=True)
                for i, j in zip(r.tolist(), c.tolist(), strict=True):
                    if dense[i, j] >= min_overlap:
                        result[int(new_ids[rows_g[i]])] = prev_names[int(cols_g[j])]

    used = set(previous) | set(result.values())
    unmatched = [lab for lab in new_ids.tolist() if lab not in result]
    if unmatched:
        order = np.lexsort((new_faces, new_labs))
        labs_sorted, faces_sorted = new_labs[order], new_faces[order]
        starts = np.searchsorted(labs_sorted, unmatched, side="left")
        ends = np.searchsorted(labs_sorted, unmatched, side="right")
        for lab, s0, s1 in zip(unmatched, starts.tolist(), ends.tolist(), strict=True):
            members = faces_sorted[s0:s1].tolist()
            cid = default_cluster_id(members)
            salt = 0
            while cid in used:
                salt += 1
                cid = default_cluster_id(members, salt)
            used.add(cid)
            result[int(lab)] = cid
    return result
