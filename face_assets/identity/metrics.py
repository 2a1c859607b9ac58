"""Scores for judging a face clustering or an embedding model against ground-truth identities.

Everything here is pure numpy/scipy so that the same numbers can be produced in a
notebook, a benchmark and a test without a database.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.stats import rankdata

# Operating points quoted for face verification (IJB-style "TAR @ FAR=1e-3").
DEFAULT_FAR_TARGETS: tuple[float, ...] = (1e-3, 1e-2)
# Clusterers in this package (and scikit-learn) mark unclustered points with -1.
NOISE_LABEL = -1


def _codes(labels: Sequence) -> np.ndarray:
    """Dense integer codes, so that any hashable label type (names, ints) can be counted."""
    _, inverse = np.unique(np.asarray(labels), return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def _pred_codes(pred_labels: Sequence[int], noise_label: int) -> np.ndarray:
    """Predicted cluster codes where every noise point is its own singleton cluster.

    A noise point was *not* put together with anybody, so it must not count as a false merge
    (precision) - only as a missed merge (recall). Giving each one a unique code does exactly that.
    """
    pred = np.asarray(pred_labels).reshape(-1)
    codes = _codes(pred)
    noise = pred == noise_label
    if noise.any():
        codes = codes.copy()
        codes[noise] = codes.max(initial=-1) + 1 + np.arange(int(noise.sum()))
    return codes


def _contingency(
    true_labels: Sequence, pred_labels: Sequence[int], noise_label: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sparse contingency counts: (pred code, true code, n_ij) for non-empty cells + marginals.

    Kept sparse (one row per non-empty cell) because with noise-as-singletons a dense
    cluster x class matrix for 10^5 faces could need 10^10 cells.
    """
    if len(true_labels) != len(pred_labels):
        raise ValueError(
            f"true_labels and pred_labels differ in length: {len(true_labels)} != "
            f"{len(pred_labels)}"
        )
    if len(true_labels) == 0:
        raise ValueError("cannot score an empty labelling")
    t = _codes(true_labels)
    p = _pred_codes(pred_labels, noise_label)
    n_true = int(t.max()) + 1
    cells, n_ij = np.unique(p * n_true + t, return_counts=True)
    cell_pred, cell_true = np.divmod(cells, n_true)
    pred_sizes = np.bincount(p)
    true_sizes = np.bincount(t)
    return cell_pred, cell_true, n_ij.astype(np.float64), pred_sizes, true_sizes


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def bcubed_scores(
    true_labels: Sequence, pred_labels: Sequence[int], noise_label: int = NOISE_LABEL
) -> tuple[float, float, float]:
    """BCubed (precision, recall, F1), averaged per face.

    BCubed is preferred over pairwise scores for face libraries because it weights every face
    equally; pairwise scores are dominated by the few people with hundreds of photos.
    For a face i in cluster C and class L: P_i = |C n L| / |C|, R_i = |C n L| / |L|, so summed
    over the faces of one contingency cell n_ij these are n_ij^2 / |C| and n_ij^2 / |L|.
    """
    cell_pred, cell_true, n_ij, pred_sizes, true_sizes = _contingency(
        true_labels, pred_labels, noise_label
    )
    n = float(len(true_labels))
    sq = n_ij * n_ij
    precision = float(np.sum(sq / pred_sizes[cell_pred]) / n)
    recall = float(np.sum(sq / true_sizes[cell_true]) / n)
    return precision, recall, _f1(precision, recall)


def _pairs(counts: np.ndarray) -> float:
    counts = np.asarray(counts, dtype=np.float64)
    return float(np.sum(counts * (counts - 1) / 2))


def pairwise_scores(
    true_labels: Sequence, pred_labels: Sequence[int], noise_label: int = NOISE_LABEL
) -> tuple[float, float, float]:
    """Pairwise (precision, recall, F1) over same-cluster pairs; noise points are singletons.

    Computed from contingency counts (sum of n choose 2) rather than by enumerating pairs, so it
    is linear in the number of faces. With no predicted pairs precision is 1.0 (no false merge was
    made) and with no true pairs recall is 1.0 (nothing could be missed); F1 then follows.
    """
    _, _, n_ij, pred_sizes, true_sizes = _contingency(true_labels, pred_labels, noise_label)
    true_positive = _pairs(n_ij)
    pred_pairs = _pairs(pred_sizes)
    true_pairs = _pairs(true_sizes)
    precision = 1.0 if pred_pairs == 0 else true_positive / pred_pairs
    recall = 1.0 if true_pairs == 0 else true_positive / true_pairs
    return precision, recall, _f1(precision, recall)


