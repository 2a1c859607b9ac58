"""How one person is represented for matching: a centroid plus a few exemplar faces."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Seed: each person keeps the "top 3 quality faces" as exemplars besides the centroid.
EXEMPLARS_PER_PERSON = 3


def centroid(embeddings: np.ndarray) -> np.ndarray:
    """Normalised mean of a person's unit embeddings (the seed's formula), as float32.

    Re-normalising keeps the centroid on the unit sphere, so cosine similarity against it stays a
    plain dot product and is comparable with face-to-face similarities. float32 because that is
    what pgvector stores; more precision would be discarded on write anyway.
    """
    emb = np.asarray(embeddings, dtype=np.float64)
    if emb.ndim == 1:
        emb = emb[None, :]
    if emb.ndim != 2 or emb.shape[0] == 0:
        raise ValueError(f"need a non-empty (n, dim) array of embeddings, got shape {emb.shape}")
    mean = emb.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    if not np.isfinite(norm) or norm <= 1e-12:
        raise ValueError("embeddings cancel out (zero mean); a centroid has no direction")
    return (mean / norm).astype(np.float32)


def exemplar_indices(qualities: Sequence[float], k: int = EXEMPLARS_PER_PERSON) -> list[int]:
    """Indices of the k highest-quality faces, best first, ties broken by lower index.

    Ties are broken by index so that re-running on unchanged data picks the same exemplars and
    the stored prototypes do not churn. NaN qualities rank last: an unscored face should never
    displace a scored one.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    q = np.asarray(qualities, dtype=np.float64).reshape(-1)
    q = np.where(np.isnan(q), -np.inf, q)
    # lexsort sorts by the last key first: descending quality, then ascending index.
    order = np.lexsort((np.arange(q.size), -q))
    return [int(i) for i in order[:k]]
