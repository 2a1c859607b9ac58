"""Every kind of bad input gets a stable reason; odd-but-valid images decode upright."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from face_assets.sample_library import exif_bytes
from face_assets.vision import decode
from face_assets.vision.decode import ImageRejected, decode_image, read_header


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _jpeg(img: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **kwargs)
    return buf.getvalue()


def _gradient(width=64, height=48) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    return Image.fromarray(np.stack([x, x[::-1], np.full_like(x, 90)], axis=-1), "RGB")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", decode.REASON_EMPTY),
        (b"this is a text file, not a photo\n" * 10, decode.REASON_NOT_IMAGE),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, decode.REASON_NOT_IMAGE),
    ],
    ids=["zero-byte", "text-named-jpg", "jpeg-magic-then-garbage"],
)
def test_rejects_non_images_with_reason(data, reason):
    with pytest.raises(ImageRejected) as exc:
        decode_image(data)
    assert exc.value.reason == reason


def test_truncated_jpeg_is_rejected_as_truncated():
    data = _jpeg(_gradient(400, 300))
    with pytest.raises(ImageRejected) as exc:
        decode_image(data[: len(data) // 2])
    assert exc.value.reason == decode.REASON_TRUNCATED
    # The header alone is intact, so the cheap scan still accepts it; decoding catches it.
    assert read_header(data[: len(data) // 2]).width == 400


def test_pixel_limit_rejects_before_decoding():
    data = _png(Image.new("L", (2000, 2000)))
    with pytest.raises(ImageRejected) as exc:
        read_header(data, max_pixels=1_000_000)
    assert exc.value.reason == decode.REASON_TOO_MANY_PIXELS
    assert "2000x2000" in str(exc.value)


def test_decompression_bomb_header_is_rejected():
    # A real PNG whose header claims 30000 x 30000 pixels (900 MP) in a few hundred bytes.
    data = _png(Image.new("1", (30000, 30000)))
    assert len(data) < 200_000
    with pytest.raises(ImageRejected) as exc:
        decode_image(data)
    assert exc.value.reason == decode.REASON_TOO_MANY_PIXELS


def test_alpha_png_is_flattened_not_black():
    rgba = Image.new("RGBA", (32, 32), (0, 0, 0, 0))  # fully transparent black
    decoded = decode_image(_png(rgba))
    assert decoded.bgr.shape == (32, 32, 3)
    assert decoded.bgr.dtype == np.uint8
    assert int(decoded.bgr.mean()) == 128  # flattened on mid-grey, not left black
    assert any(n.startswith("alpha_flattened") for n in decoded.notes)


@pytest.mark.parametrize("mode", ["L", "CMYK", "P", "LA", "I;16"])
def test_other_modes_decode_to_8bit_bgr(mode):
    base = _gradient()
    if mode == "I;16":
        arr = (np.asarray(base.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
        img = Image.fromarray(arr)
        data = _png(img)
    elif mode == "CMYK":
        data = _jpeg(base.convert("CMYK"))
    else:
        data = _png(base.convert(mode))
    decoded = decode_image(data)
    assert decoded.bgr.ndim == 3 and decoded.bgr.shape[2] == 3
    assert decoded.bgr.dtype == np.uint8
    assert decoded.bgr.std() > 10  # content survived the conversion (not a flat image)


def test_sixteen_bit_keeps_its_range():
    arr = np.tile(np.linspace(0, 65535, 64, dtype=np.uint16), (16, 1))
    decoded = decode_image(_png(Image.fromarray(arr)))
    gray = decoded.bgr[..., 0]
    assert gray.min() == 0 and gray.max() == 255


def test_exif_orientation_is_applied():
    upright = _gradient(80, 40)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # 40 x 80 on disk
    data = _jpeg(stored, exif=exif_bytes(None, orientation=6))
    decoded = decode_image(data)
    assert decoded.bgr.shape[:2] == (40, 80)
    assert "exif_rotated: 6" in decoded.notes
    assert (read_header(data).width, read_header(data).height) == (80, 40)


def test_invalid_exif_orientation_is_noted_not_fatal():
    data = _jpeg(_gradient(), exif=exif_bytes(None, orientation=42))
    decoded = decode_image(data)
    assert decoded.bgr.shape[:2] == (48, 64)
    assert any(n.startswith("exif_orientation_invalid") for n in decoded.notes)


def test_exif_datetime_original_is_read_and_bad_dates_noted():
    from datetime import datetime

    data = _jpeg(_gradient(), exif=exif_bytes(datetime(2019, 7, 4, 9, 30)))
    assert read_header(data).taken_at == datetime(2019, 7, 4, 9, 30)
    exif = Image.Exif()
    exif.get_ifd(decode.EXIF_IFD_POINTER)[decode.EXIF_DATETIME_ORIGINAL] = "0000:00:00 00:00:00"
    header = read_header(_jpeg(_gradient(), exif=exif.tobytes()))
    assert header.taken_at is None
    assert any(n.startswith("exif_datetime_invalid") for n in header.notes)
