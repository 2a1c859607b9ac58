"""The library walk and confined reads: nothing outside the root is ever read."""

from __future__ import annotations

import os
from datetime import datetime

import pytest

from face_assets import library
from face_assets.vision import decode


def _touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _refusal(root, rel_path, **limits) -> str:
    """The reason library.read_library_file gives for refusing to read this path."""
    with pytest.raises(decode.ImageRejected) as exc:
        library.read_library_file(root, rel_path, **limits)
    return exc.value.reason


def test_walk_lists_photos_only_in_stable_order(tmp_path):
    _touch(tmp_path / "b" / "2.JPG")
    _touch(tmp_path / "a.png")
    _touch(tmp_path / "notes.txt")
    _touch(tmp_path / "clip.mp4")
    _touch(tmp_path / ".thumbnails" / "x.jpg")
    _touch(tmp_path / ".hidden.jpg")
    assert [e.rel_path for e in library.list_library(tmp_path)] == ["a.png", "b/2.JPG"]


def test_symlink_escape_is_reported_not_followed(tmp_path):
    root = tmp_path / "lib"
    secret = _touch(tmp_path / "outside" / "secret.jpg", b"not yours")
    root.mkdir()
    os.symlink(secret, root / "link.jpg")
    os.symlink(tmp_path / "outside", root / "outdir.jpg")  # a directory link named like a photo
    entries = {e.rel_path: e for e in library.list_library(root)}
    assert entries["link.jpg"].problem == decode.REASON_OUTSIDE_LIBRARY
    assert entries["outdir.jpg"].problem == decode.REASON_OUTSIDE_LIBRARY
    assert _refusal(root, "link.jpg") == decode.REASON_OUTSIDE_LIBRARY


@pytest.mark.parametrize("rel_path", ["../outside/secret.jpg", "/etc/passwd", "a/../../x.jpg", ""])
def test_dotdot_and_absolute_paths_are_refused(tmp_path, rel_path):
    root = tmp_path / "lib"
    root.mkdir()
    _touch(tmp_path / "outside" / "secret.jpg")
    assert _refusal(root, rel_path) == decode.REASON_OUTSIDE_LIBRARY


def test_internal_symlink_is_fine(tmp_path):
    real = _touch(tmp_path / "a" / "real.jpg", b"abc")
    os.symlink(real, tmp_path / "alias.jpg")
    entry = {e.rel_path: e for e in library.list_library(tmp_path)}["alias.jpg"]
    assert entry.problem is None
    assert library.read_library_file(tmp_path, "alias.jpg") == b"abc"


def test_fifo_broken_link_empty_and_huge_files(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")  # reading it would block forever
    os.symlink(tmp_path / "gone.jpg", tmp_path / "dangling.jpg")
    _touch(tmp_path / "empty.jpg", b"")
    _touch(tmp_path / "big.jpg", b"\0" * 2048)
    entries = {e.rel_path: e for e in library.list_library(tmp_path)}
    assert entries["pipe.jpg"].problem == decode.REASON_NOT_REGULAR
    assert entries["dangling.jpg"].problem == decode.REASON_UNREADABLE
    assert _refusal(tmp_path, "empty.jpg") == decode.REASON_EMPTY
    assert _refusal(tmp_path, "big.jpg", max_bytes=1024) == decode.REASON_TOO_LARGE


def test_scan_reuses_cache_for_unchanged_files(tmp_path, monkeypatch):
    from PIL import Image

    from face_assets.sample_library import exif_bytes

    def _month(moment):
        return library.month_of(moment, "2000-01")

    Image.new("RGB", (8, 8)).save(tmp_path / "p.jpg", exif=exif_bytes(datetime(2021, 3, 2)))
    first = list(library.scan_library(tmp_path, {}, _month))
    assert first[0].file.month == "2021-03" and first[0].image.time_source == "exif"
    reads = []
    monkeypatch.setattr(library, "read_library_file", lambda *a, **k: reads.append(a) or b"")
    cache = {f.file.rel_path: f.file for f in first}
    again = list(library.scan_library(tmp_path, cache, _month, wanted_months={"2020-01"}))
    assert reads == [] and again[0].image is None and again[0].file.sha256 == first[0].file.sha256
    os.utime(tmp_path / "p.jpg", (0, 1_000_000_000))  # touched: must be read again
    list(library.scan_library(tmp_path, cache, _month, wanted_months={"2020-01"}))
    assert len(reads) == 1


def test_month_of_clamps_to_the_partitions_that_exist():
    """One rule for a photo's month: before the first month -> the first, after the last
    (a wrong camera clock) -> the last."""
    assert library.month_of(datetime(2021, 3, 2), "2000-01", "2030-12") == "2021-03"
    assert library.month_of(datetime(1995, 7, 1), "2000-01", "2030-12") == "2000-01"
    assert library.month_of(datetime(2099, 1, 1), "2000-01", "2030-12") == "2030-12"
