"""The repack_library job itself, run for real in Dagster on a tiny faces_real slice of two
months: its config (only `to`; the source is the face_models resource's pack), its resources,
one observation per month as progress, and the summary it returns; the names survive.
(services/test_repack.py tests the service both ways on a larger slice.)"""

from __future__ import annotations

import warnings
from datetime import datetime

from face_assets.definitions import build_definitions
from face_assets.defs.repack import REPACK_JOB, repack_job
from face_assets.defs.resources import FaceModelsResource, PhotoLibraryResource
from face_assets.services import labels
from face_assets.vision.packs import PERMISSIVE_PACK
from face_assets_tests.api.conftest import all_rows
from face_assets_tests.defs.assets.helpers import dated_copy, run_months, store_resource

MONTHS = ("2024-03", "2024-04")
PEOPLE = ("barack_obama", "angelina_jolie")


def _library(tmp_path, shared_data):
    """Two photos of each person, one in each month."""
    root = tmp_path / "library"
    for person in PEOPLE:
        photos = sorted((shared_data / "faces_real" / person).iterdir())[:2]
        for n, photo in enumerate(photos):
            dated_copy(photo, root / person / f"{n + 1}.jpg", datetime(2024, 3 + n, 10))
    return root


def _largest(store):
    """(photo, pack, person name, method) of every photo's largest face."""
    return all_rows(
        store,
        "SELECT i.rel_path, f.pack, p.name, f.assignment_method FROM faces f"
        " JOIN images i ON i.id = f.image_id LEFT JOIN persons p ON p.id = f.person_id"
        " WHERE f.face_index = 0 ORDER BY i.rel_path",
    )


def test_the_repack_job_switches_every_month_and_reports_per_month(store, tmp_path, shared_data):
    assert build_definitions().get_job_def(REPACK_JOB).name == REPACK_JOB  # in the Definitions
    root = _library(tmp_path, shared_data)
    run_months(store, root, list(MONTHS))
    face_of = dict(
        all_rows(
            store,
            "SELECT i.rel_path, f.id FROM faces f JOIN images i ON i.id = f.image_id"
            " WHERE f.face_index = 0",
        )
    )
    for person in PEOPLE:
        labels.label_faces(store, [face_of[f"{person}/1.jpg"]], person, "buffalo_s")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = repack_job.execute_in_process(
            run_config={"ops": {"repack_library_op": {"config": {"to": PERMISSIVE_PACK}}}},
            resources={
                "face_models": FaceModelsResource(),  # buffalo_s: the source, by default
                "store": store_resource(store),
                "library": PhotoLibraryResource(root=str(root)),
            },
        )
    assert result.success
    summary = result.output_for_node("repack_library_op")
    assert summary["source"] == "buffalo_s" and summary["target"] == PERMISSIVE_PACK
    assert summary["months"] == 2 and summary["labels_carried"] == 2
    assert summary["decisions_not_found"] == 0 and summary["old_faces_removed"] >= 4
    assert summary["new_faces"] >= 4 and summary["persons_with_prototypes"] == 2
    # Progress: one observation of face_embeddings per month, in month order.
    seen = [
        (e.event_specific_data.asset_observation.partition, e.event_specific_data)
        for e in result.get_asset_observation_events()
    ]
    assert [month for month, _ in seen] == list(MONTHS)
    for n, (month, data) in enumerate(seen, start=1):
        meta = data.asset_observation.metadata
        assert data.asset_observation.asset_key.path == ["face_embeddings"]
        assert meta["repacked_to"].value == PERMISSIVE_PACK
        assert f"month {month} ({n}/2)" in meta["progress"].value
    # The store: only the new pack, the humans' names on the photos they labelled.
    faces = _largest(store)
    assert {pack for _, pack, _, _ in faces} == {PERMISSIVE_PACK} and len(faces) == 4
    humans = {path: name for path, _, name, how in faces if how == "human"}
    assert humans == {f"{p}/1.jpg": p for p in PEOPLE}
    assert all(name in (None, path.split("/")[0]) for path, _, name, _ in faces)
