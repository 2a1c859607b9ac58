"""Seed 002's housekeeping verbs on a real store: `backfill` detects the slice of photos not
detected yet (and only it; faces found again keep their ids), `find-orphans` reports faces
without embeddings in the seed's lines and `--fix` re-detects their photos, `stats` prints
the seed's totals beside ours; `backfill --queue` is an ingest_month run whose detection
takes the same slice."""

from __future__ import annotations

import re
import shutil

import pytest

from face_assets.services import labels
from face_assets_tests.api.conftest import PACK, faces_of
from face_assets_tests.conftest import REPO_ROOT


@pytest.fixture
def run(cli_on_real_store, real_library, monkeypatch):
    monkeypatch.setenv("FACE_ASSETS_LIBRARY", str(real_library.root))
    return cli_on_real_store


def _value(out: str, label: str) -> int:
    return int(re.search(rf"^{re.escape(label)}: (\d+)", out, flags=re.M).group(1))


def _faces_by_image(store, image_ids):
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT image_id, array_agg(id ORDER BY id) FROM faces"
            " WHERE image_id = ANY(%s) GROUP BY image_id",
            (list(image_ids),),
        ).fetchall()
    return dict(rows)


def _detected(store, image_ids) -> set[int]:
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT image_id FROM detections WHERE image_id = ANY(%s) AND pack = %s",
            (list(image_ids), PACK),
        ).fetchall()
    return {r[0] for r in rows}


def test_backfill_detects_only_its_slice_and_faces_keep_their_ids(real_store, run):
    with real_store.transaction() as conn:
        query = "SELECT DISTINCT image_id FROM faces ORDER BY image_id LIMIT 3"
        images = [r[0] for r in conn.execute(query).fetchall()]
        conn.execute("DELETE FROM detections WHERE image_id = ANY(%s)", (images,))
    before = _faces_by_image(real_store, images)
    code, out, err = run("backfill", "--limit", "2", "--offset", "1", "--min-confidence", "0.5")
    assert code == 0, err
    assert "Backfilling 2 photos" in out and _value(out, "Processed") == 2
    assert _detected(real_store, images) == set(images[1:])  # the slice, in id order
    faces = sum(len(before[i]) for i in images[1:])
    assert _value(out, "Total faces") == faces and _value(out, "Errors") == 0
    assert "Still without faces: 1 photos" in out
    code, out, _ = run("backfill")
    assert code == 0 and _value(out, "Processed") == 1
    assert _faces_by_image(real_store, images) == before  # found again: same face ids
    code, out, _ = run("backfill")
    assert code == 0 and _value(out, "Processed") == 0 and "nothing to do" in out


def test_without_the_photo_library_nothing_is_marked_unreadable(real_store, run, monkeypatch):
    with real_store.transaction() as conn:
        image = conn.execute("SELECT min(image_id) FROM faces").fetchone()[0]
        conn.execute("DELETE FROM detections WHERE image_id = %s", (image,))
    monkeypatch.setenv("FACE_ASSETS_LIBRARY", str(real_store.home_path / "no_such_folder"))
    for argv in (["backfill"], ["find-orphans", "--fix"]):
        code, _, err = run(*argv)
        assert code == 2 and "FACE_ASSETS_LIBRARY" in err, err
    with real_store.transaction() as conn:
        status = conn.execute("SELECT status FROM images WHERE id = %s", (image,)).fetchone()[0]
    assert status == "ok"  # still waiting for its faces, not recorded as unreadable


