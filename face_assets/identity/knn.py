"""k nearest neighbours of every face: the FAISS index and the neighbour lists clustering reads.

HDBSCAN over all faces is quadratic (206 s for 14k faces). Clustering here only ever lets a face
meet its k nearest neighbours: exact FAISS search for small libraries, an IVF index above,
queried in batches so memory stays flat whatever the library size. A refresh gets the new faces'
lists from pgvector's HNSW index instead; neighbour_rows turns its answers into Neighbours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Measured on lfw_dev by benchmarks/graph_tuning.py: k=30 and k=50 give identical results for
# "average" at every threshold; 30 keeps the 1M-face graph at <= 30M edges.
DEFAULT_K = 30
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


def unit_f32(embeddings: np.ndarray) -> np.ndarray:
    """The embeddings as a contiguous float32 (n, dim) array, as FAISS wants them."""
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

        x = unit_f32(embeddings)
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
        x = unit_f32(embeddings)
        for start in range(0, x.shape[0], batch):
            self._index.add(x[start : start + batch])

    def search(
        self, queries: np.ndarray, k: int, *, batch: int = SEARCH_BATCH
    ) -> tuple[np.ndarray, np.ndarray]:
        """(similarities float32 (m, k), indices int64 (m, k)), best first, -1 where none."""
        q = unit_f32(queries)
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


def without_self(sims: np.ndarray, idx: np.ndarray, rows: np.ndarray) -> Neighbours:
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
    x = unit_f32(embeddings)
    n = x.shape[0]
    k_eff = max(0, min(k, n - 1))
    if index is None:
        index = FaceIndex.build(x, exact_below=exact_below, batch=batch, seed=seed)
    sims, idx = index.search(x, k_eff + 1, batch=batch)
    return without_self(sims, idx, np.arange(n))


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
