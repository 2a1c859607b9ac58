"""A family library as it is (issue 19), through the ingest job: an iPhone HEIC and a JPEG
whose sidecar names the face (written by exiftool), imported as a human label on ingest."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime

import pytest
from PIL import Image

from face_assets.vision import decode  # noqa: F401  (registers the HEIF codec with Pillow)
from face_assets_tests.conftest import FACES_REAL
from face_assets_tests.defs.assets.helpers import dated_copy, metadata_of, run_months


def test_heic_and_tagged_jpeg_through_the_ingest_job(store, tmp_path):
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        pytest.fail("exiftool is missing: `make system-deps` installs libimage-exiftool-perl")
    root = tmp_path / "library"
    jpeg = dated_copy(FACES_REAL / "alex_lacamoire" / "1.jpg", root / "a.jpg", datetime(2024, 5, 2))
    heic = root / "IMG_0001.HEIC"
    dated_copy(FACES_REAL / "alex_lacamoire" / "3.jpg", tmp_path / "b.jpg", datetime(2024, 5, 3))
    source = Image.open(tmp_path / "b.jpg")
    source.save(
        heic, "HEIF", quality=80, exif=source.info["exif"], enc_params={"preset": "ultrafast"}
    )
    (root / "IMG_0001.MOV").write_bytes(b"\x00\x00\x00\x14ftypqt  ")  # the Live Photo's video
    # A digiKam-style sidecar naming the face: a region at the face's usual place is not
    # known before detection, so run once, then tag the detected box, then run again.
    first = run_months(store, root, ["2024-05"])[0]
    assert metadata_of(first, "detected_faces")["images_processed"] == 2  # MOV not a photo
    assert metadata_of(first, "imported_face_tags")["regions_read"] == 0
    with store.transaction() as conn:
        width, height, (x1, y1, x2, y2) = conn.execute(
            "SELECT i.width, i.height, f.bbox FROM faces f JOIN images i ON i.id = f.image_id"
            " WHERE i.rel_path = 'a.jpg'"
        ).fetchone()
        heic_row = conn.execute(
            "SELECT format, time_source, taken_at FROM images WHERE rel_path = 'IMG_0001.HEIC'"
        ).fetchone()
    assert heic_row == ("HEIF", "exif", datetime(2024, 5, 3))
    area = (
        f"X={(x1 + x2) / 2 / width:.4f},Y={(y1 + y2) / 2 / height:.4f},"
        f"W={(x2 - x1) / width:.4f},H={(y2 - y1) / height:.4f}"
    )
    subprocess.run(
        [exiftool, "-q", "-o", f"{jpeg}.xmp",
         f"-RegionInfo={{RegionList=[{{Area={{{area},Unit=normalized}},Name=Alex,Type=Face}}]}}",
         str(jpeg)],
        check=True,
    )  # fmt: skip
    second = run_months(store, root, ["2024-05"])[0]
    meta = metadata_of(second, "imported_face_tags")
    assert (meta["regions_read"], meta["matched"], meta["created"]) == (1, 1, 0)
    with store.transaction() as conn:
        label = conn.execute(
            "SELECT p.name, f.assignment_method FROM faces f JOIN persons p ON p.id = f.person_id"
        ).fetchall()
        prototypes = conn.execute("SELECT count(*) FROM person_prototypes").fetchone()[0]
    assert label == [("Alex", "human")] and prototypes > 0
