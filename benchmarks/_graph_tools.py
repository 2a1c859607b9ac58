"""Neighbour-list tools only the graph benchmarks use (graph_scale.py): the exact neighbours
of a sample, to measure the IVF index's recall, and neighbour lists extended in memory after a
month of new faces, where the shipped refresh asks pgvector's HNSW index instead.
"""

from __future__ import annotations

import numpy as np

from face_assets.identity.knn import (
    DEFAULT_K,
    SEARCH_BATCH,
    FaceIndex,
    Neighbours,
    unit_f32,
    without_self,
)


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
    x_new = unit_f32(new_embeddings)
    m = x_new.shape[0]
    if index.ntotal != n_old:
        raise ValueError(f"index holds {index.ntotal} faces, neighbours describe {n_old}")
    index.add(x_new, batch=batch)
    sims, idx = index.search(x_new, min(k, n_old + m - 1) + 1, batch=batch)
    new_nb = without_self(sims, idx, n_old + np.arange(m))
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
