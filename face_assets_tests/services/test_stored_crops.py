"""The stored-crop loop embed_faces and score_faces share: chunks, missing crops, progress."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from face_assets import media
from face_assets.services import stored_crops
from face_assets.services.progress import Reporter
from face_assets.vision.faces import encode_crop


def test_crops_by_chunk_leaves_out_and_counts_missing_and_damaged_crops(tmp_path, monkeypatch):
    monkeypatch.setattr(stored_crops, "WRITE_CHUNK_FACES", 2)
    crop = np.full((112, 112, 3), 7, dtype=np.uint8)
    media.write_media(tmp_path, "a.npy", encode_crop(crop))
    media.write_media(tmp_path, "c.npy", encode_crop(crop + 1))
    media.write_media(tmp_path, "damaged.npy", b"not a crop")
    faces = [(1, "a.npy"), (2, "gone.npy"), (3, "damaged.npy"), (4, "c.npy"), (5, "gone2.npy")]
    stats = stored_crops.CropPassStats()
    progress = Reporter("score", "2024-01", len(faces), "faces", None, "face_quality")
    chunks = []
    for found in stored_crops.crops_by_chunk(tmp_path, faces, lambda f: f[1], stats, progress):
        chunks.append(([face for face, _ in found], progress.done))
        for face, pixels in found:
            assert int(pixels[0, 0, 0]) == (7 if face[0] == 1 else 8)
    # each chunk is counted done only after the caller has handled it
    assert chunks == [([(1, "a.npy")], 0), ([(4, "c.npy")], 2), ([], 4)]
    assert stats.missing_crops == 3 and progress.done == 5


class _MediaOnlyStore:
    """Just what the month loop touches: the media folder and a transaction (the faces come
    from the test's `pending`, so no database is needed)."""

    def __init__(self, home: Path) -> None:
        self.media_root = home

    @contextlib.contextmanager
    def transaction(self):
        yield None


def test_months_crops_by_chunk_records_seconds_when_the_caller_stops_early(tmp_path):
    media.write_media(tmp_path, "a.npy", encode_crop(np.zeros((112, 112, 3), dtype=np.uint8)))
    stats = stored_crops.CropPassStats()
    months_read = []

    def pending(conn, month):
        months_read.append(month)
        return [(1, "a.npy")]

    crop_pass = stored_crops.CropPass("score", "face_quality", pending, lambda face: face[1])
    store, months = _MediaOnlyStore(tmp_path), ["2024-02", "2024-01"]
    for found in stored_crops.months_crops_by_chunk(store, months, crop_pass, stats):
        assert [face for face, _ in found] == [(1, "a.npy")]
        break
    # the pass stopped in its first month, and still says how long it ran
    assert months_read == ["2024-01"]
    assert stats.seconds > 0
