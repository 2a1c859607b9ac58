"""Face quality in [0, 1]: which faces are good enough to cluster, label and keep as exemplars.

quality = 0.4 x detection confidence + 0.3 x size + 0.2 x sharpness + 0.1 x frontal pose.
Each part is computed from real measurements of the face (box, aligned crop, landmarks).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import cv2
import numpy as np

WEIGHT_CONFIDENCE = 0.4  # issue #3 formula: detector confidence dominates
WEIGHT_SIZE = 0.3  # larger faces carry more identity detail
WEIGHT_BLUR = 0.2  # motion/focus blur destroys ArcFace's fine features
WEIGHT_POSE = 0.1  # profiles embed worse than frontal faces
SIZE_FULL_AREA = 40_000.0  # seed: area_score = min(1, w*h / 40000), i.e. 200x200 px = 1.0
# Laplacian variance of the aligned 112x112 grey crop, scored on a log scale between these.
# Measured on ../shared/data (82 real faces): median sharp crop 1149, the same crops after a
# Gaussian blur of sigma 2 have a median of 11. Below 10 is unusable, above 1000 is sharp.
BLUR_VARIANCE_BLURRED = 10.0
BLUR_VARIANCE_SHARP = 1000.0


@dataclass(frozen=True)
class QualityParts:
    """The score and its parts, all kept so users can see why a face ranks low."""

    quality: float
    confidence: float
    size: float
    blur: float
    pose: float
    blur_variance: float
    yaw_ratio: float

    def values(self) -> tuple[float, ...]:
        """The score and its parts in the order above (the order the store writes them)."""
        return dataclasses.astuple(self)


def size_score(width: float, height: float) -> float:
    return float(min(1.0, max(0.0, width * height) / SIZE_FULL_AREA))


def blur_variance(crop_bgr: np.ndarray) -> float:
    """Variance of the Laplacian: high for sharp edges, collapses when the face is blurred."""
    gray = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY) if crop_bgr.ndim == 3 else crop_bgr
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def blur_score(variance: float) -> float:
    if variance <= BLUR_VARIANCE_BLURRED:
        return 0.0
    span = math.log10(BLUR_VARIANCE_SHARP / BLUR_VARIANCE_BLURRED)
    return float(min(1.0, math.log10(variance / BLUR_VARIANCE_BLURRED) / span))


def yaw_ratio(landmarks: np.ndarray) -> float:
    """Signed head turn from the 5 landmarks: 0 frontal, +-1 when the nose reaches an eye.

    The nose is projected on the eye line (so in-plane roll does not count as yaw) and
    compared with the eyes' midpoint, in units of half the eye distance.
    """
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    left_eye, right_eye, nose = pts[0], pts[1], pts[2]
    axis = right_eye - left_eye
    eye_distance = float(np.linalg.norm(axis))
    if eye_distance < 1e-6:
        return 1.0  # eyes on top of each other: a full profile or a broken landmark set
    axis /= eye_distance
    offset = float(np.dot(nose - (left_eye + right_eye) / 2.0, axis))
    return offset / (eye_distance / 2.0)


def pose_score(landmarks: np.ndarray) -> float:
    return float(max(0.0, 1.0 - min(1.0, abs(yaw_ratio(landmarks)))))


def quality_parts(
    det_score: float, width: float, height: float, crop_bgr: np.ndarray, landmarks: np.ndarray
) -> QualityParts:
    variance = blur_variance(crop_bgr)
    parts = {
        "confidence": float(min(1.0, max(0.0, det_score))),
        "size": size_score(width, height),
        "blur": blur_score(variance),
        "pose": pose_score(landmarks),
    }
    quality = (
        WEIGHT_CONFIDENCE * parts["confidence"]
        + WEIGHT_SIZE * parts["size"]
        + WEIGHT_BLUR * parts["blur"]
        + WEIGHT_POSE * parts["pose"]
    )
    return QualityParts(
        quality=float(quality),
        blur_variance=variance,
        yaw_ratio=yaw_ratio(landmarks),
        **parts,
    )
