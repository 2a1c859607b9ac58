"""Safe image decoding: every photo becomes an upright 8-bit BGR array or a named reason.

A photo library is full of files that are not what their names say. Each failure mode maps to
one stable reason string so that runs can count them, users can find them, and nothing else in
the pipeline ever has to guess why an image has no faces.

Every format goes through here: JPEG, PNG, WebP, TIFF, GIF (first frame), BMP, HEIC/HEIF
(pillow-heif), AVIF (Pillow), and camera RAW, which this module hands to raw_decode.py
(rawpy/LibRaw: the embedded preview when it is large enough, else a demosaic). This module
holds the format dispatch, the Pillow path, headers, and the types and reasons both paths
share. The content decides the decoder, never the file name; a name that claims another
format is noted. Decoding can stop at the smallest size a caller needs (`min_side`): JPEG's
DCT scaling, a RAW's preview or half-size demosaic, so that a 12 MP phone photo costs what a
preview costs when the detector only looks at 640 px.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from face_assets.errors import Rejected

try:  # HEIC/HEIF: registers Pillow's opener (BSD-3 binding; wheels bundle LGPL/GPL codecs)
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - declared dependency; HEIC is then "not_an_image"
    pillow_heif = None

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
REASON_RAW_UNREADABLE = "raw_unreadable"  # a RAW container LibRaw cannot decode

# Families of content, told by magic bytes (what the file is) and by extension (what it claims).
FAMILY_JPEG, FAMILY_PNG, FAMILY_GIF, FAMILY_WEBP, FAMILY_BMP = "JPEG", "PNG", "GIF", "WEBP", "BMP"
FAMILY_TIFF, FAMILY_HEIF, FAMILY_AVIF, FAMILY_RAW = "TIFF", "HEIF", "AVIF", "RAW"
# Camera RAW extensions (LibRaw reads them all; several are TIFF containers, told by name).
RAW_EXTENSIONS = frozenset({".cr2", ".cr3", ".nef", ".arw", ".dng", ".orf", ".rw2", ".raf"})
EXTENSION_FAMILIES = {
    **{ext: FAMILY_JPEG for ext in (".jpg", ".jpeg", ".jpe")},
    ".png": FAMILY_PNG,
    ".gif": FAMILY_GIF,
    ".webp": FAMILY_WEBP,
    ".bmp": FAMILY_BMP,
    ".tif": FAMILY_TIFF,
    ".tiff": FAMILY_TIFF,
    **{ext: FAMILY_HEIF for ext in (".heic", ".heif", ".hif")},
    ".avif": FAMILY_AVIF,
    **{ext: FAMILY_RAW for ext in RAW_EXTENSIONS},
}
# ISO-BMFF major/compatible brands (ISO/IEC 23008-12, AV1 image file format, Canon CR3).
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_CR3_BRANDS = frozenset({b"crx "})
_VIDEO_BRANDS = frozenset({b"qt  ", b"isom", b"iso2", b"mp41", b"mp42", b"M4V ", b"3gp4", b"avc1"})


# Cameras write "YYYY:MM:DD HH:MM:SS"; some tools write dashes or drop the seconds.
_EXIF_DATETIME_FORMATS = (
    ("%Y:%m:%d %H:%M:%S", 19),
    ("%Y-%m-%d %H:%M:%S", 19),
    ("%Y:%m:%d %H:%M", 16),
    ("%Y:%m:%d", 10),
)


class ImageRejected(Rejected):
    """An image we refuse, with a stable reason code; the message carries the human detail."""


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
    # Full-size upright width and height (what read_header reports and boxes are stored in);
    # the pixels may be smaller when decoding stopped early (min_side).
    full_size: tuple[int, int] = (0, 0)

    @property
    def scale(self) -> tuple[float, float]:
        """Factors from these pixels to full-size coordinates (x, y): 1.0 when decoded whole."""
        height, width = self.bgr.shape[:2]
        full_w, full_h = self.full_size if self.full_size[0] else (width, height)
        return full_w / width, full_h / height


def sniff_family(data: bytes) -> str | None:
    """What the bytes are, from their magic numbers (None: no image format we decode)."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return FAMILY_JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FAMILY_PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return FAMILY_GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FAMILY_WEBP
    if head[:2] == b"BM":
        return FAMILY_BMP
    if head[:4] in (b"IIRO", b"IIRS", b"IIU\x00") or head.startswith(b"FUJIFILMCCD-RAW"):
        return FAMILY_RAW  # Olympus ORF, Panasonic RW2, Fujifilm RAF
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return FAMILY_TIFF  # TIFF, or a TIFF-based RAW (DNG, CR2, NEF, ARW): the name decides
    if head[4:8] == b"ftyp":
        size = int.from_bytes(head[:4], "big")
        brands = {data[8:12]} | {
            data[i : i + 4] for i in range(16, min(max(size, 16), 64), 4) if i + 4 <= len(data)
        }
        if brands & _AVIF_BRANDS:
            return FAMILY_AVIF
        if brands & _HEIF_BRANDS:
            return FAMILY_HEIF
        if brands & _CR3_BRANDS:
            return FAMILY_RAW
    return None


