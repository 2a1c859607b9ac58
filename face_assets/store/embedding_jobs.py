"""SQL for seed 000's embedding jobs: enqueue under a bound, claim the next by priority
(SKIP LOCKED: several workers never take one job twice), finish, cancel, purge, requeue."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg

QUEUE_LOCK_KEY = 0x5EED000  # serialises the bound check of concurrent submitters


@dataclass(frozen=True)
class JobRow:
    id: str
    status: str
    priority: int
    normalize: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    output: dict | None
    error: str | None


def _row(r) -> JobRow:
    return JobRow(str(r[0]), *r[1:])


def enqueue(
    conn: psycopg.Connection,
    priority: int,
    normalize: bool,
    files: list[tuple[str, bytes]],
    max_queued: int,
) -> str | None:
    """A new queued job with its files; None when `max_queued` jobs already wait."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (QUEUE_LOCK_KEY,))
    waiting = conn.execute("SELECT count(*) FROM embedding_jobs WHERE status = 'queued'")
    if waiting.fetchone()[0] >= max_queued:
        return None
    job_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO embedding_jobs (id, priority, normalize) VALUES (%s, %s, %s)",
        (job_id, priority, normalize),
    )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO embedding_job_files (job_id, idx, file_name, data)"
            " VALUES (%s, %s, %s, %s)",
            [(job_id, i, name, data) for i, (name, data) in enumerate(files)],
        )
    return str(job_id)


def claim_next(conn: psycopg.Connection) -> tuple[JobRow, list[tuple[str, bytes]]] | None:
    """The highest-priority, oldest queued job, now running, with its files."""
    row = conn.execute(
        "UPDATE embedding_jobs SET status = 'running', started_at = now() WHERE id = ("
        " SELECT id FROM embedding_jobs WHERE status = 'queued'"
        " ORDER BY priority DESC, seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, status, priority, normalize, created_at, started_at, finished_at,"
        " output, error"
    ).fetchone()
    if row is None:
        return None
    files = conn.execute(
        "SELECT file_name, data FROM embedding_job_files WHERE job_id = %s ORDER BY idx",
        (row[0],),
    ).fetchall()
    return _row(row), [(name, bytes(data)) for name, data in files]


def finish(conn: psycopg.Connection, job_id: str, output: dict | None, error: str | None) -> bool:
    """Record a running job's result (and drop its files); False if it was cancelled."""
    done = conn.execute(
        "UPDATE embedding_jobs SET status = %s, finished_at = now(), output = %s, error = %s"
        " WHERE id = %s AND status = 'running'",
        ("failed" if error else "completed", json.dumps(output) if output else None, error, job_id),
    ).rowcount
    conn.execute("DELETE FROM embedding_job_files WHERE job_id = %s", (job_id,))
    return bool(done)


def cancel(conn: psycopg.Connection, job_id: str) -> str | None:
    """Cancel a queued or running job; its status afterwards, None for an unknown id."""
    conn.execute(
        "UPDATE embedding_jobs SET status = 'cancelled', finished_at = now()"
        " WHERE id = %s AND status IN ('queued', 'running')",
        (job_id,),
    )
    conn.execute(
        "DELETE FROM embedding_job_files f USING embedding_jobs j"
        " WHERE f.job_id = j.id AND j.id = %s AND j.status = 'cancelled'",
        (job_id,),
    )
    found = conn.execute("SELECT status FROM embedding_jobs WHERE id = %s", (job_id,)).fetchone()
    return found[0] if found else None


def job(conn: psycopg.Connection, job_id: str) -> JobRow | None:
    row = conn.execute(
        "SELECT id, status, priority, normalize, created_at, started_at, finished_at, output,"
        " error FROM embedding_jobs WHERE id = %s",
        (job_id,),
    )
    found = row.fetchone()
    return _row(found) if found else None


def progress(
    conn: psycopg.Connection, job_ids: list[str]
) -> list[tuple[str, str, datetime, datetime | None]]:
    """(id, status, created_at, finished_at) of those of these jobs that exist, in no order:
    what a caller polling a batch needs, without reading every output again."""
    return conn.execute(
        "SELECT id::text, status, created_at, finished_at FROM embedding_jobs"
        " WHERE id = ANY(%s::uuid[])",
        (job_ids,),
    ).fetchall()


def purge_finished(conn: psycopg.Connection, older_than_seconds: float) -> int:
    return conn.execute(
        "DELETE FROM embedding_jobs WHERE finished_at < now() - make_interval(secs => %s)",
        (older_than_seconds,),
    ).rowcount


def requeue_running(conn: psycopg.Connection, started_before_seconds: float | None = None) -> int:
    """Jobs a stopped process was running go back to the queue (their files are kept until a
    job finishes): a restart loses nothing. With `started_before_seconds`, only jobs running
    longer than that: another live worker's job is left alone."""
    if started_before_seconds is None:
        return conn.execute(
            "UPDATE embedding_jobs SET status = 'queued', started_at = NULL"
            " WHERE status = 'running'"
        ).rowcount
    return conn.execute(
        "UPDATE embedding_jobs SET status = 'queued', started_at = NULL WHERE status = 'running'"
        " AND started_at < now() - make_interval(secs => %s)",
        (started_before_seconds,),
    ).rowcount
