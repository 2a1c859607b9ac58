"""Judging an embedding space on held-out people, and carrying a threshold across spaces.

Pure maths for training projection heads: verification and clustering scores of a space,
known-person accuracy, and the projected-space threshold that keeps the raw one's meaning.
"""

from __future__ import annotations

import numpy as np

from face_assets.identity import clustering, metrics, verification


def space_metrics(embeddings: np.ndarray, labels: np.ndarray) -> dict:
    """Verification (AUC, TAR@FAR) and clustering BCubed F1 of one embedding space."""
    found = verification.verification_metrics(embeddings, labels)
    # HDBSCAN is scale-free, so raw and projected spaces are clustered on equal terms.
    # No distance guard: its 0.7 is a raw-ArcFace cosine and means nothing in a head's space.
    predicted = clustering.cluster_labels(
        embeddings, min_cluster_size=2, min_samples=1, max_distance=None
    )
    precision, recall, f1 = metrics.bcubed_scores(labels, predicted)
    found.update({"bcubed_precision": precision, "bcubed_recall": recall, "bcubed_f1": f1})
    return found


def known_person_accuracy(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray
) -> float | None:
    """Nearest-centroid accuracy on held-back faces of persons seen in training."""
    if len(test_y) == 0:
        return None
    persons = np.unique(train_y)
    centres = np.vstack([train_x[train_y == p].mean(axis=0) for p in persons])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    predicted = persons[np.argmax(test_x @ centres.T, axis=1)]
    return float(np.mean(predicted == test_y))


def matching_threshold(
    raw: np.ndarray, projected: np.ndarray, labels: np.ndarray, raw_threshold: float
) -> float:
    """The projected-space threshold that keeps the raw threshold's meaning.

    When the raw threshold accepts some held-out impostor pairs, the projected threshold
    accepts the same share. When it accepts none (the usual case on small sets), it sits at
    the same relative place between the highest impostor and the lowest same-person score,
    so the safety buffer the raw threshold had is carried over, not squeezed to zero.
    """
    same = labels[:, None] == labels[None, :]
    upper = np.triu(np.ones_like(same, dtype=bool), k=1)
    impostor, genuine = upper & ~same, upper & same
    raw_sims, proj_sims = raw @ raw.T, projected @ projected.T
    if not impostor.any():
        return raw_threshold
    far = float(np.mean(raw_sims[impostor] >= raw_threshold))
    if far > 0.0:
        return float(np.quantile(proj_sims[impostor], 1.0 - far))
    raw_top, proj_top = raw_sims[impostor].max(), proj_sims[impostor].max()
    if genuine.any():
        raw_gap = raw_sims[genuine].min() - raw_top
        proj_gap = proj_sims[genuine].min() - proj_top
        if raw_gap > 0 and proj_gap > 0:
            position = float(np.clip((raw_threshold - raw_top) / raw_gap, 0.0, 1.0))
            return float(proj_top + position * proj_gap)
    return float(min(1.0, proj_top + 1e-4))