def _family(data: bytes, name: str) -> tuple[str | None, tuple[str, ...]]:
    """The decoder to use (from the content) and a note when the name claims another format."""
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    claimed = EXTENSION_FAMILIES.get(ext)
    found = sniff_family(data)
    if found == FAMILY_TIFF and claimed == FAMILY_RAW:
        found = FAMILY_RAW
    if found is None:
        if data[4:8] == b"ftyp" and data[8:12] in _VIDEO_BRANDS:
            raise ImageRejected(
                REASON_NOT_IMAGE, f"a video (ISO media brand {data[8:12]!r}) named {ext or name}"
            )
        return None, ()
    if claimed is not None and claimed != found:
        return found, (f"format_mismatch: {ext} holds {found}",)
    return found, ()


def _target_size(size: tuple[int, int], min_side: int | None) -> tuple[int, int] | None:
    """The smallest size (same aspect) whose longer side is at least min_side; None = full."""
    width, height = size
    longest = max(width, height)
    if not min_side or min_side >= longest:
        return None
    return math.ceil(width * min_side / longest), math.ceil(height * min_side / longest)


def opened_image(data: bytes, max_pixels: int) -> Image.Image:
    """The Pillow image of these bytes, its header read (pixels not yet): a named rejection
    for empty, oversized or unreadable data (the RAW path opens its JPEG preview here too)."""
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
        if pillow_heif is not None and sniff_family(data) == FAMILY_HEIF:
            # Pillow hides libheif's reason (a cut file says "Unexpected end of file").
            try:
                pillow_heif.open_heif(io.BytesIO(data))
            except (ValueError, RuntimeError, OSError) as heif_exc:
                message = str(heif_exc).strip()
                raise ImageRejected(_open_failure(message), message) from exc
        raise ImageRejected(REASON_NOT_IMAGE, "not a recognised image format") from exc
    except (OSError, SyntaxError, ValueError, RuntimeError) as exc:
        raise ImageRejected(_open_failure(str(exc)), str(exc).strip()) from exc
    width, height = img.size
    if width <= 0 or height <= 0:
        raise ImageRejected(REASON_NOT_IMAGE, f"invalid size {width}x{height}")
    if width * height > max_pixels:
        raise ImageRejected(
            REASON_TOO_MANY_PIXELS, f"{width}x{height} exceeds the limit of {max_pixels} pixels"
        )
    return img


def _open_failure(message: str) -> str:
    """libheif says "Unexpected end of file" for a cut HEIC; Pillow says "truncated"."""
    lowered = message.lower()
    if "truncated" in lowered or "unexpected end of file" in lowered:
        return REASON_TRUNCATED
    return REASON_NOT_IMAGE


