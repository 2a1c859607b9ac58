"""GET /jobs/{id} for a faces_embed run answers its progress (clips, frames sampled, faces
embedded, tracks) as the harvest wrote it while it ran, and the final figures after."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from dagster import DagsterInstance, materialize

from face_assets.api import create_app
from face_assets.defs.assets import videos as video_assets
from face_assets.defs.launcher import DagsterRuns
from face_assets.defs.resources import FaceModelsResource, PhotoLibraryResource
from face_assets.services import harvest_progress
from face_assets_tests.api.conftest import PACK, TOKEN, start, stop
from face_assets_tests.conftest import REPO_ROOT
from face_assets_tests.defs.assets.helpers import metadata_of, store_resource
from face_assets_tests.vision import clips

MONTH = "2023-11"
STAMP = 1_700_000_000  # 2023-11-14 (no container time: the file time decides)


def _party_library(store, tmp_path, shared_data) -> tuple:
    """(Dagster home, its instance, `run(*assets, **materialize_kwargs)`: the month's run of
    the assets, warnings silenced) for a library of one 2-s clip."""
    root = tmp_path / "library"
    root.mkdir()
    clips.scene_clip(root / "party.mp4", shared_data / "faces_real", 1.0, 1.0)  # 48 frames
    os.utime(root / "party.mp4", (STAMP, STAMP))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    instance = DagsterInstance.from_config(str(home))
    resources = {
        "face_models": FaceModelsResource(),
        "store": store_resource(store),
        "library": PhotoLibraryResource(root=str(root)),
    }

    def run(*assets, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return materialize(
                list(assets), resources=resources, partition_key=MONTH, instance=instance, **kwargs
            )

    return home, instance, run


@contextmanager
def _jobs_client(home, store) -> Iterator[httpx.Client]:
    """A client of the app on a free port, reading runs from the instance at home."""
    app = create_app(store, PACK, TOKEN, runs=DagsterRuns(dagster_home=str(home)))
    server, thread, port = start(app)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=60,
        ) as c:
            yield c
    finally:
        stop(server, thread)


def test_a_faces_embed_run_reports_progress_while_and_after_it_runs(
    store, tmp_path, shared_data, monkeypatch
):
    home, instance, run_month = _party_library(store, tmp_path, shared_data)
    # Every write the run makes, as the store receives it (no throttle: each sampled frame).
    writes: list[tuple[str, dict]] = []
    real_write = harvest_progress.progress_store.write_progress

    def spy(conn, run_id, job_name, progress):
        writes.append((run_id, dict(progress)))
        return real_write(conn, run_id, job_name, progress)

    monkeypatch.setattr(harvest_progress.progress_store, "write_progress", spy)
    monkeypatch.setattr(harvest_progress, "PROGRESS_WRITE_SECONDS", 0.0)
    monkeypatch.setattr(harvest_progress, "PROGRESS_LOG_SECONDS", 0.0)
    config = {"ops": {"video_faces": {"config": {"sample_interval": 12}}}}
    registered = run_month(video_assets.raw_videos)
    run = run_month(video_assets.raw_videos, video_assets.video_faces, run_config=config)
    assert run.success
    harvest = metadata_of(run, "video_faces")
    mine = [p for run_id, p in writes if run_id == run.run_id]
    # While it ran: frames sampled one by one inside the clip, before the clip was done.
    during = [p for p in mine if p["clip"] == "party.mp4"]
    sampled = [p["frames_sampled"] for p in during]
    assert sampled == sorted(sampled) and sorted(set(sampled)) == [0, 1, 2, 3, 4]  # every 12th
    assert all(p["state"] == "running" and p["clips_done"] == 0 for p in during)
    assert during[-1]["faces_embedded"] > 0
    assert [p["frames_sampled"] for p in mine] == sorted(p["frames_sampled"] for p in mine)
    final = mine[-1]
    assert final["state"] == "done" and final["clips_done"] == final["clips"] == 1
    assert (final["tracks"], final["faces_kept"]) == (harvest["tracks"], harvest["faces_kept"])
    assert final["frames_sampled"] == 4 and final["faces_embedded"] >= final["faces_kept"]
    # The run log (the Dagster UI) tells the same as it goes.
    lines = [e.user_message for e in instance.all_logs(run.run_id)]
    assert any(x.startswith("harvest 2023-11: clip 1/1 (party.mp4), 2 frames") for x in lines)

    # After: the job endpoint answers the run's status with its progress; a run that harvested
    # nothing (raw_videos alone) answers no progress; an unknown id is 404.
    with _jobs_client(home, store) as c:
        body = c.get(f"/jobs/{run.run_id}").json()
        assert body["status"] == "SUCCESS" and body["job_id"] == run.run_id
        progress = body["progress"]
        assert progress["state"] == "done" and progress["clips_harvested"] == 1
        assert progress["tracks"] == harvest["tracks"] == 3
        assert progress["frames_sampled"] == 4 and progress["updated_at"]
        nothing = c.get(f"/jobs/{registered.run_id}").json()
        assert nothing["status"] == "SUCCESS" and nothing["progress"] is None
        assert c.get("/jobs/0000-no-such-run").status_code == 404


def test_a_run_that_failed_mid_harvest_answers_failed_not_running(
    store, tmp_path, shared_data, monkeypatch
):
    """The harvest dies at its first clip, after its first progress write ("running"): the job
    answers the run's FAILURE and a progress whose state is "failed", never "running"."""
    home, _, run_month = _party_library(store, tmp_path, shared_data)

    def broken(self, rel_path):
        raise RuntimeError("the decoder died")

    run_month(video_assets.raw_videos)
    monkeypatch.setattr(harvest_progress.HarvestTracker, "clip", broken)
    run = run_month(video_assets.raw_videos, video_assets.video_faces, raise_on_error=False)
    assert not run.success
    written = harvest_progress.run_progress(store, run.run_id)
    assert written["state"] == "running"  # as the harvest left it
    with _jobs_client(home, store) as c:
        body = c.get(f"/jobs/{run.run_id}").json()
    assert body["status"] == "FAILURE"
    assert body["progress"]["state"] == "failed" and body["progress"]["clips_done"] == 0
