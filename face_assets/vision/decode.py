"""Safe image decoding: every photo becomes an upright 8-bit BGR array or a named reason.

A photo library is full of files that are not what their names say. Each failure mode maps to
one stable reason string so that runs can count them, users can find them, and nothing else in
the pipeline ever has to guess why an image has no faces.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Seed-free defaults, chosen for photo libraries rather than for PIL's generic limits.
MAX_PIXELS = 80_000_000  # 80 MP: above any consumer camera, below decompression-bomb territory.
MAX_FILE_BYTES = 200 * 1024 * 1024  # 200 MiB: no real photo is larger; stops us reading videos.
EXIF_DATETIME_ORIGINAL = 0x9003  # EXIF tag DateTimeOriginal (in the Exif sub-IFD).
EXIF_IFD_POINTER = 0x8769
EXIF_ORIENTATION = 0x0112

# Stable reason codes, recorded in the store and shown in run metadata.
REASON_EMPTY = "empty_file"
REASON_NOT_IMAGE = "not_an_image"
REASON_TRUNCATED = "truncated"
REASON_TOO_MANY_PIXELS = "too_many_pixels"
REASON_TOO_LARGE = "file_too_large"
REASON_UNREADABLE = "unreadable"
REASON_NOT_REGULAR = "not_a_regular_file"
REASON_OUTSIDE_LIBRARY = "outside_library"
REASON_UNSUPPORTED_MODE = "unsupported_mode"


# Cameras write "YYYY:MM:DD HH:MM:SS"; some tools write dashes or drop the seconds.
_EXIF_DATETIME_FORMATS = (
    ("%Y:%m:%d %H:%M:%S", 19),
    ("%Y-%m-%d %H:%M:%S", 19),
    ("%Y:%m:%d %H:%M", 16),
    ("%Y:%m:%d", 10),
)


class ImageRejected(Exception):
    """Raised with a stable reason code; the message carries the human detail."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ImageHeader:
    """What can be learned without decoding pixels: enough to register and bucket a photo."""

    width: int
    height: int
    format: str
    mode: str
    taken_at: datetime | None
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class DecodedImage:
    """Upright 8-bit BGR pixels (insightface's convention) plus what the conversion did."""

    bgr: np.ndarray
    notes: tuple[str, ...] = field(default_factory=tuple)


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if len(data) == 0:
        raise ImageRejected(REASON_EMPTY, "zero-byte file")
    try:
        with warnings.catch_warnings():
            # We enforce our own pixel limit below; PIL's warning would only add noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageRejected(REASON_TOO_MANY_PIXELS, str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected(REASON_NOT_IMAGE, "not a recognised image format") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(REASON_NOT_IMAGE, str(exc)) from exc
    width, height = img.size
    if width <= 0 or height <= 0:
        raise ImageRejected(REASON_NOT_IMAGE, f"invalid size {width}x{height}")
    if width * height > max_pixels:
        raise ImageRejected(
            REASON_TOO_MANY_PIXELS, f"{width}x{height} exceeds the limit of {max_pixels} pixels"
        )
    return img


def _exif_taken_at(img: Image.Image) -> tuple[datetime | None, tuple[str, ...]]:
    try:
        exif = img.getexif()
        raw = exif.get_ifd(EXIF_IFD_POINTER).get(EXIF_DATETIME_ORIGINAL)
    except Exception as exc:  # malformed EXIF blocks raise anything from struct to KeyError
        return None, (f"exif_unreadable: {type(exc).__name__}",)
    if raw is None:
        return None, ()
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    text = text.strip().rstrip("\x00")
    for fmt, length in _EXIF_DATETIME_FORMATS:
        try:
            taken = datetime.strptime(text[:length], fmt)
        except ValueError:
            continue
        if 1900 <= taken.year <= 2200:
            return taken, ()
    return None, (f"exif_datetime_invalid: {text[:32]!r}",)


def read_header(data: bytes, max_pixels: int = MAX_PIXELS) -> ImageHeader:
    """Identify the image and its capture time without decoding pixels (cheap, for scanning).

    Width and height are reported upright (after the EXIF orientation), as a user sees them.
    """
    img = _open(data, max_pixels)
    taken_at, notes = _exif_taken_at(img)
    width, height = img.size
    try:
        orientation = int(img.getexif().get(EXIF_ORIENTATION, 1) or 1)
    except Exception:
        orientation = 1
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageHeader(
        width=width,
        height=height,
        format=img.format or "unknown",
        mode=img.mode,
        taken_at=taken_at,
        notes=notes,
    )


def _upright(img: Image.Image) -> tuple[Image.Image, tuple[str, ...]]:
    try:
        orientation = int(img.getexif().get(EXIF_ORIENTATION, 1) or 1)
    except Exception:
        return img, ("exif_orientation_unreadable",)
    if orientation == 1:
        return img, ()
    if orientation not in range(2, 9):
        return img, (f"exif_orientation_invalid: {orientation}",)
    try:
        return ImageOps.exif_transpose(img), (f"exif_rotated: {orientation}",)
    except Exception as exc:
        return img, (f"exif_orientation_failed: {type(exc).__name__}",)


def _to_rgb8(img: Image.Image) -> tuple[np.ndarray, tuple[str, ...]]:
    mode = img.mode
    if mode == "RGB":
        return np.asarray(img), ()
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit or 32-bit single channel: scale the used range to 8 bits, keep contrast.
        arr = np.asarray(img, dtype=np.float64)
        hi = float(arr.max()) if arr.size else 0.0
        scale = 255.0 / (65535.0 if hi > 255 and mode != "F" else max(hi, 1.0))
        gray = np.clip(arr * scale, 0, 255).astype(np.uint8)
        return np.stack([gray] * 3, axis=-1), (f"converted_from: {mode}",)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        # Flatten on mid-grey: transparent pixels often hold black RGB, which can hide faces.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
        flat = Image.alpha_composite(background, rgba).convert("RGB")
        return np.asarray(flat), (f"alpha_flattened: {mode}",)
    if mode in ("L", "1", "P", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        return np.asarray(img.convert("RGB")), (f"converted_from: {mode}",)
    raise ImageRejected(REASON_UNSUPPORTED_MODE, f"PIL mode {mode!r}")


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> DecodedImage:
    """Decode fully into upright BGR pixels, or raise ImageRejected with a stable reason.

    Full decoding is the only way to notice truncation, so this is done once, right before
    detection, and never during the cheap library scan.
    """
    img = _open(data, max_pixels)
    try:
        img.load()
    except Image.DecompressionBombError as exc:
        raise ImageRejected(REASON_TOO_MANY_PIXELS, str(exc)) from exc
    except OSError as exc:
        message = str(exc)
        if "truncated" in message or "broken data stream" in message or "EOF" in message:
            raise ImageRejected(REASON_TRUNCATED, message) from exc
        raise ImageRejected(REASON_NOT_IMAGE, message) from exc
    except (SyntaxError, ValueError) as exc:
        raise ImageRejected(REASON_NOT_IMAGE, str(exc)) from exc
    upright, notes = _upright(img)
    rgb, convert_notes = _to_rgb8(upright)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    return DecodedImage(bgr=bgr, notes=notes + convert_notes)
