"""Long work launched as Dagster runs through a real local instance (the repository's
dagster.yaml: runs wait in the queue for the daemon), and their status read back."""

from __future__ import annotations

import shutil

import pytest
from dagster import DagsterInstance

from face_assets.api import create_app
from face_assets.defs.launcher import DagsterRuns
from face_assets_tests.api.conftest import PACK, TOKEN, start, stop
from face_assets_tests.conftest import REPO_ROOT

API = "/api/v1/faces"


@pytest.fixture
def with_instance(real_store, face_models, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    runs = DagsterRuns(dagster_home=str(home))
    app = create_app(real_store, PACK, TOKEN, runs=runs)
    server, thread, port = start(app)
    try:
        yield f"http://127.0.0.1:{port}", home, real_store
    finally:
        stop(server, thread)


def test_cluster_and_detect_are_queued_as_dagster_runs(with_instance):
    import httpx

    url, home, store = with_instance
    with store.transaction() as conn:
        image, month = conn.execute("SELECT id, month FROM images ORDER BY id LIMIT 1").fetchone()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
        clustering = c.post(f"{API}/cluster", json={"minClusterSize": 4, "queue": True})
        assert clustering.status_code == 202, clustering.text
        detect = c.post(f"{API}/detect/{image}", json={"minConfidence": 0.6, "queue": True})
        assert detect.status_code == 202, detect.text
        status = c.get(f"{API}/runs/{clustering.json()['runId']}").json()
        assert c.get(f"{API}/runs/no-such-run").status_code == 404
        assert c.post(f"{API}/cluster", json={"minClusterSize": 1}).status_code == 422
    assert (
        clustering.json()["jobName"] == "cluster_faces" and clustering.json()["via"] == "instance"
    )
    assert status == {**status, "jobName": "cluster_faces", "status": "QUEUED"}
    # No daemon serves this instance's queue: the answer and the status say so, and how.
    for answer in (clustering.json(), detect.json(), status):
        assert "no Dagster daemon" in answer["hint"] and "make dev" in answer["hint"]
    body = detect.json()
    assert body["assetId"] == image and body["month"] == month and body["jobName"] == "ingest_month"

    instance = DagsterInstance.from_config(str(home))
    run = instance.get_run_by_id(clustering.json()["runId"])
    assert run.run_config["ops"]["face_clusters"]["config"] == {"min_cluster_size": 4}
    ingest = instance.get_run_by_id(body["runId"])
    assert ingest.tags["dagster/partition"] == month
    assert ingest.run_config["ops"]["detected_faces"]["config"]["redetect"] is True
    assert ingest.remote_job_origin.location_name == "face_assets"
