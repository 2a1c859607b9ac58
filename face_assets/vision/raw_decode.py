"""Camera RAW decoding (rawpy/LibRaw): decode.py's path for the files it sniffs as RAW.

A RAW holds the sensor's data, not an image: it must be demosaiced, which is slow, and its
capture time hides in another place per maker. So a caller that needs only `min_side` pixels
gets the camera's embedded preview when that is large enough, else a half-size demosaic when
that suffices, else the full demosaic (8 bits, camera white balance, LibRaw's orientation).
The capture time comes from the RAW itself: the EXIF of a TIFF-based RAW, else its embedded
JPEG preview's, else LibRaw's own timestamp. The pixel limit is checked on LibRaw's sizes
before anything is unpacked.

decode.py keeps the format dispatch, the Pillow path and the shared types and reasons; this
module uses them and decode.py calls it only from inside its dispatch (see there), so the two
import each other without a cycle at import time.
"""

from __future__ import annotations

import io
import warnings
from datetime import datetime

import numpy as np
from PIL import Image

# The Pillow helpers serve both paths: a RAW's JPEG preview is opened, converted and its EXIF
# read the way any JPEG is.
from face_assets.vision.decode import (
    FAMILY_RAW,
    MAX_PIXELS,
    REASON_NOT_IMAGE,
    REASON_RAW_UNREADABLE,
    REASON_TOO_MANY_PIXELS,
    REASON_TRUNCATED,
    DecodedImage,
    ImageHeader,
    ImageRejected,
    exif_taken_at,
    opened_image,
    rgb8_pixels,
)


def _raw_open(data: bytes, max_pixels: int):
    """A LibRaw handle with its sizes read (no pixels unpacked yet), within the pixel limit."""
    import rawpy

    raw = rawpy.RawPy()
    try:
        raw.open_buffer(io.BytesIO(data))
    except rawpy.LibRawIOError as exc:
        raise ImageRejected(REASON_TRUNCATED, f"RAW: {exc}") from exc
    except rawpy.LibRawFileUnsupportedError as exc:
        raise ImageRejected(REASON_NOT_IMAGE, f"not a RAW format LibRaw reads: {exc}") from exc
    except rawpy.LibRawError as exc:
        raise ImageRejected(REASON_RAW_UNREADABLE, str(exc)) from exc
    sizes = raw.sizes
    if sizes.width <= 0 or sizes.height <= 0:
        raise ImageRejected(REASON_NOT_IMAGE, f"RAW with invalid size {sizes.width}x{sizes.height}")
    if sizes.width * sizes.height > max_pixels:
        raise ImageRejected(
            REASON_TOO_MANY_PIXELS,
            f"{sizes.width}x{sizes.height} exceeds the limit of {max_pixels} pixels",
        )
    return raw


# LibRaw's `flip` (sizes.flip) as PIL transposes: 3 = 180 degrees, 5 = 90 CCW, 6 = 90 CW.
_RAW_FLIPS = {
    3: Image.Transpose.ROTATE_180,
    5: Image.Transpose.ROTATE_90,
    6: Image.Transpose.ROTATE_270,
}


def _raw_upright_size(raw) -> tuple[int, int]:
    width, height = raw.sizes.width, raw.sizes.height
    return (height, width) if raw.sizes.flip in (5, 6) else (width, height)


def _raw_preview(raw, max_pixels: int) -> Image.Image | None:
    """The camera's embedded preview (JPEG or bitmap), None when there is none."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    except rawpy.LibRawError:
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        try:
            img = opened_image(bytes(thumb.data), max_pixels)
            img.load()
        except (ImageRejected, OSError):
            return None
        return img
    if thumb.format == rawpy.ThumbFormat.BITMAP:
        return Image.fromarray(np.ascontiguousarray(thumb.data))
    return None


def _raw_taken_at(data: bytes, raw) -> tuple[datetime | None, tuple[str, ...]]:
    """TIFF-based RAWs carry EXIF in their IFDs (Pillow reads them without pixels); the others
    in their embedded JPEG preview."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            taken, notes = exif_taken_at(Image.open(io.BytesIO(data)))
        if taken is not None:
            return taken, notes
    except Exception:
        pass
    preview = _raw_preview(raw, MAX_PIXELS)
    if preview is not None and preview.format == "JPEG":
        return exif_taken_at(preview)
    # LibRaw's own capture time (rawpy gives a datetime; the epoch when the file has none).
    stamp = getattr(getattr(raw, "other", None), "timestamp", None)
    if isinstance(stamp, (int, float)) and stamp > 0:
        stamp = datetime.fromtimestamp(stamp)
    if isinstance(stamp, datetime) and 1971 <= stamp.year <= 2200:
        return stamp.replace(tzinfo=None), ()
    return None, ()


def read_raw_header(data: bytes, max_pixels: int) -> ImageHeader:
    """A RAW's upright size and capture time, from LibRaw's sizes (no pixels unpacked)."""
    raw = _raw_open(data, max_pixels)
    try:
        width, height = _raw_upright_size(raw)
        taken_at, notes = _raw_taken_at(data, raw)
    finally:
        raw.close()
    return ImageHeader(width, height, FAMILY_RAW, "RAW", taken_at, notes)


def decode_raw(data: bytes, max_pixels: int, min_side: int | None) -> DecodedImage:
    """The embedded preview when it is at least min_side (and min_side is asked), else a
    half-size demosaic when that suffices, else the full demosaic (8 bits, camera white
    balance, LibRaw's own orientation)."""
    import rawpy

    raw = _raw_open(data, max_pixels)
    try:
        full = _raw_upright_size(raw)
        if min_side:
            preview = _raw_preview(raw, max_pixels)
            if preview is not None and max(preview.size) >= min_side:
                flip = _RAW_FLIPS.get(raw.sizes.flip)
                turned = preview if flip is None else preview.transpose(flip)
                # A preview already upright (camera rotated it) keeps its own aspect.
                if (turned.width >= turned.height) != (full[0] >= full[1]):
                    turned = preview
                rgb, notes = rgb8_pixels(turned.convert("RGB"))
                bgr = np.ascontiguousarray(rgb[..., ::-1])
                return DecodedImage(bgr, ("raw_preview",) + notes, full)
        half = bool(min_side) and max(full) // 2 >= min_side
        try:
            raw.unpack()
            rgb = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8)
        except rawpy.LibRawIOError as exc:
            raise ImageRejected(REASON_TRUNCATED, f"RAW: {exc}") from exc
        except rawpy.LibRawError as exc:
            raise ImageRejected(REASON_RAW_UNREADABLE, str(exc)) from exc
        bgr = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)[..., ::-1])
        return DecodedImage(bgr, ("raw_half_size",) if half else ("raw_demosaic",), full)
    finally:
        raw.close()
