"""Seed 000's face-embedding jobs: a durable queue in PostgreSQL, run by the app's job threads.

A job holds one or more uploaded crops (or photos: their largest face is embedded, as
/extract-single-embedding does). Jobs run in priority order (10 first, FIFO within a
priority), survive a restart (a job that was running goes back to the queue), can be
cancelled, are kept RETENTION_SECONDS after they finish, and at most MAX_QUEUED_JOBS wait
(past that a submit is refused: the HTTP app answers 429 with Retry-After). A single crop is
milliseconds of model time, so jobs run in the app's own job threads, not as Dagster runs,
which add their own start and, queued, the daemon's poll (benchmarks/job_queue.py, README).
Several app processes may share the queue: a claim skips rows another worker holds."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

from face_assets.services import analysis
from face_assets.settings import DEFAULT_JOB_WORKERS
from face_assets.store import Store
from face_assets.store import embedding_jobs as job_store
from face_assets.vision.decode import ImageRejected

DEFAULT_PRIORITY = 5  # seed 000
MAX_QUEUED_JOBS = 1000  # a bound on what waiting jobs hold (files are kept until they run)
MAX_FILES_PER_JOB = 16  # with the app's 20 MiB upload cap, per request
RETENTION_SECONDS = 24 * 3600  # finished jobs (and their outputs) are kept a day
RETRY_AFTER_SECONDS = 5  # what a refused submitter is told to wait
RUNNING_LEASE_SECONDS = 600  # running longer: its worker stopped (16 photos take seconds)
POLL_SECONDS = 1.0  # idle wait: a submit in this process wakes the worker at once; this only
# bounds how late a job another app process queued is seen (was 0.05 s: 20 queries a second)


class QueueFull(RuntimeError):
    """MAX_QUEUED_JOBS jobs already wait."""


def submit(
    store: Store,
    files: list[tuple[str, bytes]],
    normalize: bool = True,
    priority: int = DEFAULT_PRIORITY,
    max_queued: int | None = None,
) -> str:
    """Queue a job; QueueFull past the bound (default MAX_QUEUED_JOBS)."""
    max_queued = MAX_QUEUED_JOBS if max_queued is None else max_queued
    if not files:
        raise ValueError("a job needs at least one file")
    if len(files) > MAX_FILES_PER_JOB:
        raise ValueError(f"at most {MAX_FILES_PER_JOB} files per job, got {len(files)}")
    if not 0 <= priority <= 10:
        raise ValueError(f"priority is 0-10 (seed 000), got {priority}")
    with store.transaction() as conn:
        job_id = job_store.enqueue(conn, priority, normalize, files, max_queued)
    if job_id is None:
        raise QueueFull(f"{max_queued} jobs are waiting; retry in {RETRY_AFTER_SECONDS} s")
    return job_id


def _checked(job_id: str) -> str:
    try:
        return str(uuid.UUID(job_id))
    except ValueError:
        raise LookupError(f"no job {job_id!r}") from None


def job_view(store: Store, job_id: str) -> dict:
    """The job's status and, once it ran, seed 000's Task Output (files, total_files,
    normalize); LookupError for an unknown id."""
    with store.transaction() as conn:
        row = job_store.job(conn, _checked(job_id))
    if row is None:
        raise LookupError(f"no job {job_id!r}")
    output = row.output or {"files": [], "total_files": 0, "normalize": row.normalize}
    return {
        "job_id": row.id,
        "status": row.status,
        "priority": row.priority,
        "created_at": row.created_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "error": row.error,
        **output,
    }


def cancel(store: Store, job_id: str) -> str:
    with store.transaction() as conn:
        status = job_store.cancel(conn, _checked(job_id))
    if status is None:
        raise LookupError(f"no job {job_id!r}")
    return status


def _task_output(models, files: list[tuple[str, bytes]], normalize: bool) -> dict:
    entries = []
    for name, data in files:
        try:
            found = analysis.embed(models, analysis.decode(data), normalize)
        except ImageRejected as exc:
            entries.append({"file_path": name, "status": "error", "error": exc.reason})
            continue
        entries.append(
            {
                "file_path": name,
                "embedding": {
                    "embedding": found.vector.tolist(),
                    "embedding_dim": int(found.vector.shape[0]),
                    "quality_score": found.blur_quality,
                },
                "status": "success",
            }
        )
    return {"files": entries, "total_files": len(files), "normalize": normalize}


def run_next(store: Store, models) -> str | None:
    """Run the next queued job (priority, then arrival); its id, None when none waits."""
    with store.transaction() as conn:
        claimed = job_store.claim_next(conn)
    if claimed is None:
        return None
    row, files = claimed
    try:
        output, error = _task_output(models, files, row.normalize), None
    except Exception as exc:  # recorded on the job; the worker goes on with the next one
        output, error = None, f"{type(exc).__name__}: {exc}"
    with store.transaction() as conn:
        job_store.finish(conn, row.id, output, error)
    return row.id


class Worker:
    """The app's job runner: `workers` threads that claim jobs as they come (the claim skips
    a row another thread or process holds, so no job runs twice, and each takes the highest
    priority left), purge expired ones and requeue what a stopped process was running. Only
    jobs running past RUNNING_LEASE_SECONDS are requeued: with several app processes on one
    queue, a process that starts must not take back the job another live one is running (it
    would run twice). The threads share the models: an ONNX Runtime session runs calls from
    several threads at once."""

    def __init__(
        self, store: Store, models: Callable[[], object], workers: int = DEFAULT_JOB_WORKERS
    ) -> None:
        if workers < 1:
            raise ValueError(f"job workers: at least 1, got {workers}")
        self.store, self.models = store, models
        self._stop = threading.Event()
        # One wake-up per thread, set by notify(): a job was queued in this process.
        self._wakes = [threading.Event() for _ in range(workers)]
        self._threads = [
            threading.Thread(
                target=self._loop, args=(wake,), name=f"embedding-jobs-{i}", daemon=True
            )
            for i, wake in enumerate(self._wakes)
        ]

    @property
    def workers(self) -> int:
        return len(self._threads)

    def start(self) -> None:
        self._tidy()
        for thread in self._threads:
            thread.start()

    def _tidy(self) -> None:
        with self.store.transaction() as conn:
            job_store.requeue_running(conn, RUNNING_LEASE_SECONDS)
            job_store.purge_finished(conn, RETENTION_SECONDS)

    def notify(self) -> None:
        """A job was just queued here: run it now instead of at the next poll."""
        for wake in self._wakes:
            wake.set()

    def stop(self) -> None:
        self._stop.set()
        self.notify()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(10)

    def _loop(self, wake: threading.Event) -> None:
        runs = 0
        while not self._stop.is_set():
            wake.clear()  # before the claim: a job queued after it wakes this thread again
            try:
                done = run_next(self.store, self.models())
                runs += 1
                if runs % 1000 == 0:
                    self._tidy()
            except Exception:  # the database went away: retry after a pause, never die
                done = None
                self._stop.wait(1.0)
            if done is None:
                wake.wait(POLL_SECONDS)
