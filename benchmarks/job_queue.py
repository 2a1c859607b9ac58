"""Seed 000's embedding jobs through the live app: throughput and latency with concurrent
submitters, priority under load, a restart mid-queue, and what a Dagster run would add.

    python benchmarks/job_queue.py [--jobs 200] [--submitters 20] [--workers N]

One single-crop job each (an aligned 112x112 crop of t1.jpg), POST /jobs/face_embedding
over HTTP from `--submitters` threads; the app's `--workers` job threads run them
(default: the app's, settings.DEFAULT_JOB_WORKERS; buffalo_s on the CPU).
Latency is submit -> done from the job rows' own timestamps. Priority: `--jobs` priority-0
jobs, then one priority-10 job: how many of the priority-0 jobs still waiting when it was
sent finished before it. Restart: jobs are queued, the app is stopped mid-queue and started
again on the same database; every job must complete. Dagster: the wall time of the smallest
in-process run (one op), the floor a per-job Dagster run would add. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from face_assets.api import create_app
from face_assets.api.server import server_config
from face_assets.services import analysis, maintenance
from face_assets.settings import DEFAULT_JOB_WORKERS
from face_assets.store import Store
from face_assets.store import embedding_jobs as job_store
from face_assets.vision.faces import aligned_crop
from face_assets.vision.models import load_face_models

TOKEN = secrets.token_urlsafe(24)  # a fresh one: the app refuses guessable tokens
PACK = "buffalo_s"


def crop_png() -> bytes:
    import insightface

    photo = Path(insightface.__file__).parent / "data" / "images" / "t1.jpg"
    models = load_face_models(PACK, ("CPUExecutionProvider",))
    bgr = analysis.decode(photo.read_bytes())
    face = analysis.analyse(models, bgr).faces[0]
    return cv2.imencode(".png", aligned_crop(bgr, face.landmarks))[1].tobytes()


class App:
    def __init__(self, store: Store, port: int, workers: int) -> None:
        import uvicorn

        app = create_app(store, PACK, TOKEN, job_workers=workers)
        self.server = uvicorn.Server(server_config(app, "127.0.0.1", port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def submit_all(url: str, png: bytes, n: int, submitters: int, priority: int = 0) -> list[str]:
    def one(_: int) -> str:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, headers=headers, timeout=120) as c:
            while True:
                r = c.post(
                    "/jobs/face_embedding",
                    files={"file": ("crop.png", png)},
                    data={"priority": str(priority)},
                )
                if r.status_code != 429:
                    r.raise_for_status()
                    return r.json()["job_id"]
                time.sleep(float(r.headers["Retry-After"]))

    with ThreadPoolExecutor(submitters) as pool:
        return list(pool.map(one, range(n)))


def wait_done(store: Store, ids: list[str], timeout: float = 600) -> list[tuple]:
    deadline = time.monotonic() + timeout
    while True:
        with store.transaction() as conn:
            rows = job_store.progress(conn, ids)
        if all(r[1] in ("completed", "failed") for r in rows) and len(rows) == len(ids):
            return rows
        if time.monotonic() > deadline:
            raise TimeoutError(f"{sum(r[1] == 'completed' for r in rows)} of {len(ids)} done")
        time.sleep(0.05)


def dagster_floor() -> float:
    from dagster import job, op

    @op
    def nothing() -> int:
        return 0

    @job
    def smallest():
        nothing()

    smallest.execute_in_process()  # warm: imports, instance
    started = time.perf_counter()
    smallest.execute_in_process()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--submitters", type=int, default=20)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--workers", type=int, default=DEFAULT_JOB_WORKERS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    png = crop_png()
    out: dict = {"jobs": args.jobs, "submitters": args.submitters, "workers": args.workers}
    with tempfile.TemporaryDirectory() as home:
        store = Store(None, home)
        app = App(store, args.port, args.workers)
        started = time.perf_counter()
        ids = submit_all(app.url, png, args.jobs, args.submitters)
        rows = wait_done(store, ids)
        wall = time.perf_counter() - started
        latency = np.asarray([(r[3] - r[2]).total_seconds() for r in rows])
        out.update(
            completed=sum(r[1] == "completed" for r in rows),
            jobs_per_second=round(args.jobs / wall, 1),
            p50_seconds=round(float(np.percentile(latency, 50)), 3),
            p95_seconds=round(float(np.percentile(latency, 95)), 3),
        )

        low = submit_all(app.url, png, args.jobs, args.submitters, priority=0)
        with store.transaction() as conn:
            waiting = {
                r[0]
                for r in conn.execute(
                    "SELECT id::text FROM embedding_jobs WHERE status = 'queued'"
                ).fetchall()
            }
        (top,) = submit_all(app.url, png, 1, 1, priority=10)
        done = {r[0]: r[3] for r in wait_done(store, [*low, top])}
        behind = [j for j in low if j in waiting]
        out.update(
            priority_low_waiting=len(behind),
            priority_low_finished_before_top=sum(done[j] < done[top] for j in behind),
        )

        queued = submit_all(app.url, png, args.jobs, args.submitters)
        app.stop()
        with store.transaction() as conn:
            left = conn.execute(
                "SELECT count(*) FROM embedding_jobs WHERE status IN ('queued', 'running')"
            ).fetchone()[0]
        app = App(store, args.port + 1, args.workers)
        rows = wait_done(store, queued)
        app.stop()
        out.update(
            restart_left_when_stopped=left,
            restart_completed=sum(r[1] == "completed" for r in rows),
            restart_lost=len(queued) - sum(r[1] == "completed" for r in rows),
        )
        maintenance.stop_embedded_server(store)
    out["dagster_smallest_run_seconds"] = round(dagster_floor(), 2)
    width = max(len(k) for k in out)
    for key, value in out.items():
        print(f"{key:{width}}  {value}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
