"""Reduced decoding (issue 19): which pixels detection and alignment read, so a large photo is
decoded at full size only when a small face needs it."""

from __future__ import annotations

import numpy as np

from face_assets.vision.decode import DecodedImage, decode_image

# Reduced decoding (issue 19): the detector sees det_size px, so a photo is decoded only down
# to DETECT_DECODE_FACTOR x det_size on its longer side (a 4032 px JPEG at 1/4: 1008 px) and
# detected there; a face is aligned from pixels where it is at least ALIGN_MIN_FACE_PX wide,
# re-reading the photo at a higher scale (up to full size) when it is smaller. Our
# measurement (phone photos, same landmarks): a face 73-117 px wide in the 1/4-scale pixels
# gives cosine 0.993-0.997 to its crop from the full-size pixels, 146-304 px 0.998-0.999;
# at 112 px, 51 of 60 phone photos were read twice (benchmarks/phone_ingest.py).
DETECT_DECODE_FACTOR = 1.5
ALIGN_MIN_FACE_PX = 72


def detection_pixels(data: bytes, name: str, det_size: int) -> DecodedImage:
    """The photo decoded just large enough for the detector (DETECT_DECODE_FACTOR x det_size)."""
    return decode_image(data, name=name, min_side=round(det_size * DETECT_DECODE_FACTOR))


def full_size_faces(
    decoded: DecodedImage, boxes: np.ndarray, kps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Detector output on reduced pixels mapped to full-size upright coordinates."""
    sx, sy = decoded.scale
    boxes = np.asarray(boxes, dtype=np.float64).copy()
    if len(boxes):
        boxes[:, :4] *= (sx, sy, sx, sy)
    points = np.asarray(kps, dtype=np.float32) * np.float32([sx, sy])
    return boxes, points


def alignment_pixels(decoded: DecodedImage, faces: list, data: bytes, name: str) -> DecodedImage:
    """Pixels in which every face is at least ALIGN_MIN_FACE_PX wide, or the full-size photo:
    the detection pixels themselves when they suffice, else the photo read again at a higher
    scale (used for the small faces only)."""
    if not faces:
        return decoded
    sx, _ = decoded.scale
    if sx <= 1.0:
        return decoded  # already full size
    smallest = min(f.width for f in faces) / sx  # in decoded pixels
    if smallest >= ALIGN_MIN_FACE_PX:
        return decoded
    longest = max(decoded.bgr.shape[:2]) * ALIGN_MIN_FACE_PX / max(smallest, 1.0)
    if longest >= max(decoded.full_size):
        return decode_image(data, name=name)
    return decode_image(data, name=name, min_side=int(np.ceil(longest)))
