"""Importing the tags people have and exporting ours, on real photos, models and PostgreSQL.

Sidecars are written by exiftool (as digiKam or Lightroom would), read by import_tags; the
sidecars export_tags writes are read back by exiftool; forgetting removes the name from ours.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from face_assets.defs.partitions import partition_of
from face_assets.services import (
    face_detection,
    face_embedding,
    forgetting,
    manual_faces,
    registration,
    tag_export,
    tag_files,
    tag_import,
)
from face_assets.vision import manual
from face_assets_tests.conftest import FACES_REAL

PACK = "buffalo_s"


@pytest.fixture(scope="module")
def exiftool() -> str:
    path = shutil.which("exiftool")
    if path is None:
        pytest.fail("exiftool is missing: `make system-deps` installs libimage-exiftool-perl")
    return path


def _ingest(store, models, root: Path) -> list[str]:
    months = list(registration.scan_months(store, root, partition_of))
    registration.register_months(store, root, months, partition_of)
    face_detection.detect_faces(models, store, root, months)
    face_embedding.embed_faces(models, store, months)
    return months


def _mwg(exiftool: str, photo: Path, regions: list[tuple[str, tuple[float, ...]]]) -> None:
    """A sidecar photo.jpg.xmp with MWG face regions (centre x, y, w, h normalised)."""
    items = ",".join(
        f"{{Area={{X={x:.4f},Y={y:.4f},W={w:.4f},H={h:.4f},Unit=normalized}},Name={n},Type=Face}}"
        for n, (x, y, w, h) in regions
    )
    args = photo.parent / "args.txt"
    args.write_text(f"-RegionInfo={{RegionList=[{items}]}}\n")
    sidecar = Path(f"{photo}.xmp")
    sidecar.unlink(missing_ok=True)
    subprocess.run([exiftool, "-q", "-@", str(args), "-o", str(sidecar), str(photo)], check=True)
    args.unlink()


def _face_rows(store) -> list[tuple]:
    with store.transaction() as conn:
        return conn.execute(
            "SELECT f.id, f.source, f.assignment_method, p.name, e.face_id IS NOT NULL"
            " FROM faces f LEFT JOIN persons p ON p.id = f.person_id"
            " LEFT JOIN face_embeddings e ON e.face_id = f.id ORDER BY f.id"
        ).fetchall()


def _counting_reads(monkeypatch) -> list[str]:
    """The library files import_tags reads (photo heads, sidecars, .picasa.ini), in order."""
    reads: list[str] = []
    head, optional = tag_files.read_head, tag_files.read_optional

    def counted_head(root, rel_path, limit):
        reads.append(rel_path)
        return head(root, rel_path, limit)

    def counted_optional(root, rel_path, limit):
        reads.append(rel_path)
        return optional(root, rel_path, limit)

    monkeypatch.setattr(tag_files, "read_head", counted_head)
    monkeypatch.setattr(tag_files, "read_optional", counted_optional)
    return reads


def test_import_export_and_forget_round_trip(store, face_models, tmp_path, exiftool, monkeypatch):
    root = tmp_path / "library"
    (root / "alex").mkdir(parents=True)
    photo = root / "alex" / "1.jpg"
    shutil.copy(FACES_REAL / "alex_lacamoire" / "1.jpg", photo)
    months = _ingest(store, face_models, root)
    with store.transaction() as conn:
        width, height, (x1, y1, x2, y2) = conn.execute(
            "SELECT i.width, i.height, f.bbox FROM faces f JOIN images i ON i.id = f.image_id"
        ).fetchone()
    # One region on the detected face, one where the detector found nothing.
    face = ((x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height)
    _mwg(exiftool, photo, [("Alex Lacamoire", face), ("Lin Manuel", (0.15, 0.85, 0.12, 0.1))])
    original = photo.read_bytes()

    stats = tag_import.import_tags(face_models, store, root, months)
    assert (stats.regions_read, stats.matched, stats.created) == (2, 1, 1)
    rows = _face_rows(store)
    assert {(r[1], r[2], r[3], r[4]) for r in rows} == {
        ("detected", "human", "Alex Lacamoire", True),
        ("imported", "human", "Lin Manuel", True),  # embedded from its crop at once
    }
    with store.transaction() as conn:
        prototypes = conn.execute("SELECT count(DISTINCT person_id) FROM person_prototypes")
        assert prototypes.fetchone()[0] == 2  # human labels: prototypes at once
        unscored = conn.execute(
            "SELECT count(*) FROM faces WHERE source = 'imported' AND quality IS NULL"
        ).fetchone()[0]
    assert stats.scored >= stats.created and unscored == 0  # scored by the service itself

    # Re-import changes nothing; a re-detection keeps the imported face.
    reads = _counting_reads(monkeypatch)
    again = tag_import.import_tags(face_models, store, root, months)
    assert (again.matched, again.created, again.already_imported) == (0, 0, 2)
    assert _face_rows(store) == rows
    # ... and reads nothing: the photo and its tag files are as the last run read them.
    assert again.skipped_unchanged == 1 and reads == []
    # A touched sidecar (same bytes, new mtime) is read again, and still changes nothing.
    sidecar = Path(f"{photo}.xmp")
    stamp = sidecar.stat()
    os.utime(sidecar, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
    touched = tag_import.import_tags(face_models, store, root, months)
    assert touched.skipped_unchanged == 0 and "alex/1.jpg" in reads
    assert "alex/1.jpg.xmp" in reads
    assert (touched.matched, touched.created, touched.already_imported) == (0, 0, 2)
    assert _face_rows(store) == rows
    reads.clear()
    assert tag_import.import_tags(face_models, store, root, months).skipped_unchanged == 1
    assert reads == []
    face_detection.detect_faces(face_models, store, root, months, redetect=True)
    assert {r[1] for r in _face_rows(store)} == {"detected", "imported"}

    # A tag removed from the file is reported, the label kept.
    _mwg(exiftool, photo, [("Alex Lacamoire", face)])
    removed = tag_import.import_tags(face_models, store, root, months)
    assert removed.removed_in_file == 1
    assert removed.skipped_unchanged == 0
    assert "Lin Manuel" in {r[3] for r in _face_rows(store)}

    # Export: a dry run writes nothing; then MWG regions merged into the existing sidecar.
    before = sidecar.read_bytes()
    dry = tag_export.export_tags(store, root, PACK, dry_run=True)
    assert dry["sidecars_changed"] == 1 and dry["changes"][0]["added"] == ["Lin Manuel"]
    assert sidecar.read_bytes() == before
    done = tag_export.export_tags(store, root, PACK)
    assert done["sidecars_merged"] == 1
    seen = json.loads(
        subprocess.run(
            [exiftool, "-struct", "-j", str(sidecar)], check=True, capture_output=True, text=True
        ).stdout
    )[0]
    assert sorted(r["Name"] for r in seen["RegionInfo"]["RegionList"]) == [
        "Alex Lacamoire",
        "Lin Manuel",
    ]
    assert photo.read_bytes() == original  # never the photo
    assert tag_export.export_tags(store, root, PACK)["sidecars_changed"] == 0

    # A forget that fails, or loses the race to another forget, changes no file: the sidecar
    # is edited only after the forget commits.
    exported = sidecar.read_bytes()
    assert b"Lin Manuel" in exported

    def fail_after_erase(*args, **kwargs):
        raise RuntimeError("forced failure after the erase")

    with monkeypatch.context() as patch:
        patch.setattr(forgetting.event_store, "log_event", fail_after_erase)
        with pytest.raises(RuntimeError, match="forced failure"):
            forgetting.forget_person(store, "Lin Manuel", library_root=root)
    assert sidecar.read_bytes() == exported
    with monkeypatch.context() as patch:  # another forget committed between read and lock
        patch.setattr(forgetting.forget_store, "lock_person_and_aliases", lambda *a: [])
        with pytest.raises(LookupError, match="already forgotten"):
            forgetting.forget_person(store, "Lin Manuel", library_root=root)
    assert sidecar.read_bytes() == exported
    assert "Lin Manuel" in {r[3] for r in _face_rows(store)}  # both rolled back

    # Forgetting a person removes their name from the sidecar we wrote.
    result = forgetting.forget_person(store, "Lin Manuel", library_root=root)
    assert result["sidecars_cleaned"] == ["alex/1.jpg.xmp"]
    assert result["sidecars_not_cleaned"] == {}
    with store.transaction() as conn:  # its record no longer names them
        assert (
            conn.execute(
                "SELECT count(*) FROM written_sidecars WHERE person_ids && %s::bigint[]",
                ([result["person_id"]],),
            ).fetchone()[0]
            == 0
        )
    assert b"Lin Manuel" not in sidecar.read_bytes()
    assert b"Alex Lacamoire" in sidecar.read_bytes()
    # The tag is still in no file of ours, and re-importing does not bring the person back
    # (their face's box is a tombstone).
    _mwg(exiftool, photo, [("Alex Lacamoire", face), ("Lin Manuel", (0.15, 0.85, 0.12, 0.1))])
    back = tag_import.import_tags(face_models, store, root, months)
    assert back.forgotten == 1 and "Lin Manuel" not in {r[3] for r in _face_rows(store)}


def test_picasa_and_hostile_sidecars(store, face_models, tmp_path):
    root = tmp_path / "library"
    (root / "trip").mkdir(parents=True)
    shutil.copy(FACES_REAL / "alex_lacamoire" / "1.jpg", root / "trip" / "a.jpg")
    shutil.copy(FACES_REAL / "alex_lacamoire" / "3.jpg", root / "trip" / "b.jpg")
    months = _ingest(store, face_models, root)
    with store.transaction() as conn:
        width, height, (x1, y1, x2, y2) = conn.execute(
            "SELECT i.width, i.height, f.bbox FROM faces f JOIN images i ON i.id = f.image_id"
            " WHERE i.rel_path = 'trip/a.jpg'"
        ).fetchone()
    rect = "".join(
        f"{round(v * 65535):04x}" for v in (x1 / width, y1 / height, x2 / width, y2 / height)
    )
    (root / "trip" / ".picasa.ini").write_text(
        f"[Contacts2]\nc1=Alex Lacamoire;;\n[a.jpg]\nfaces=rect64({rect}),c1\n"
    )
    (root / "trip" / "b.jpg.xmp").write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&b;</x:xmpmeta>'
    )
    stats = tag_import.import_tags(face_models, store, root, months)
    assert stats.matched == 1 and stats.created == 0
    assert stats.unreadable == {"tags_forbidden_xml": 1}
    assert stats.metadata()["regions_read"] == 1
    # The unreadable sidecar records no scan: the next run reads and reports it again, while
    # the photo whose tags were all imported is skipped.
    again = tag_import.import_tags(face_models, store, root, months)
    assert again.unreadable == {"tags_forbidden_xml": 1}
    assert again.skipped_unchanged == 1 and again.already_imported == 1


class _OneDetection:
    """A detector that finds one face at a fixed place of the crop it is given."""

    def __init__(self, box: tuple[float, ...]) -> None:
        self.box, self.asked = box, []

    def detect(self, bgr, threshold):
        self.asked.append((bgr.shape[:2], threshold))
        landmarks = np.zeros((1, 5, 2), dtype=np.float32) + 1
        return np.array([[*self.box, 0.4]], dtype=np.float32), landmarks


def test_tag_region_face_follows_the_drawn_face_rule():
    """A tag region is refined as a drawn box is (vision.manual): the region with its margin,
    the low threshold, the detection overlapping it most; else the box-only face."""
    bgr = np.zeros((400, 400, 3), dtype=np.uint8)
    region = (100.0, 100.0, 200.0, 200.0)
    near = _OneDetection((55.0, 52.0, 150.0, 148.0))  # crop offset (50, 50): photo 105..200
    face, refined = manual_faces.refined_face(near, bgr, region)
    assert refined
    assert near.asked == [((200, 200), manual.REFINE_MIN_CONFIDENCE)]
    assert face.bbox == (105.0, 102.0, 200.0, 198.0) and face.det_score == pytest.approx(0.4)
    assert np.allclose(face.landmarks, 51.0)
    far = _OneDetection((0.0, 0.0, 20.0, 20.0))  # in the margin, not on the region
    alone, refined = manual_faces.refined_face(far, bgr, region)
    assert not refined
    expected = manual.box_only_face(region)
    assert alone.bbox == region and alone.det_score == manual.DRAWN_SCORE
    assert np.allclose(alone.landmarks, expected.landmarks)
