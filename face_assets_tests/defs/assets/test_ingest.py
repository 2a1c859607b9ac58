"""Two months of real photos through the real asset graph and a real PostgreSQL + pgvector."""

from __future__ import annotations

import shutil
from datetime import datetime

import numpy as np
import pytest

from face_assets.defs.resources import NOT_LOADED, FaceModelsResource
from face_assets.store.faces import vector_array
from face_assets_tests.defs.assets.helpers import (
    checks_of,
    dated_library,
    metadata_of,
    run_months,
    store_resource,
)

MAY, JUNE = "2023-05", "2023-06"
FACES_WITH_EMBEDDINGS = (
    "SELECT f.id, e.embedding::text, f.quality FROM faces f"
    " LEFT JOIN face_embeddings e ON e.face_id = f.id ORDER BY f.id"
)


@pytest.fixture
def two_month_library(tmp_path, shared_data):
    real = shared_data / "faces_real"
    root = dated_library(
        tmp_path / "library",
        [
            (real / "angelina_jolie/1.jpg", "may/aj1.jpg", datetime(2023, 5, 3)),
            (real / "barack_obama/1.jpg", "may/obama.jpg", datetime(2023, 5, 9)),
            (shared_data / "group_photos/2.jpg", "may/kit_rose.jpg", datetime(2023, 5, 20)),
            (real / "angelina_jolie/2.jpg", "june/aj2.jpg", datetime(2023, 6, 1)),
            (real / "kit_harington/1.jpeg", "june/kit.jpg", datetime(2023, 6, 2)),
        ],
    )
    shutil.copy2(root / "june/kit.jpg", root / "june/copy_of_kit.jpg")  # same bytes, 2nd path
    return root


def _table_counts(store):
    with store.transaction() as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("images", "library_files", "faces", "detections")
        }


def test_two_months_materialize_and_rematerialize_without_duplicates(
    store, two_month_library, monkeypatch
):
    first = run_months(store, two_month_library, [MAY, JUNE])
    may, june = first
    assert metadata_of(may, "raw_images")["images_ok"] == 3
    assert metadata_of(may, "detected_faces")["faces"] == 4  # 1 + 1 + 2 (kit and rose)
    assert metadata_of(june, "raw_images")["images_ok"] == 2  # the copy is the same image
    assert metadata_of(june, "raw_images")["duplicate_paths"] == 1
    assert metadata_of(june, "detected_faces")["faces"] == 2
    assert metadata_of(may, "face_embeddings")["faces_embedded_now"] == 4
    assert metadata_of(may, "face_quality")["faces_scored"] == 4
    assert metadata_of(may, "detected_faces")["model_pack"] == "buffalo_s"
    for result in first:
        assert all(checks_of(result).values()), checks_of(result)

    counts = _table_counts(store)
    assert counts == {"images": 5, "library_files": 6, "faces": 6, "detections": 5}
    with store.transaction() as conn:
        before = conn.execute(FACES_WITH_EMBEDDINGS).fetchall()
        rows = conn.execute(
            "SELECT f.month, e.pack, e.embedding, f.quality FROM faces f"
            " JOIN face_embeddings e ON e.face_id = f.id ORDER BY f.id"
        ).fetchall()
    assert len(rows) == 6
    assert {r[0] for r in rows} == {MAY, JUNE}
    assert {r[1] for r in rows} == {"buffalo_s"}
    assert all(0.0 <= r[3] <= 1.0 for r in rows)
    norms = np.linalg.norm(np.vstack([vector_array(r[2]) for r in rows]), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)

    from face_assets import library
    from face_assets.services import face_detection

    reads = []
    for module in (library, face_detection):
        original = module.read_library_file
        monkeypatch.setattr(
            module, "read_library_file", lambda *a, _f=original, **k: reads.append(a) or _f(*a, **k)
        )
    # Months with nothing new: their steps never load the models (seconds, and GPU memory).
    loads = []
    real_load = FaceModelsResource.load
    monkeypatch.setattr(FaceModelsResource, "load", lambda self: loads.append(1) or real_load(self))
    again = run_months(store, two_month_library, [MAY, JUNE])
    assert loads == []
    assert reads == []  # a re-run reads no photo again
    assert _table_counts(store) == counts
    assert metadata_of(again[0], "raw_images")["new_images"] == 0
    assert metadata_of(again[0], "detected_faces")["images_processed"] == 0
    assert metadata_of(again[0], "face_embeddings")["faces_embedded_now"] == 0
    assert metadata_of(again[0], "face_quality")["faces_scored"] == 0  # nothing left to score
    # ... and still say what the months hold, as a run with models does.
    embedded = metadata_of(again[0], "face_embeddings")
    assert (embedded["faces_total"], embedded["faces_embedded_total"]) == (4, 4)
    assert embedded["model_pack"] == "buffalo_s" and embedded["providers"] == NOT_LOADED
    tags = metadata_of(again[0], "imported_face_tags")
    assert (tags["skipped_unchanged"], tags["images"], tags["created"]) == (3, 0, 0)
    assert metadata_of(again[1], "detected_faces")["faces"] == 0
    with store.transaction() as conn:
        after = conn.execute(FACES_WITH_EMBEDDINGS).fetchall()
    assert after == before


def test_same_person_across_months_is_nearest_in_pgvector(store, two_month_library):
    run_months(store, two_month_library, [MAY, JUNE])
    with store.transaction() as conn:
        aj1 = conn.execute(
            "SELECT f.id, e.embedding FROM faces f JOIN images i ON i.id = f.image_id"
            " JOIN face_embeddings e ON e.face_id = f.id WHERE i.rel_path = 'may/aj1.jpg'"
        ).fetchone()
        nearest = conn.execute(
            "SELECT i.rel_path, 1 - (e.embedding <=> %s) FROM face_embeddings e"
            " JOIN faces f ON f.id = e.face_id JOIN images i ON i.id = f.image_id"
            " WHERE f.id <> %s ORDER BY e.embedding <=> %s LIMIT 1",
            (aj1[1], aj1[0], aj1[1]),
        ).fetchone()
    assert nearest[0] == "june/aj2.jpg"
    assert nearest[1] > 0.4


def test_redetect_updates_in_place_and_keeps_ids(store, two_month_library):
    from dagster import RunConfig

    from face_assets.defs.assets.faces import DetectionConfig

    run_months(store, two_month_library, [MAY])
    with store.transaction() as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM faces ORDER BY id").fetchall()]
    from dagster import materialize

    from face_assets.defs.jobs import INGEST_ASSETS as FACE_ASSETS
    from face_assets.defs.resources import FaceModelsResource, PhotoLibraryResource

    result = materialize(
        FACE_ASSETS,
        partition_key=MAY,
        resources={
            "face_models": FaceModelsResource(),
            "store": store_resource(store),
            "library": PhotoLibraryResource(root=str(two_month_library)),
        },
        run_config=RunConfig({"detected_faces": DetectionConfig(redetect=True)}),
    )
    assert result.success
    assert metadata_of(result, "detected_faces")["images_processed"] == 3
    with store.transaction() as conn:
        assert [r[0] for r in conn.execute("SELECT id FROM faces ORDER BY id").fetchall()] == ids
