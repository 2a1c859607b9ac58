"""SQL for "are these two the same person?": the persons' centroids (bounded probe) and their
version, face counts, pairs a human said are different or seen in one photo, and the
"different" marks."""

from __future__ import annotations

import numpy as np
import psycopg

from face_assets.store.faces import vector_array
from face_assets.store.rows import keyed


def person_centroids(
    conn: psycopg.Connection, pack: str, limit: int, dim: int
) -> tuple[list[int], np.ndarray]:
    """Centroids of the `limit` active persons with the most faces (a bounded probe; dim: the
    pack's width, the empty array's when there are none)."""
    rows = conn.execute(
        "SELECT pp.person_id, pp.embedding FROM person_prototypes pp"
        " JOIN persons p ON p.id = pp.person_id AND p.status = 'active'"
        " WHERE pp.pack = %s AND pp.role = 'centroid'"
        " ORDER BY (SELECT count(*) FROM faces f WHERE f.person_id = pp.person_id) DESC,"
        " pp.person_id LIMIT %s",
        (pack, limit),
    ).fetchall()
    if not rows:
        return [], np.zeros((0, dim), dtype=np.float32)
    return [r[0] for r in rows], np.vstack([vector_array(r[1]) for r in rows])


def centroids_version(conn: psycopg.Connection, pack: str) -> tuple[int, int]:
    """Changes whenever a pack's centroids change: a rebuild deletes and inserts them (new
    ids), a forget or a hide deletes them (fewer)."""
    row = conn.execute(
        "SELECT count(*), coalesce(max(id), 0) FROM person_prototypes"
        " WHERE pack = %s AND role = 'centroid'",
        (pack,),
    ).fetchone()
    return int(row[0]), int(row[1])


def face_counts(conn: psycopg.Connection, person_ids: list[int]) -> dict[int, int]:
    return keyed(
        conn,
        "SELECT person_id, count(*) FROM faces WHERE person_id = ANY(%s) GROUP BY person_id",
        (person_ids,),
    )


def different_pairs(conn: psycopg.Connection, person_ids: list[int]) -> set[tuple[int, int]]:
    rows = conn.execute(
        "SELECT person_a, person_b FROM person_pairs_different"
        " WHERE person_a = ANY(%s) OR person_b = ANY(%s)",
        (person_ids, person_ids),
    ).fetchall()
    return {(a, b) for a, b in rows}


def pairs_in_one_photo(
    conn: psycopg.Connection, pairs: list[tuple[int, int]]
) -> set[tuple[int, int]]:
    """Pairs of persons seen together in a photo: two persons, never one."""
    if not pairs:
        return set()
    rows = conn.execute(
        "SELECT q.a, q.b FROM unnest(%s::bigint[], %s::bigint[]) q(a, b)"
        " WHERE EXISTS (SELECT 1 FROM faces fa JOIN faces fb ON fb.image_id = fa.image_id"
        "   WHERE fa.person_id = q.a AND fb.person_id = q.b)",
        ([a for a, _ in pairs], [b for _, b in pairs]),
    ).fetchall()
    return {(a, b) for a, b in rows}


def mark_different(conn: psycopg.Connection, a: int, b: int) -> bool:
    low, high = min(a, b), max(a, b)
    return (
        conn.execute(
            "INSERT INTO person_pairs_different (person_a, person_b) VALUES (%s, %s)"
            " ON CONFLICT DO NOTHING",
            (low, high),
        ).rowcount
        == 1
    )


def unmark_different(conn: psycopg.Connection, a: int, b: int) -> int:
    return conn.execute(
        "DELETE FROM person_pairs_different WHERE person_a = %s AND person_b = %s",
        (min(a, b), max(a, b)),
    ).rowcount
