"""A face a person drew on a photo: refined by the detector where it can, else aligned from
the box alone. Pure: numpy in, a DetectedFace out."""

from __future__ import annotations

import numpy as np

from face_assets.vision import matching
from face_assets.vision.faces import DetectedFace

# The detector re-run on the drawn region accepts weaker faces than ingest's 0.5 (seed): the
# person says a face is there, the detector only has to place its landmarks.
REFINE_MIN_CONFIDENCE = 0.2
REFINE_MARGIN = 0.5  # context added around the drawn box on each side, as a share of its size
REFINE_MIN_IOU = 0.3  # a detection this close to the drawn box is the face that was meant
MIN_DRAWN_SIZE = 16  # pixels: smaller than this, neither detector nor ArcFace sees a face
# Five landmarks relative to a face box (x, y as shares of width, height): the mean over the
# largest face of each faces_real photo as buffalo_s's SCRFD placed them (56 faces, measured;
# spread 0.03-0.08): where a box-only face's eyes, nose and mouth are assumed to be.
BOX_LANDMARKS = np.array(
    [[0.268, 0.401], [0.725, 0.394], [0.501, 0.586], [0.302, 0.734], [0.710, 0.727]],
    dtype=np.float32,
)
DRAWN_SCORE = 0.0  # det_score of a box-only face: no detector vouched for it


def clamp_box(
    box: tuple[float, float, float, float], width: int, height: int
) -> tuple[float, float, float, float]:
    """The drawn box inside the photo; ValueError when what is left is too small."""
    x1, y1, x2, y2 = (float(v) for v in box)
    x1, x2 = sorted((max(0.0, min(x1, width)), max(0.0, min(x2, width))))
    y1, y2 = sorted((max(0.0, min(y1, height)), max(0.0, min(y2, height))))
    if x2 - x1 < MIN_DRAWN_SIZE or y2 - y1 < MIN_DRAWN_SIZE:
        raise ValueError(
            f"the box must be at least {MIN_DRAWN_SIZE}x{MIN_DRAWN_SIZE} pixels inside the photo"
        )
    return x1, y1, x2, y2


def refine_region(
    box: tuple[float, float, float, float], width: int, height: int
) -> tuple[int, int, int, int]:
    """The part of the photo the detector looks at: the box with REFINE_MARGIN around it."""
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * REFINE_MARGIN, (y2 - y1) * REFINE_MARGIN
    return (
        max(0, int(x1 - mx)),
        max(0, int(y1 - my)),
        min(width, int(np.ceil(x2 + mx))),
        min(height, int(np.ceil(y2 + my))),
    )


def pick_detection(
    box: tuple[float, float, float, float],
    offset: tuple[int, int],
    boxes: np.ndarray,
    landmarks: np.ndarray,
) -> DetectedFace | None:
    """The region's detection that overlaps the drawn box most (IoU >= REFINE_MIN_IOU), moved
    back into photo coordinates; None when the detector found nothing there."""
    if len(boxes) == 0:
        return None
    ox, oy = offset
    shifted = np.asarray(boxes, dtype=np.float64)[:, :4] + [ox, oy, ox, oy]
    iou = matching.iou_matrix(shifted, [box])[:, 0]
    best = int(np.argmax(iou))
    if iou[best] < REFINE_MIN_IOU:
        return None
    x1, y1, x2, y2 = (float(v) for v in shifted[best])
    points = np.asarray(landmarks[best], dtype=np.float32).reshape(5, 2) + [ox, oy]
    return DetectedFace((x1, y1, x2, y2), points.astype(np.float32), float(boxes[best][4]))


def box_only_face(box: tuple[float, float, float, float]) -> DetectedFace:
    """A face aligned from its box alone (BOX_LANDMARKS), for what no detector finds."""
    x1, y1, x2, y2 = box
    points = BOX_LANDMARKS * [x2 - x1, y2 - y1] + [x1, y1]
    return DetectedFace(box, points.astype(np.float32), DRAWN_SCORE)
