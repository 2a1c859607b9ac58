"""SQL for trained projection heads: candidates, the promoted head, decisions."""

from __future__ import annotations

import json
from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class HeadRecord:
    id: int
    pack: str
    status: str
    checkpoint_path: str
    threshold: float
    metrics: dict
    persons: int

    @property
    def name(self) -> str:
        return f"head-{self.id}"


def add_candidate(
    conn: psycopg.Connection,
    pack: str,
    checkpoint_path: str,
    device: str,
    persons: int,
    faces: int,
    threshold: float,
    metrics: dict,
    history: list[dict],
    config: dict,
    person_ids: list[int] | None = None,
) -> int:
    return conn.execute(
        "INSERT INTO projection_heads (pack, checkpoint_path, device, persons, faces, threshold,"
        " metrics, history, config, person_ids)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            pack,
            checkpoint_path,
            device,
            persons,
            faces,
            threshold,
            json.dumps(metrics),
            json.dumps(history),
            json.dumps(config),
            person_ids,
        ),
    ).fetchone()[0]


_SELECT = (
    "SELECT id, pack, status, checkpoint_path, threshold, metrics, persons FROM projection_heads"
)


def _one(conn: psycopg.Connection, where: str, params: tuple) -> HeadRecord | None:
    """`where` is one of this module's constant clauses; values travel as parameters."""
    row = conn.execute(f"{_SELECT} WHERE {where}", params).fetchone()
    return HeadRecord(*row) if row else None


def head(conn: psycopg.Connection, head_id: int) -> HeadRecord:
    record = _one(conn, "id = %s", (head_id,))
    if record is None:
        raise LookupError(f"no projection head {head_id}")
    return record


def latest_candidate(conn: psycopg.Connection, pack: str) -> HeadRecord | None:
    return _one(conn, "pack = %s AND status = 'candidate' ORDER BY id DESC LIMIT 1", (pack,))


def promoted(conn: psycopg.Connection, pack: str) -> HeadRecord | None:
    return _one(conn, "pack = %s AND status = 'promoted'", (pack,))


def decide(conn: psycopg.Connection, head_id: int, promote: bool, reason: str) -> None:
    """Promote (retiring the previous head of the pack) or reject a candidate."""
    if promote:
        conn.execute(
            "UPDATE projection_heads SET status = 'retired' WHERE status = 'promoted'"
            " AND pack = (SELECT pack FROM projection_heads WHERE id = %s)",
            (head_id,),
        )
    conn.execute(
        "UPDATE projection_heads SET status = %s, decision = %s, decided_at = now() WHERE id = %s",
        ("promoted" if promote else "rejected", reason, head_id),
    )


@dataclass(frozen=True)
class HeadUse:
    id: int
    pack: str
    status: str
    checkpoint_path: str
    person_ids: list[int] | None  # None: trained before persons were recorded


def heads_possibly_trained_on(conn: psycopg.Connection, person_ids: list[int]) -> list[HeadUse]:
    """Heads whose recorded persons include any of these, and heads with no record (their
    checkpoints say); heads already retired for a forget are left out."""
    rows = conn.execute(
        "SELECT id, pack, status, checkpoint_path, person_ids FROM projection_heads"
        " WHERE (person_ids IS NULL OR person_ids && %s::bigint[])"
        " AND decision IS DISTINCT FROM %s ORDER BY id",
        (person_ids, FORGOTTEN_DECISION),
    ).fetchall()
    return [HeadUse(*row) for row in rows]


FORGOTTEN_DECISION = "retired: trained on a forgotten person's faces; checkpoint deleted"


def retire_for_forget(conn: psycopg.Connection, head_ids: list[int]) -> int:
    """Retire heads that learnt from a forgotten person, and release the automatic
    assignments they made (face_assignments decides those faces again without them)."""
    conn.execute(
        "UPDATE projection_heads SET status = 'retired', decision = %s, decided_at = now()"
        " WHERE id = ANY(%s)",
        (FORGOTTEN_DECISION, head_ids),
    )
    cur = conn.execute(
        "UPDATE faces SET person_id = NULL, assignment_method = NULL,"
        " assignment_similarity = NULL, assignment_prototype_id = NULL, assignment_head = NULL,"
        " assigned_at = NULL, updated_at = now()"
        " WHERE assignment_method = 'auto' AND assignment_head = ANY(%s)",
        ([f"head-{i}" for i in head_ids],),
    )
    return cur.rowcount
