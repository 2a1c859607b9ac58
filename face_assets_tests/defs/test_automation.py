"""The upload sensor, the schedules, GPU run tags and partition-range backfills, for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from datetime import datetime

import pytest
from dagster import (
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    materialize,
)

from face_assets.defs.automation import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    monthly_prototypes,
    new_photos_sensor,
    nightly_assignments,
    weekly_clustering,
)
from face_assets.defs.resources import FaceModelsResource, PhotoLibraryResource
from face_assets_tests.conftest import REPO_ROOT
from face_assets_tests.defs.assets.helpers import (
    dated_copy,
    dated_library,
    run_months,
    store_resource,
)


@pytest.fixture
def library(tmp_path, shared_data):
    real = shared_data / "faces_real"
    return dated_library(
        tmp_path / "library",
        [
            (real / "person_06/1.jpg", "a.jpg", datetime(2020, 3, 5)),
            (real / "person_06/2.jpg", "b.jpg", datetime(2020, 3, 9)),
            (real / "person_08/1.jpg", "c.jpg", datetime(2020, 7, 1)),
        ],
    )


def _tick(store, root, cursor=None):
    context = build_sensor_context(
        cursor=cursor,
        resources={"library": PhotoLibraryResource(root=str(root)), "store": store_resource(store)},
    )
    result = new_photos_sensor(context)
    return result.run_requests or [], result.cursor


def test_sensor_requests_each_new_month_once_and_picks_up_later_files(store, library, shared_data):
    requests, cursor = _tick(store, library)
    assert sorted(r.partition_key for r in requests) == ["2020-03", "2020-07"]
    assert all(r.job_name == "ingest_month" for r in requests)
    assert {r.tags["face_assets/new_files"] for r in requests} == {"2", "1"}

    again, cursor = _tick(store, library, cursor)
    assert again == []  # nothing changed: no second request, even before the runs finish

    run_months(store, library, ["2020-03", "2020-07"])  # the requested runs happen
    done, cursor = _tick(store, library, cursor)
    assert done == []
    lost_cursor, _ = _tick(store, library, None)  # restart-safe: the store knows what is done
    assert lost_cursor == []

    # A file written between ticks is picked up exactly once.
    dated_copy(
        shared_data / "faces_real/person_08/2.jpg", library / "later/d.jpg", datetime(2020, 7, 20)
    )
    later, cursor = _tick(store, library, cursor)
    assert [r.partition_key for r in later] == ["2020-07"]
    assert later[0].run_key not in {r.run_key for r in requests}
    twice, cursor = _tick(store, library, cursor)
    assert twice == []


def test_a_photo_of_another_month_arriving_during_a_run_is_not_missed(store, library, shared_data):
    requests, cursor = _tick(store, library)
    # While March is being ingested, a photo of January arrives: March's run scans it but
    # must not mark it as done.
    dated_copy(
        shared_data / "faces_real/person_05/1.jpg", library / "jan.jpg", datetime(2020, 1, 2)
    )
    run_months(store, library, ["2020-03"])
    after, cursor = _tick(store, library, cursor)
    assert sorted(r.partition_key for r in after) == ["2020-01"]  # July was already requested


def test_nightly_assignments_cover_months_with_new_faces(store, library):
    def evaluate(when):
        context = build_schedule_context(
            scheduled_execution_time=when,
            resources={"face_models": FaceModelsResource(), "store": store_resource(store)},
        )
        return nightly_assignments(context)

    assert isinstance(evaluate(datetime(2030, 1, 1, 2)), SkipReason)  # nothing detected yet
    run_months(store, library, ["2020-03", "2020-07"])
    request = evaluate(datetime.now())
    assert isinstance(request, RunRequest)
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("2020-03", "2020-07")
    assert isinstance(evaluate(datetime(2035, 1, 1, 2)), SkipReason)  # a night with no new faces


def test_weekly_and_monthly_schedules_request_their_jobs():
    when = datetime(2026, 11, 1, 4)
    weekly = weekly_clustering(build_schedule_context(scheduled_execution_time=when))
    monthly = monthly_prototypes(build_schedule_context(scheduled_execution_time=when))
    assert weekly.run_key == "cluster:2026-11-01" and monthly.run_key == "prototypes:2026-11-01"
    assert weekly_clustering.job_name == "cluster_faces"
    assert weekly.run_config == {"ops": {"face_clusters": {"config": {"full": True}}}}
    assert monthly_prototypes.job_name == "refresh_prototypes"
    assert nightly_assignments.cron_schedule == "0 2 * * *"


def test_gpu_run_tag_fails_clearly_without_a_gpu(store, library):
    from face_assets.defs.jobs import INGEST_ASSETS as FACE_ASSETS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = materialize(
            FACE_ASSETS,
            partition_key="2020-03",
            resources={
                "face_models": FaceModelsResource(),
                "store": store_resource(store),
                "library": PhotoLibraryResource(root=str(library)),
            },
            tags={"face_assets/gpu": "true"},
            raise_on_error=False,
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    error = failure.event_specific_data.error
    message = (error.cause or error).message
    assert "CUDAExecutionProvider" in message and "silently" in message


def test_cli_backfill_of_three_months_is_one_run_and_idempotent(store, tmp_path, shared_data):
    real = shared_data / "faces_real"
    root = tmp_path / "library"
    for month, person in ((1, "person_01"), (2, "person_02"), (3, "person_03")):
        dated_copy(real / person / "1.jpg", root / f"{month}.jpg", datetime(2019, month, 10))
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "FACE_ASSETS_HOME": str(store.home_path),
        "FACE_ASSETS_DATABASE_URL": store.database_url,
        "FACE_ASSETS_LIBRARY": str(root),
    }
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    command = [
        os.path.join(os.path.dirname(sys.executable), "dagster"),
        "asset",
        "materialize",
        "-m",
        "face_assets.definitions",
        "--select",
        "raw_images,detected_faces,face_embeddings,face_quality",
        "--partition-range",
        "2019-01...2019-03",
    ]
    for _ in range(2):  # the second backfill of the same range must not duplicate anything
        done = subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with store.transaction() as conn:
        months = conn.execute(
            "SELECT month, count(*) FROM faces GROUP BY month ORDER BY month"
        ).fetchall()
    assert months == [("2019-01", 1), ("2019-02", 1), ("2019-03", 1)]

    instance = DagsterInstance.from_config(str(tmp_path / "dagster_home"))
    runs = instance.get_runs()
    assert len(runs) == 2  # one run per backfill: the models load once for all three months
    from dagster import AssetKey

    materialized = instance.get_materialized_partitions(AssetKey("face_embeddings"))
    assert materialized == {"2019-01", "2019-02", "2019-03"}
    shutil.rmtree(tmp_path / "dagster_home", ignore_errors=True)


def test_prototypes_follow_new_months_and_new_labels(store, library):
    """The eager conditions: an ingested month or a labelling operation requests prototypes."""
    from dagster import AssetKey, AssetObservation, evaluate_automation_conditions

    from face_assets.definitions import build_definitions
    from face_assets.defs.jobs import INGEST_ASSETS as FACE_ASSETS

    defs = build_definitions()
    resources = {
        "face_models": FaceModelsResource(),
        "store": store_resource(store),
        "library": PhotoLibraryResource(root=str(library)),
    }

    def requested(result):
        return {r.key.to_user_string() for r in result.results if r.true_subset.size}

    def partitions(result, name):
        for r in result.results:
            if r.key.to_user_string() == name and r.true_subset.size:
                return set(r.true_subset.expensively_compute_partition_keys())
        return set()

    with DagsterInstance.ephemeral() as instance, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = evaluate_automation_conditions(defs=defs, instance=instance)
        assert requested(first) == set()  # no labels, no heads, nothing ingested: quiet
        materialize(FACE_ASSETS, resources=resources, partition_key="2020-03", instance=instance)
        after_ingest = evaluate_automation_conditions(defs, instance, cursor=first.cursor)
        assert "person_prototypes" in requested(after_ingest)
        # A back-dated month (not the latest partition) still gets its assignments, and
        # once they land, the clusters follow.
        assert partitions(after_ingest, "face_assignments") == {"2020-03"}
        assigned = [a for a in defs.assets if "face_assignments" in str(a.key)]
        materialize(
            [*FACE_ASSETS, *assigned],
            selection=["face_assignments"],
            resources=resources,
            partition_key="2020-03",
            instance=instance,
        )
        after_assign = evaluate_automation_conditions(defs, instance, cursor=after_ingest.cursor)
        assert "face_clusters" in requested(after_assign)
        quiet = evaluate_automation_conditions(defs, instance, cursor=after_assign.cursor)
        assert requested(quiet) == set()  # handled: not requested twice
        instance.report_runless_asset_event(
            AssetObservation(
                asset_key=AssetKey("person_labels"), tags={"dagster/data_version": "7-7"}
            )
        )
        after_labels = evaluate_automation_conditions(defs, instance, cursor=quiet.cursor)
        assert "person_prototypes" in requested(after_labels)


def test_sensor_reads_a_bounded_number_of_new_files_per_tick(store, library, monkeypatch):
    from face_assets.defs import automation

    monkeypatch.setattr(automation, "MAX_READS_PER_TICK", 1)
    seen: set[str] = set()
    cursor = None
    for _ in range(3):  # three new files, one read per tick
        requests, cursor = _tick(store, library, cursor)
        seen |= {r.partition_key for r in requests}
    assert seen == {"2020-03", "2020-07"}
    final, cursor = _tick(store, library, cursor)
    assert final == []


def test_a_failed_month_is_retried_alone_without_duplicates(store, library, monkeypatch):
    """A range run fails on one month; re-running just that month completes the data."""
    from face_assets.defs.jobs import INGEST_ASSETS as FACE_ASSETS
    from face_assets.services import face_embedding

    resources = {
        "face_models": FaceModelsResource(),
        "store": store_resource(store),
        "library": PhotoLibraryResource(root=str(library)),
    }
    original = face_embedding.embed_faces

    def flaky(models, store, months, **kwargs):
        if "2020-07" in months:
            raise RuntimeError("simulated crash while embedding July")
        return original(models, store, months, **kwargs)

    monkeypatch.setattr(face_embedding, "embed_faces", flaky)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcomes = {
            month: materialize(
                FACE_ASSETS, resources=resources, partition_key=month, raise_on_error=False
            ).success
            for month in ("2020-03", "2020-07")
        }
        assert outcomes == {"2020-03": True, "2020-07": False}
        with store.transaction() as conn:
            half_done = conn.execute(
                "SELECT count(*), count(e.face_id) FROM faces f LEFT JOIN face_embeddings e"
                " ON e.face_id = f.id WHERE f.month = '2020-07'"
            ).fetchone()
        assert half_done == (1, 0)  # detected, then the run died before embedding
        monkeypatch.setattr(face_embedding, "embed_faces", original)
        retry = materialize(FACE_ASSETS, resources=resources, partition_key="2020-07")
    assert retry.success
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT f.month, count(*), count(e.face_id) FROM faces f"
            " LEFT JOIN face_embeddings e ON e.face_id = f.id GROUP BY f.month ORDER BY 1"
        ).fetchall()
    assert rows == [("2020-03", 2, 2), ("2020-07", 1, 1)]
