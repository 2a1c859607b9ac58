"""Which detection is which stored face: box overlap (IoU) and a one-to-one matching.

A detector run at another input size (or a later model version) moves boxes by a few pixels,
so a face is recognised again by how much its box overlaps the stored one, never by exact
integer coordinates. Pure numpy: boxes are (N, 4) arrays of x1, y1, x2, y2 in image pixels.
"""

from __future__ import annotations

import numpy as np

# Immich (server, person service: re-detected faces are matched to existing ones by IoU, 0.5):
# two boxes of one image overlapping by at least this much are the same face.
SAME_FACE_IOU = 0.5


def _boxes(boxes: object) -> np.ndarray:
    array = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return array


def iou_matrix(a: object, b: object) -> np.ndarray:
    """Intersection over union of every box of `a` with every box of `b`, shape (len a, len b).

    Degenerate boxes (zero or negative area) overlap nothing: their IoU is 0.
    """
    a, b = _boxes(a), _boxes(b)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou


def match_boxes(
    new: object, old: object, min_iou: float = SAME_FACE_IOU
) -> list[tuple[int, int, float]]:
    """One-to-one pairs (new index, old index, IoU) with IoU >= min_iou, best overlaps first.

    Greedy on descending IoU: with min_iou >= 0.5 two faces cannot both overlap one box by
    more than half unless they overlap each other heavily, so greedy and an optimal (Hungarian)
    assignment agree on real detections; greedy also never pairs a weaker overlap over a
    stronger one. Ties break on the lower indices, so the result is deterministic.
    """
    iou = iou_matrix(new, old)
    if iou.size == 0:
        return []
    rows, cols = np.nonzero(iou >= min_iou)
    order = sorted(zip(rows.tolist(), cols.tolist(), strict=True), key=lambda p: (-iou[p], p))
    used_new: set[int] = set()
    used_old: set[int] = set()
    pairs = []
    for i, j in order:
        if i in used_new or j in used_old:
            continue
        used_new.add(i)
        used_old.add(j)
        pairs.append((i, j, float(iou[i, j])))
    return pairs


def overlapping(boxes: object, others: object, min_iou: float = SAME_FACE_IOU) -> np.ndarray:
    """Boolean mask: which of `boxes` overlaps any of `others` by at least min_iou."""
    iou = iou_matrix(boxes, others)
    if iou.shape[1] == 0:
        return np.zeros(iou.shape[0], dtype=bool)
    return (iou >= min_iou).any(axis=1)
