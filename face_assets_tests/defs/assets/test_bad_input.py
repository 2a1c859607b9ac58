"""Bad files in a real library: each gets its reason recorded, the good photos are processed."""

from __future__ import annotations

import os
from datetime import datetime

import numpy as np
import pytest
from PIL import Image

from face_assets.vision import decode
from face_assets_tests.defs.assets.helpers import (
    dated_copy,
    jpeg_bytes,
    metadata_of,
    run_months,
    set_mtime,
)

MONTH = "2022-11"
WHEN = datetime(2022, 11, 15, 12, 0)


@pytest.fixture
def messy_library(tmp_path, shared_data):
    real = shared_data / "faces_real"
    root = tmp_path / "library"
    root.mkdir()
    face = Image.open(real / "angelina_jolie/1.jpg").convert("RGB")

    dated_copy(real / "barack_obama/2.jpg", root / "good.jpg", WHEN)
    dated_copy(real / "kit_harington/3.jpg", root / "rotated.jpg", WHEN, orientation=6)
    (root / "alpha.png").write_bytes((real / "alex_lacamoire/2.png").read_bytes())  # real RGBA
    face.convert("L").save(root / "gray.jpg", quality=92)
    face.convert("CMYK").save(root / "cmyk.jpg", quality=92)
    gray16 = (np.asarray(face.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    Image.fromarray(gray16).save(root / "gray16.png")
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.jpg").write_text("not a photo at all\n" * 20)
    whole = jpeg_bytes(face)
    (root / "truncated.jpg").write_bytes(whole[: len(whole) // 3])
    Image.new("1", (30000, 30000)).save(root / "bomb.png")  # 900 MP claimed in a small file
    os.mkfifo(root / "pipe.jpg")
    os.symlink(root / "missing.jpg", root / "dangling.jpg")
    outside = tmp_path / "private.jpg"
    dated_copy(real / "john_lennon/1.jpg", outside, WHEN)
    os.symlink(outside, root / "escape.jpg")
    for path in root.iterdir():
        set_mtime(path, WHEN)
    return root


def test_bad_inputs_are_recorded_and_good_ones_processed(store, messy_library):
    (result,) = run_months(store, messy_library, [MONTH])
    with store.transaction() as conn:
        images = dict(conn.execute("SELECT rel_path, status FROM images").fetchall())
        files = dict(conn.execute("SELECT rel_path, status FROM library_files").fetchall())
        faces = dict(
            conn.execute(
                "SELECT i.rel_path, count(f.id) FROM images i LEFT JOIN faces f"
                " ON f.image_id = i.id GROUP BY i.rel_path"
            ).fetchall()
        )
        embedded = conn.execute(
            "SELECT count(*) FROM faces f LEFT JOIN face_embeddings e ON e.face_id = f.id"
            " WHERE e.face_id IS NULL"
        ).fetchone()[0]
        notes = dict(conn.execute("SELECT rel_path, notes FROM images").fetchall())

    assert files["empty.jpg"] == decode.REASON_EMPTY  # refused before any content exists
    assert images["text.jpg"] == decode.REASON_NOT_IMAGE
    assert images["truncated.jpg"] == decode.REASON_TRUNCATED  # found by the full decode
    assert files["truncated.jpg"] == decode.REASON_TRUNCATED  # the file row agrees (issue 11)
    assert images["bomb.png"] == decode.REASON_TOO_MANY_PIXELS
    assert files["pipe.jpg"] == decode.REASON_NOT_REGULAR
    assert files["dangling.jpg"] == decode.REASON_UNREADABLE
    assert files["escape.jpg"] == decode.REASON_OUTSIDE_LIBRARY
    assert "escape.jpg" not in images  # its content was never read

    for good in ("good.jpg", "rotated.jpg", "alpha.png", "gray.jpg", "cmyk.jpg", "gray16.png"):
        assert images[good] == "ok", good
        assert faces[good] == 1, f"{good}: {faces[good]} faces"
    assert embedded == 0
    assert "exif_rotated: 6" in notes["rotated.jpg"]
    assert any(n.startswith("alpha_flattened") for n in notes["alpha.png"])

    raw = metadata_of(result, "raw_images")
    assert raw["images_ok"] == 7  # truncated.jpg passes the header scan; detection rejects it
    assert raw["images_failed"] == 2  # text.jpg, bomb.png
    assert raw["files_refused"] == 4  # empty, fifo, dangling link, escaping link
    detected = metadata_of(result, "detected_faces")
    assert detected["images_failed"] == 1
    assert "truncated" in detected["failures_by_reason"]
    assert detected["images_processed"] == 6
    assert detected["faces"] == 6


def test_rotated_photo_needs_exif_to_be_upright(face_models, messy_library):
    """Control: the stored pixels are sideways; only the EXIF-aware decode is upright."""
    from face_assets.vision.faces import kept_faces

    data = (messy_library / "rotated.jpg").read_bytes()
    upright = decode.decode_image(data).bgr
    sideways = np.ascontiguousarray(
        np.asarray(Image.open(messy_library / "rotated.jpg"))[..., ::-1]
    )
    assert upright.shape[:2] == sideways.shape[1::-1]
    upright_faces = kept_faces(*face_models.detect(upright, threshold=0.5))
    sideways_faces = kept_faces(*face_models.detect(sideways, threshold=0.5))
    assert len(upright_faces) == 1
    best_sideways = max((f.det_score for f in sideways_faces), default=0.0)
    assert upright_faces[0].det_score > best_sideways
