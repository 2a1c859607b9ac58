"""Videos over HTTP: a clip's tracks with trackId / frameIdx / timeS, labelling a whole track,
and seed 004's POST /jobs/faces_embed queued as a Dagster run whose status is readable."""

from __future__ import annotations

import shutil

import httpx
from dagster import DagsterInstance

from face_assets.api import create_app
from face_assets.defs.launcher import DagsterRuns
from face_assets.services import video_registration
from face_assets_tests.api.conftest import PACK, TOKEN, harvested_clip, start, stop
from face_assets_tests.conftest import REPO_ROOT

API = "/api/v1/faces"


def test_tracks_and_the_faces_embed_job(real_store, real_library, shared_data, face_models,
                                        tmp_path, monkeypatch):  # fmt: skip
    # The run goes to this store: the code location the launcher loads (once a process, the
    # first test to load it decides whether its database URL is an EnvVar) reads it from here.
    monkeypatch.setenv("FACE_ASSETS_DATABASE_URL", real_store.database_url)
    with harvested_clip(real_store, real_library.root, shared_data / "faces_real", face_models,
                        "api_clips/two.mp4", 2.0, 2.0):  # fmt: skip
        home = tmp_path / "dagster_home"
        home.mkdir()
        shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
        app = create_app(real_store, PACK, TOKEN, runs=DagsterRuns(dagster_home=str(home)))
        server, thread, port = start(app)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers,
                              timeout=60) as c:  # fmt: skip
                video_id = video_registration.video_month(real_store, None, "api_clips/two.mp4")[0]
                body = c.get(f"{API}/videos/{video_id}/tracks").json()
                assert body["path"] == "api_clips/two.mp4" and len(body["tracks"]) == 3
                first = body["tracks"][0]
                assert {"trackId", "frameIdx", "timeS", "bestFaceId"} <= set(first)
                assert first["timeS"] == round(first["frameIdx"] / 24, 3)
                faces = c.get(f"{API}/tracks/{first['trackId']}").json()
                assert len(faces) == first["faces"] and faces[0]["trackId"] == first["trackId"]
                named = c.post(f"{API}/tracks/{first['trackId']}/label", json={"name": "Zed"})
                assert named.status_code == 200 and named.json()["faces"] == first["faces"]
                after = c.get(f"{API}/videos/{video_id}/tracks").json()["tracks"][0]
                assert (after["personName"], after["assignment"]) == ("Zed", "human")
                assert c.get("/jobs/faces_embed").status_code in (404, 405)
                job = c.post("/jobs/faces_embed", json={"video": "api_clips/two.mp4",
                                                        "save_crops": True, "min_quality": 0.75,
                                                        "max_crops_per_track": 10})  # fmt: skip
                assert job.status_code == 202, job.text
                job = job.json()
                assert job["job_name"] == "faces_embed" and job["month"] == "2023-11"
                status = c.get(f"/jobs/{job['job_id']}").json()
                assert status["status"] == "QUEUED" and status["job_id"] == job["job_id"]
                assert c.post("/jobs/faces_embed", json={"video": "nope.mp4"}).status_code == 404
                # Seed 004's ep_id names the clip by its id or by its library path.
                for ep_id in (str(video_id), "api_clips/two.mp4"):
                    by_ep = c.post("/jobs/faces_embed", json={"ep_id": ep_id})
                    assert by_ep.status_code == 202 and by_ep.json()["video_id"] == video_id
                gone = c.post("/jobs/faces_embed", json={"ep_id": str(video_id + 1000)})
                assert gone.status_code == 404
                missing_token = httpx.post(f"http://127.0.0.1:{port}/jobs/faces_embed", json={})
                assert missing_token.status_code == 401
        finally:
            stop(server, thread)
        run = DagsterInstance.from_config(str(home)).get_run_by_id(job["job_id"])
        assert run.tags["dagster/partition"] == "2023-11"
        config = run.run_config["ops"]
        assert config["video_faces"]["config"]["max_crops_per_track"] == 10
        assert config["faces_export"]["config"]["save_crops"] is True