def _tar_and_threshold(
    genuine: np.ndarray, impostor_desc: np.ndarray, far: float
) -> tuple[float, float]:
    """TAR at the loosest threshold whose FAR is still <= far (i.e. the largest achievable FAR).

    A pair is accepted when its similarity is strictly above the threshold. Allowing k =
    floor(far * n_impostor) false accepts, the threshold is the (k+1)-th highest impostor score:
    at most k impostors lie strictly above it, even with ties.
    """
    k = math.floor(far * impostor_desc.size + 1e-9)  # 1e-3 x 3000 may land just below 3
    if k >= impostor_desc.size:
        return 1.0, -np.inf
    threshold = float(impostor_desc[k])
    return float(np.mean(genuine > threshold)), threshold


def _roc_auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """P(genuine score > impostor score), ties counted half (Mann-Whitney U): exact, so a
    perfect separation is 1.0, not 1 - 1e-16 as a trapezoid sum may give."""
    ranks = rankdata(np.concatenate([genuine, impostor]).astype(np.float64))
    n_g, n_i = genuine.size, impostor.size
    return float((ranks[:n_g].sum() - n_g * (n_g + 1) / 2) / (n_g * n_i))


def verification_scores(
    embeddings: np.ndarray, labels: Sequence, far_targets: Iterable[float] = DEFAULT_FAR_TARGETS
) -> dict:
    """Verification quality on every pair of faces (cosine similarity = dot product).

    Returns ``roc_auc``, ``tar_at_far`` {far: tar}, ``threshold_at_far`` {far: threshold},
    ``mean_genuine``, ``mean_impostor``, ``genuine_pairs`` and ``impostor_pairs``.
    The pair counts are returned because a TAR at FAR=1e-3 from fewer than 1000 impostor pairs is
    really TAR at FAR=0 (the threshold sits above the highest impostor); callers must be able to
    see that instead of trusting a figure the data cannot support.
    Embeddings are re-normalised here so that a caller passing raw model output still gets
    cosine similarities. Memory is O(n^2): this is for evaluation sets, not whole libraries.
    """
    emb = np.asarray(embeddings)
    if not np.issubdtype(emb.dtype, np.floating):
        emb = emb.astype(np.float64)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (n, dim), got shape {emb.shape}")
    if emb.shape[0] != len(labels):
        raise ValueError(f"{emb.shape[0]} embeddings but {len(labels)} labels")
    if emb.shape[0] < 2:
        raise ValueError("need at least two faces to form a pair")
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    emb = emb / np.maximum(norms, np.finfo(emb.dtype).tiny)

    codes = _codes(labels)
    sims = emb @ emb.T
    upper = np.triu(np.ones(sims.shape, dtype=bool), k=1)
    same = codes[:, None] == codes[None, :]
    genuine = sims[upper & same]
    impostor = sims[upper & ~same]
    if genuine.size == 0:
        raise ValueError("no genuine pairs: every label occurs once, so TAR/AUC are undefined")
    if impostor.size == 0:
        raise ValueError("no impostor pairs: all faces share one label, so FAR/AUC are undefined")

    impostor_desc = np.sort(impostor)[::-1]
    tar_at_far: dict[float, float] = {}
    threshold_at_far: dict[float, float] = {}
    for far in far_targets:
        if not 0 <= far <= 1:
            raise ValueError(f"FAR target must lie in [0, 1], got {far}")
        tar_at_far[far], threshold_at_far[far] = _tar_and_threshold(genuine, impostor_desc, far)
    return {
        "roc_auc": _roc_auc(genuine, impostor),
        "tar_at_far": tar_at_far,
        "threshold_at_far": threshold_at_far,
        "mean_genuine": float(np.mean(genuine)),
        "mean_impostor": float(np.mean(impostor)),
        "genuine_pairs": int(genuine.size),
        "impostor_pairs": int(impostor.size),
    }
