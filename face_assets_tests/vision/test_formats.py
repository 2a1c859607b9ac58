"""Phone and camera formats through the one safe decoder: HEIC, AVIF, DNG (RAW), reduced sizes.

Real files made here from a faces_real photo: HEIC by pillow-heif (x265), AVIF by Pillow,
DNGs written by tifffile (a 16-bit CFA mosaic, with and without an embedded preview) and
decoded by LibRaw through rawpy.
"""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
import pytest
import tifffile
from PIL import Image

from face_assets.library import IMAGE_EXTENSIONS, live_photo_videos
from face_assets.vision import decode
from face_assets.vision.decode import ImageRejected, decode_image, read_header, sniff_family
from face_assets_tests.conftest import FACES_REAL

PHOTO = FACES_REAL / "alex_lacamoire" / "1.jpg"  # 874 x 1200, one face


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    if not PHOTO.exists():
        pytest.fail(f"the shared test data is missing: {PHOTO}")
    return Image.open(PHOTO).convert("RGB")


def _exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[decode.EXIF_ORIENTATION] = orientation
    exif[decode.EXIF_IFD_POINTER] = {decode.EXIF_DATETIME_ORIGINAL: "2021:06:05 14:03:00"}
    return exif.tobytes()


def _encoded(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


@pytest.fixture(scope="module")
def heic(photo) -> bytes:
    return _encoded(photo, "HEIF", quality=80, exif=_exif(), enc_params={"preset": "ultrafast"})


def _dng(photo: Image.Image, preview: bool) -> bytes:
    """A 16-bit RGGB mosaic in a DNG; with `preview`, an 8-bit RGB preview in IFD0."""
    rgb = np.asarray(photo, dtype=np.float32) / 255.0
    h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    linear = (rgb[:h, :w] ** 2.2 * 65535).astype(np.uint16)
    cfa = np.empty((h, w), np.uint16)
    cfa[0::2, 0::2] = linear[0::2, 0::2, 0]
    cfa[0::2, 1::2] = linear[0::2, 1::2, 1]
    cfa[1::2, 0::2] = linear[1::2, 0::2, 1]
    cfa[1::2, 1::2] = linear[1::2, 1::2, 2]
    dng_tags = [(50706, "B", 4, (1, 4, 0, 0), True), (50708, "s", 0, "Test Camera", True)]
    raw_tags = [
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern RGGB
        (50721, "f", 9, (1, 0, 0, 0, 1, 0, 0, 0, 1), True),  # ColorMatrix1
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1 D65
        (50717, "I", 1, 65535, True),  # WhiteLevel
    ]
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tiff:
        if preview:
            small = np.asarray(photo.resize((w // 2, h // 2)))
            tiff.write(small, photometric="rgb", subfiletype=1, subifds=1, extratags=dng_tags)
            tiff.write(cfa, photometric=32803, subfiletype=0, extratags=raw_tags)
        else:
            tiff.write(cfa, photometric=32803, subfiletype=0, extratags=dng_tags + raw_tags)
    return buf.getvalue()


def _similar(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two images' grey levels (resized to the smaller): 1.0 = same picture."""
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    ga = np.asarray(Image.fromarray(a.mean(axis=2).astype(np.uint8)).resize((w, h)), np.float64)
    gb = np.asarray(Image.fromarray(b.mean(axis=2).astype(np.uint8)).resize((w, h)), np.float64)
    return float(np.corrcoef(ga.ravel(), gb.ravel())[0, 1])


def _assert_upright_with_date(data: bytes, name: str, family: str, photo, min_similar: float):
    """The file sniffs as `family`, its header has the photo's size and EXIF date, and it
    decodes to the photo, upright (correlation above min_similar: lossy codecs differ)."""
    assert sniff_family(data) == family
    header = read_header(data, name=name)
    assert (header.width, header.height) == photo.size
    assert header.taken_at == datetime(2021, 6, 5, 14, 3)
    decoded = decode_image(data, name=name)
    assert decoded.bgr.shape == (photo.height, photo.width, 3)
    assert _similar(decoded.bgr[..., ::-1], np.asarray(photo)) > min_similar


def test_new_extensions_are_scanned():
    for ext in (".heic", ".heif", ".avif", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf"):
        assert ext in IMAGE_EXTENSIONS


def test_heic_decodes_upright_with_its_date(photo, heic):
    _assert_upright_with_date(heic, "IMG_0001.HEIC", decode.FAMILY_HEIF, photo, 0.98)


def test_heic_rotation_is_applied_once(photo):
    # A HEIC whose EXIF says "rotate 90 CW": libheif applies the transform, we must not again.
    data = _encoded(photo, "HEIF", quality=70, exif=_exif(6), enc_params={"preset": "ultrafast"})
    header = read_header(data, name="r.heic")
    decoded = decode_image(data, name="r.heic")
    assert decoded.bgr.shape[1::-1] == (header.width, header.height)


def test_truncated_heic_is_rejected_as_truncated(heic):
    with pytest.raises(ImageRejected) as exc:
        decode_image(heic[: len(heic) // 2], name="cut.heic")
    assert exc.value.reason == decode.REASON_TRUNCATED


def test_avif_decodes_upright_with_its_date(photo):
    turned = photo.transpose(Image.Transpose.ROTATE_90)  # stored sideways, EXIF says turn back
    data = _encoded(turned, "AVIF", quality=70, exif=_exif(6))
    _assert_upright_with_date(data, "a.avif", decode.FAMILY_AVIF, photo, 0.95)


def test_dng_16_bit_without_preview_is_demosaiced(photo):
    data = _dng(photo, preview=False)
    header = read_header(data, name="DSC_0001.DNG")
    assert header.format == decode.FAMILY_RAW
    assert (header.width, header.height) == (photo.width // 2 * 2, photo.height // 2 * 2)
    decoded = decode_image(data, name="DSC_0001.DNG", min_side=400)
    assert "raw_half_size" in decoded.notes  # no preview: half-size demosaic is enough
    assert decoded.full_size == (header.width, header.height)
    assert decoded.scale == pytest.approx((2.0, 2.0))
    assert _similar(decoded.bgr[..., ::-1], np.asarray(photo)) > 0.9
    full = decode_image(data, name="DSC_0001.DNG")
    assert "raw_demosaic" in full.notes and full.bgr.shape[:2] == (header.height, header.width)


def test_dng_with_preview_uses_the_preview_when_large_enough(photo):
    data = _dng(photo, preview=True)
    decoded = decode_image(data, name="x.dng", min_side=500)
    assert "raw_preview" in decoded.notes and max(decoded.bgr.shape[:2]) == 600
    assert decoded.scale == pytest.approx((2.0, 2.0))
    # Asked for more than the preview holds: demosaic instead.
    larger = decode_image(data, name="x.dng", min_side=1000)
    assert "raw_preview" not in larger.notes


def test_raw_pixel_limit_applies_before_unpacking(photo):
    with pytest.raises(ImageRejected) as exc:
        read_header(_dng(photo, preview=False), max_pixels=100_000, name="big.dng")
    assert exc.value.reason == decode.REASON_TOO_MANY_PIXELS


def test_truncated_and_fake_raw_are_rejected(photo):
    data = _dng(photo, preview=False)
    with pytest.raises(ImageRejected) as exc:
        decode_image(data[: len(data) // 3], name="cut.dng")
    assert exc.value.reason in (decode.REASON_TRUNCATED, decode.REASON_RAW_UNREADABLE)
    with pytest.raises(ImageRejected) as exc:
        decode_image(b"II*\x00" + bytes(200), name="fake.nef")
    assert exc.value.reason == decode.REASON_NOT_IMAGE


def test_a_file_that_claims_another_format(photo, heic):
    # A HEIC saved as .jpg (phone exports do this): decoded by content, the lie noted.
    decoded = decode_image(heic, name="IMG_0002.jpg")
    assert "format_mismatch: .jpg holds HEIF" in decoded.notes
    # A video renamed .heic: refused with a reason, not fed to a decoder.
    video = b"\x00\x00\x00\x18ftypqt  \x00\x00\x02\x00qt  " + bytes(64)
    with pytest.raises(ImageRejected) as exc:
        decode_image(video, name="clip.heic")
    assert exc.value.reason == decode.REASON_NOT_IMAGE and "video" in exc.value.detail


def test_jpeg_draft_decodes_at_a_reduced_scale_and_maps_back():
    big = Image.fromarray(np.random.default_rng(0).integers(0, 255, (1500, 2000, 3), np.uint8))
    data = _encoded(big, "JPEG", quality=90, exif=_exif(6))
    decoded = decode_image(data, name="big.jpg", min_side=480)
    # 2000 x 1500 stored, rotated upright to 1500 x 2000; 1/4 DCT scale is >= 480 px.
    assert decoded.full_size == (1500, 2000)
    assert decoded.bgr.shape[:2] == (500, 375)
    assert decoded.scale == pytest.approx((4.0, 4.0))
    assert decode_image(data, name="big.jpg").bgr.shape[:2] == (2000, 1500)


def test_live_photo_videos_are_paired_with_their_still():
    names = ["IMG_0001.HEIC", "IMG_0001.MOV", "IMG_0002.JPG", "img_0002.mov", "clip.mov"]
    assert live_photo_videos(names) == {
        "IMG_0001.MOV": "IMG_0001.HEIC",
        "img_0002.mov": "IMG_0002.JPG",
    }
