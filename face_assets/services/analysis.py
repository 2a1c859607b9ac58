"""Stateless face analysis of one uploaded image: the InsightFace service's /detect and
/extract-embedding (seed 001) and the embedding plugin's blur quality (seed 000).

The steps are the ingest path's own (services/face_detection.py): decode_image with its pixel
limit, the pack's detector, kept_faces' confidence and size filters, the pack's alignment,
quality_parts, and FaceModels.embed; so an uploaded photo's embedding is the one ingest stores
for the same face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from face_assets.defaults import MIN_CONFIDENCE, MIN_FACE_SIZE, RECOGNITION_BATCH
from face_assets.vision.decode import MAX_PIXELS, ImageRejected, decode_image
from face_assets.vision.faces import (
    kept_faces,
)
from face_assets.vision.models import FaceModels
from face_assets.vision.quality import QualityParts, blur_score, blur_variance, quality_parts

REASON_NO_FACE = "no_face"  # /extract-embedding on a photo where SCRFD finds no face


@dataclass(frozen=True)
class AnalysedFace:
    bbox: tuple[float, float, float, float]
    landmarks: np.ndarray  # (5, 2)
    det_score: float
    quality: QualityParts
    embedding: np.ndarray | None  # L2-normalised, the pack's width, when asked for
    age: int | None = None  # from the pack's attribute model (None: the pack has none)
    gender: str | None = None  # "M" or "F", the same model


@dataclass(frozen=True)
class Analysis:
    width: int
    height: int
    faces: list[AnalysedFace]


@dataclass(frozen=True)
class Embedding:
    vector: np.ndarray  # the pack's width, normalised unless asked otherwise
    blur_quality: float  # seed 000's quality_score: sharpness of the crop in [0, 1]
    blur_variance: float
    aligned_input: bool  # the upload was used as the aligned crop itself
    face: AnalysedFace | None  # the face found in a photo (None for an aligned crop)


def decode(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Upright BGR pixels; ImageRejected (a stable reason) for a bomb, a non-image..."""
    return decode_image(data, max_pixels).bgr


def analyse(
    models: FaceModels,
    bgr: np.ndarray,
    min_confidence: float = MIN_CONFIDENCE,
    min_face_size: float = MIN_FACE_SIZE,
    with_embeddings: bool = False,
) -> Analysis:
    """Faces of an image, largest first, with landmarks, quality, optional embeddings and,
    where the pack has an attribute model, age and gender."""
    boxes, kps = models.detect(bgr, threshold=min_confidence)
    kept = kept_faces(boxes, kps, min_confidence, min_face_size)
    crops = [models.align(bgr, face.landmarks) for face in kept]
    vectors = models.embed(crops, batch_size=RECOGNITION_BATCH) if with_embeddings else None
    attributes = [models.attributes_of(bgr, face.bbox) for face in kept]
    faces = [
        AnalysedFace(
            face.bbox,
            face.landmarks,
            face.det_score,
            quality_parts(face.det_score, face.width, face.height, crop, face.landmarks),
            None if vectors is None else vectors[i],
            None if attributes[i] is None else attributes[i].age,
            None if attributes[i] is None else attributes[i].gender,
        )
        for i, (face, crop) in enumerate(zip(kept, crops, strict=True))
    ]
    return Analysis(int(bgr.shape[1]), int(bgr.shape[0]), faces)


def embed(models: FaceModels, bgr: np.ndarray, normalise: bool = True) -> Embedding:
    """The embedding of an aligned crop (the pack's input size) as given, or of the largest
    face of a photo (detected and aligned as ingest does); ImageRejected('no_face') if none."""
    aligned = bgr.shape[:2] == (models.crop_size, models.crop_size)
    face = None
    if aligned:
        crop = bgr
    else:
        found = analyse(models, bgr).faces
        if not found:
            raise ImageRejected(REASON_NO_FACE, "no face found; send a photo with a face or an"
                                f" aligned {models.crop_size}x{models.crop_size} crop")  # fmt: skip
        face = found[0]
        crop = models.align(bgr, face.landmarks)
    # normalise=False: the recognizer's raw output, as seed 000 returns it with normalize=false
    vector = models.embed([crop], normalise=normalise)[0]
    variance = blur_variance(crop)
    return Embedding(vector, blur_score(variance), variance, aligned, face)
