"""SQL for the audit log of human labelling operations (label_events): append an event, the
log's version (the person_labels data version), names scrubbed from it on a forget, and an
event read back for its undo (locked, and whether it was undone already)."""

from __future__ import annotations

import json

import psycopg

from face_assets.store.rows import row_dict

# Name-bearing keys that older label events kept in detail (0004 scrubs them too).
NAME_KEYS = ("name", "source_name", "from")
# An undo event naming an event: its predicate is the index label_events_undo_of's (0021).
UNDONE_SQL = "SELECT 1 FROM label_events WHERE operation = 'undo_label' AND detail->>'event' = %s"


def log_event(
    conn: psycopg.Connection,
    operation: str,
    person_id: int | None = None,
    cluster_id: str | None = None,
    face_count: int = 0,
    detail: dict | None = None,
) -> int:
    return conn.execute(
        "INSERT INTO label_events (operation, person_id, cluster_id, face_count, detail)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (operation, person_id, cluster_id, face_count, json.dumps(detail or {})),
    ).fetchone()[0]


def labels_version(conn: psycopg.Connection) -> str:
    """Changes whenever a human labelling operation happens (the person_labels data version)."""
    row = conn.execute("SELECT coalesce(max(id), 0), count(*) FROM label_events").fetchone()
    return f"{row[0]}-{row[1]}"


def scrub_names(conn: psycopg.Connection, person_ids: list[int]) -> int:
    """Drop name-bearing keys from these persons' events; how many events changed."""
    return conn.execute(
        "UPDATE label_events SET detail = detail - %s::text[]"
        " WHERE person_id = ANY(%s) AND detail ?| %s::text[]",
        (list(NAME_KEYS), person_ids, list(NAME_KEYS)),
    ).rowcount


def locked_event(conn: psycopg.Connection, event_id: int) -> dict | None:
    """One event, its row locked (two undos of it at once: the second waits, then sees the
    first's undo event)."""
    return row_dict(
        conn,
        "SELECT operation, person_id, cluster_id, detail, created_at FROM label_events"
        " WHERE id = %s FOR UPDATE",
        (event_id,),
        ("operation", "person_id", "cluster_id", "detail", "created_at"),
    )


def undone(conn: psycopg.Connection, event_id: int) -> bool:
    """Whether an undo event names this event (through the partial index of 0021)."""
    return conn.execute(UNDONE_SQL, (str(event_id),)).fetchone() is not None