def test_find_orphans_reports_in_the_seeds_lines_and_fix_redetects(real_store, run):
    with real_store.transaction() as conn:
        face_id, image_id = conn.execute(
            "SELECT id, image_id FROM faces WHERE pack = %s ORDER BY id DESC LIMIT 1", (PACK,)
        ).fetchone()
        total = conn.execute("SELECT count(*) FROM faces WHERE pack = %s", (PACK,)).fetchone()[0]
        conn.execute("DELETE FROM face_embeddings WHERE face_id = %s", (face_id,))
    code, out, _ = run("find-orphans", "--limit", "5")
    assert code == 0
    assert "Checking 5 faces for orphaned embeddings..." in out
    assert _value(out, "Total faces checked") == 5 and _value(out, "Orphaned faces found") == 1
    assert f"  - Face {face_id} (asset_id={image_id}" in out
    assert f"  - Asset {image_id}: 1 orphaned face(s)" in out and "TIP: Use --fix" in out
    code, out, _ = run("find-orphans")  # ours: every face by default
    assert _value(out, "Total faces checked") == total
    code, out, _ = run("find-orphans", "--fix")
    assert code == 0 and "RE-DETECTION RESULTS:" in out and "TIP" not in out
    assert _value(out, "Assets processed") == 1 and _value(out, "Errors") == 0
    assert _value(out, "Total faces re-detected") >= 1
    with real_store.transaction() as conn:
        back = conn.execute(
            "SELECT count(*) FROM face_embeddings WHERE face_id = %s", (face_id,)
        ).fetchone()[0]
    assert back == 1  # the same face, embedded again
    code, out, _ = run("find-orphans", "--json")
    assert code == 0 and '"orphaned_faces": 0' in out


def test_stats_prints_the_seeds_totals_beside_ours(real_store, run):
    labels.label_faces(real_store, faces_of(real_store, "kit_harington"), "Kit", PACK)
    with real_store.transaction() as conn:
        faces, labelled = conn.execute(
            "SELECT count(*), count(person_id) FROM faces WHERE pack = %s", (PACK,)
        ).fetchone()
    code, out, _ = run("stats")
    assert code == 0 and "identities:" in out  # ours first
    assert _value(out, "Total faces") == faces and _value(out, "Assigned faces") == labelled
    assert _value(out, "Total persons") == 1 and _value(out, "Active persons") == 1
    assert _value(out, "Merged persons") == 0 and _value(out, "Points") == faces
    assert "Qdrant Collection: none" in out


def test_backfill_queue_is_an_ingest_run_whose_detection_takes_the_slice(
    real_store, real_library, run, monkeypatch, tmp_path
):
    from dagster import DagsterInstance, materialize

    from face_assets.defs.assets.faces import detected_faces
    from face_assets.defs.automation import RANGE_END_TAG, RANGE_START_TAG
    from face_assets.defs.resources import FaceModelsResource, PhotoLibraryResource
    from face_assets_tests.defs.assets.helpers import store_resource

    with real_store.transaction() as conn:
        images = conn.execute(
            "SELECT id, month FROM images WHERE status = 'ok' ORDER BY id LIMIT 3"
        ).fetchall()
        conn.execute("DELETE FROM detections WHERE image_id = ANY(%s)", ([i for i, _ in images],))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    code, out, err = run("backfill", "--limit", "1", "--offset", "1", "--queue")
    assert code == 0 and "queued: run" in out, err
    with DagsterInstance.from_config(str(home)) as instance:
        (record,) = instance.get_runs()
    config = record.run_config["ops"]["detected_faces"]["config"]
    assert config == {"limit": 1, "offset": 1, "min_confidence": 0.5}
    assert record.tags[RANGE_START_TAG] == images[1][1] == record.tags[RANGE_END_TAG]
    # What that run's detection does with the config: the one photo of the slice.
    resources = {
        "face_models": FaceModelsResource(),
        "store": store_resource(real_store),
        "library": PhotoLibraryResource(root=str(real_library.root)),
    }
    done = materialize(
        [detected_faces], resources=resources, partition_key=images[1][1],
        run_config={"ops": {"detected_faces": {"config": config}}},
    )  # fmt: skip
    assert done.success
    assert _detected(real_store, [i for i, _ in images]) == {images[1][0]}
