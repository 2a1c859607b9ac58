"""Seed 000's embedding jobs in a real PostgreSQL: priority order (FIFO within a priority),
the queue's bound, cancelling, a restart that loses nothing, retention, the seed's Task
Output from the real models (the HTTP endpoints: api/test_embedding_jobs.py)."""

from __future__ import annotations

import pytest

from face_assets.services import embedding_jobs
from face_assets.store import embedding_jobs as job_store

CROP = ("crop.jpg", b"not read by the ordering tests")


def _claim_order(store) -> list[str]:
    order = []
    while True:
        with store.transaction() as conn:
            got = job_store.claim_next(conn)
        if got is None:
            return order
        order.append(got[0].id)


def test_higher_priority_first_and_fifo_within_a_priority(store):
    low = [embedding_jobs.submit(store, [CROP], priority=0) for _ in range(3)]
    top = embedding_jobs.submit(store, [CROP], priority=10)
    mid = embedding_jobs.submit(store, [CROP], priority=5)
    assert _claim_order(store) == [top, mid, *low]


def test_the_queue_is_bounded_and_a_cancelled_job_never_runs(store):
    first = embedding_jobs.submit(store, [CROP], max_queued=2)
    embedding_jobs.submit(store, [CROP], max_queued=2)
    with pytest.raises(embedding_jobs.QueueFull, match="retry"):
        embedding_jobs.submit(store, [CROP], max_queued=2)
    assert embedding_jobs.cancel(store, first) == "cancelled"
    assert first not in _claim_order(store)
    with pytest.raises(LookupError):
        embedding_jobs.cancel(store, "not-a-job")
    for bad in ([], [CROP] * (embedding_jobs.MAX_FILES_PER_JOB + 1)):
        with pytest.raises(ValueError):
            embedding_jobs.submit(store, bad)
    with pytest.raises(ValueError, match="priority"):
        embedding_jobs.submit(store, [CROP], priority=11)


def test_a_restart_requeues_the_running_job_with_its_files(store):
    job = embedding_jobs.submit(store, [CROP, ("b.jpg", b"2")])
    with store.transaction() as conn:
        running, _ = job_store.claim_next(conn)
        assert running.id == job and job_store.claim_next(conn) is None
        assert job_store.requeue_running(conn) == 1  # what Worker.start does after a restart
        again, files = job_store.claim_next(conn)
    assert again.id == job and [f[0] for f in files] == ["crop.jpg", "b.jpg"]


def test_a_starting_worker_leaves_another_live_workers_job_alone(store):
    live = embedding_jobs.submit(store, [CROP])
    with store.transaction() as conn:
        job_store.claim_next(conn)
    embedding_jobs.Worker(store, lambda: None)._tidy()  # what a second app process does at start
    with store.transaction() as conn:
        assert job_store.job(conn, live).status == "running"
        conn.execute(
            "UPDATE embedding_jobs SET started_at = now() - make_interval(secs => %s)"
            " WHERE id = %s",
            (embedding_jobs.RUNNING_LEASE_SECONDS + 1, live),
        )
    embedding_jobs.Worker(store, lambda: None)._tidy()  # its worker stopped long ago
    with store.transaction() as conn:
        assert job_store.job(conn, live).status == "queued"


def test_a_job_runs_to_the_seeds_task_output_and_expires(store, face_models, t1_path):
    job = embedding_jobs.submit(store, [("t1.jpg", t1_path.read_bytes()), ("x.jpg", b"junk")])
    assert embedding_jobs.run_next(store, face_models) == job
    view = embedding_jobs.job_view(store, job)
    assert view["status"] == "completed" and view["total_files"] == 2 and view["normalize"]
    ok, bad = view["files"]
    assert ok["status"] == "success" and ok["file_path"] == "t1.jpg"
    assert ok["embedding"]["embedding_dim"] == len(ok["embedding"]["embedding"]) == 512
    assert 0.0 <= ok["embedding"]["quality_score"] <= 1.0
    assert bad["status"] == "error" and bad["error"]
    assert embedding_jobs.run_next(store, face_models) is None
    with store.transaction() as conn:
        assert conn.execute("SELECT count(*) FROM embedding_job_files").fetchone()[0] == 0
        assert job_store.purge_finished(conn, 0) == 1
    with pytest.raises(LookupError):
        embedding_jobs.job_view(store, job)


def test_two_workers_never_run_one_job_twice_and_take_the_top_priority_first(store, monkeypatch):
    import threading
    import time

    ran: list[str] = []
    running, most = [0], [0]
    lock = threading.Lock()

    def task_output(models, files, normalize):  # the model's time, without a model
        with lock:
            ran.append(files[0][0])
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return {"files": [], "total_files": len(files), "normalize": normalize}

    monkeypatch.setattr(embedding_jobs, "_task_output", task_output)
    low = [embedding_jobs.submit(store, [(f"low{i}", b"x")], priority=0) for i in range(12)]
    top = embedding_jobs.submit(store, [("top", b"x")], priority=10)
    worker = embedding_jobs.Worker(store, lambda: None, workers=2)
    assert worker.workers == 2
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while len(ran) < 13 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # a job run twice would show up here
    finally:
        worker.stop()
    assert sorted(ran) == sorted(["top", *(f"low{i}" for i in range(12))])  # each once
    # Claims follow priority, then arrival; two threads may start neighbours in either order.
    expected = ["top", *(f"low{i}" for i in range(12))]
    assert all(abs(ran.index(name) - i) <= 1 for i, name in enumerate(expected)), ran
    assert most[0] == 2  # both threads really ran at once
    assert all(embedding_jobs.job_view(store, j)["status"] == "completed" for j in [*low, top])
    with pytest.raises(ValueError, match="at least 1"):
        embedding_jobs.Worker(store, lambda: None, workers=0)
