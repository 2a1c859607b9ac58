"""Seed 000's job endpoints on the live app: submit, the app's worker runs the job, the
seed's Task Output, 429 with Retry-After past the queue's bound."""

from __future__ import annotations

import time

from face_assets.services import embedding_jobs

JOB_SECONDS = 60  # a one-photo job on a busy 2-core machine finishes well within this


def _settled(client, job_id: str) -> dict:
    """The job's view once it is neither queued nor running (or when JOB_SECONDS ran out)."""
    deadline = time.monotonic() + JOB_SECONDS
    while True:
        view = client.get(f"/jobs/face_embedding/{job_id}").json()
        if view["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return view
        time.sleep(0.1)


def test_http_jobs_run_in_the_apps_worker_and_refuse_past_the_bound(live, t1_path, monkeypatch):
    with live.client() as client:
        sent = client.post(
            "/jobs/face_embedding",
            files={"file": ("t1.jpg", t1_path.read_bytes())},
            data={"normalize": "true", "priority": "7"},
        )
        assert sent.status_code == 202, sent.text
        body = sent.json()
        assert body["status"] == "queued" and set(body) == {"job_id", "status"}
        view = _settled(client, body["job_id"])
        assert view["status"] == "completed" and view["priority"] == 7
        assert view["files"][0]["embedding"]["embedding_dim"] == 512
        alias = client.post("/api/jobs/face_embedding", files={"file": ("t1.jpg", b"x")})
        assert alias.status_code == 202  # seed 000's curl path answers too
        monkeypatch.setattr(embedding_jobs, "MAX_QUEUED_JOBS", 0)
        full = client.post("/jobs/face_embedding", files={"file": ("t1.jpg", b"x")})
        assert full.status_code == 429 and full.headers["Retry-After"] == "5"
        assert client.get("/jobs/face_embedding/nope").status_code == 404
        assert client.post("/jobs/face_embedding", data={"priority": "3"}).status_code == 422


def test_a_submit_wakes_the_idle_worker(live, t1_path, monkeypatch):
    """The worker idles POLL_SECONDS between empty polls; a job queued through this app must
    not wait for the next poll: with an hour-long poll it still runs at once."""
    monkeypatch.setattr(embedding_jobs, "POLL_SECONDS", 3600.0)
    time.sleep(2 * 1.0 + 0.5)  # the worker finishes its current (default) wait, then idles
    with live.client() as client:
        sent = client.post("/jobs/face_embedding", files={"file": ("t1.jpg", t1_path.read_bytes())})
        assert sent.status_code == 202, sent.text
        view = _settled(client, sent.json()["job_id"])
    assert view["status"] == "completed"