def exif_taken_at(img: Image.Image) -> tuple[datetime | None, tuple[str, ...]]:
    """The EXIF capture time (DateTimeOriginal), with a note when unreadable or invalid; None
    when there is none (a RAW's own EXIF or its preview's is read the same way)."""
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


def read_header(data: bytes, max_pixels: int = MAX_PIXELS, name: str = "") -> ImageHeader:
    """Identify the image and its capture time without decoding pixels (cheap, for scanning).

    Width and height are reported upright (after the EXIF orientation), as a user sees them.
    `name` (the file name) only serves to tell a TIFF-based RAW from a TIFF and to note a
    name that claims another format; the content decides.
    """
    if len(data) == 0:
        raise ImageRejected(REASON_EMPTY, "zero-byte file")
    family, mismatch = _family(data, name)
    if family == FAMILY_RAW:
        # Imported here, not at the top: raw_decode builds on this module's types and Pillow
        # helpers, so a top-level import either way would be a cycle.
        from face_assets.vision.raw_decode import read_raw_header

        header = read_raw_header(data, max_pixels)
        return replace(header, notes=mismatch + header.notes)
    img = opened_image(data, max_pixels)
    taken_at, notes = exif_taken_at(img)
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
        notes=mismatch + notes,
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


def rgb8_pixels(img: Image.Image) -> tuple[np.ndarray, tuple[str, ...]]:
    """8-bit RGB pixels of any Pillow mode (16-bit, palette, alpha, CMYK...), with a note
    for each conversion made."""
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


def _load(img: Image.Image) -> None:
    try:
        img.load()
    except Image.DecompressionBombError as exc:
        raise ImageRejected(REASON_TOO_MANY_PIXELS, str(exc)) from exc
    except OSError as exc:
        message = str(exc)
        if "truncated" in message or "broken data stream" in message or "EOF" in message:
            raise ImageRejected(REASON_TRUNCATED, message) from exc
        raise ImageRejected(_open_failure(message), message) from exc
    except (SyntaxError, ValueError, RuntimeError) as exc:
        raise ImageRejected(_open_failure(str(exc)), str(exc)) from exc


def _bgr(img: Image.Image, notes: tuple[str, ...], full_size: tuple[int, int]) -> DecodedImage:
    upright, orient_notes = _upright(img)
    rgb, convert_notes = rgb8_pixels(upright)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    return DecodedImage(bgr=bgr, notes=notes + orient_notes + convert_notes, full_size=full_size)


def decode_image(
    data: bytes, max_pixels: int = MAX_PIXELS, name: str = "", min_side: int | None = None
) -> DecodedImage:
    """Decode into upright BGR pixels, or raise ImageRejected with a stable reason.

    With `min_side`, decoding may stop at a smaller size whose longer side is still at least
    min_side (JPEG DCT scaling, a RAW's preview or half-size demosaic; HEIF thumbnails when
    large enough); `full_size` and `scale` say how to map back. Without it, full size.
    Full decoding is the only way to notice truncation, so this is done once, right before
    detection, and never during the cheap library scan.
    """
    if len(data) == 0:
        raise ImageRejected(REASON_EMPTY, "zero-byte file")
    family, mismatch = _family(data, name)
    if family == FAMILY_RAW:
        from face_assets.vision.raw_decode import decode_raw  # not at the top: see read_header

        decoded = decode_raw(data, max_pixels, min_side)
        return DecodedImage(decoded.bgr, mismatch + decoded.notes, decoded.full_size)
    img = opened_image(data, max_pixels)
    try:
        orientation = int(img.getexif().get(EXIF_ORIENTATION, 1) or 1)
    except Exception:
        orientation = 1
    width, height = img.size
    full = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    target = _target_size(img.size, min_side)
    if target is not None and img.format in ("JPEG", "HEIF"):
        img.draft("RGB", target)  # DCT scaling (1/2, 1/4, 1/8) or a large-enough thumbnail
    _load(img)
    return _bgr(img, mismatch, full)
