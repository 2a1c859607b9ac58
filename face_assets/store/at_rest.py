"""SQL that makes a forget true on disk: the touched tables and their indexes rewritten
(VACUUM FULL: dead row versions holding names and vectors are gone, not just marked), the
planner statistics rebuilt and their old rows rewritten too, then a checkpoint after a WAL
switch so the segments that held the deleted rows are removed (the embedded server runs
with wal_recycle = off: a segment is unlinked, not renamed for reuse with its old bytes).

Runs outside any transaction (VACUUM cannot run in one), on an autocommit connection.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

# Every table a forget deletes from or updates (persons: names; faces; face_embeddings and
# person_prototypes: vectors, in TOAST and the HNSW indexes; label_events: names scrubbed
# from detail; face_rejections, clustered_faces, imported_regions: ids of the person's faces).
FORGET_TOUCHED_TABLES = (
    "persons",
    "faces",
    "face_embeddings",
    "person_prototypes",
    "label_events",
    "face_rejections",
    "clustered_faces",
    "imported_regions",
    "forgotten_faces",
    "video_tracks",  # a person's tracks and their faces' embeddings (0010)
    "video_faces",
)
# How long the rewrite waits for a table lock before giving up on that table this time (a
# long transaction holding it): the forget itself is done; the next forget rewrites again.
REWRITE_LOCK_TIMEOUT = "30s"


def rewrite_tables(conn: psycopg.Connection) -> tuple[list[str], list[str]]:
    """VACUUM (FULL, ANALYZE) each touched table that exists; (rewritten, skipped with the
    reason)."""
    done, skipped = [], []
    conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(REWRITE_LOCK_TIMEOUT)))
    for table in FORGET_TOUCHED_TABLES:
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
            continue
        try:
            conn.execute(sql.SQL("VACUUM (FULL, ANALYZE) {}").format(sql.Identifier(table)))
            done.append(table)
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected) as exc:
            skipped.append(f"{table}: {type(exc).__name__}")
    conn.execute("RESET lock_timeout")
    return done, skipped


def rewrite_statistics(conn: psycopg.Connection) -> bool:
    """Rewrite pg_statistic (ANALYZE keeps histogram bounds of names; the replaced rows stay
    in its heap until rewritten); False where the role may not (not a superuser)."""
    try:
        conn.execute("VACUUM FULL pg_statistic")
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def drop_old_wal(conn: psycopg.Connection) -> bool:
    """Close the current WAL segment and checkpoint, so every segment that held the deleted
    rows is before the redo point and removed; False where the role may not."""
    try:
        conn.execute("CHECKPOINT")
        conn.execute("SELECT pg_switch_wal()")
        conn.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def wal_recycling(conn: psycopg.Connection) -> str:
    return conn.execute("SHOW wal_recycle").fetchone()[0]
