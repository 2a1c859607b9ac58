"""SQL for the progress of long runs (migration 0019): one row per Dagster run id."""

from __future__ import annotations

import json
from datetime import datetime

import psycopg

RUN_PROGRESS_KEEP_DAYS = 30  # a run's progress row outlives it this long (Dagster keeps the run)


def write_progress(conn: psycopg.Connection, run_id: str, job_name: str, progress: dict) -> None:
    """Replace the run's progress (the first write of a run also prunes rows of old runs)."""
    inserted = conn.execute(
        "INSERT INTO run_progress (run_id, job_name, progress) VALUES (%s, %s, %s)"
        " ON CONFLICT (run_id) DO UPDATE SET progress = EXCLUDED.progress, updated_at = now()"
        " RETURNING (xmax = 0)",
        (run_id, job_name, json.dumps(progress)),
    ).fetchone()[0]
    if inserted:
        conn.execute(
            "DELETE FROM run_progress WHERE updated_at < now() - make_interval(days => %s)",
            (RUN_PROGRESS_KEEP_DAYS,),
        )


def read_progress(conn: psycopg.Connection, run_id: str) -> tuple[dict, datetime] | None:
    """(progress, when it was written) of a run, or None when it wrote none."""
    row = conn.execute(
        "SELECT progress, updated_at FROM run_progress WHERE run_id = %s", (run_id,)
    ).fetchone()
    return None if row is None else (row[0], row[1])
