"""SQL for person prototypes: the vectors assignment matches faces against, replaced per
person when their human labels change, dropped when a person is no longer active."""

from __future__ import annotations

import numpy as np
import psycopg

from face_assets.store.vectors import id_vectors, no_vectors, stored_width


def replace_prototypes_of(
    conn: psycopg.Connection,
    pack: str,
    person_ids: list[int],
    rows: list[tuple[int, str, int | None, np.ndarray]],
) -> int:
    """Replace the prototypes of many persons at once: rows are (person, role, face, vector)."""
    conn.execute(
        "DELETE FROM person_prototypes WHERE person_id = ANY(%s) AND pack = %s",
        (person_ids, pack),
    )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO person_prototypes (person_id, pack, role, face_id, embedding)"
            " VALUES (%s, %s, %s, %s, %s)",
            [(person, pack, role, face, emb) for person, role, face, emb in rows],
        )
    return len(rows)


def drop_prototypes_of_inactive(conn: psycopg.Connection) -> int:
    cur = conn.execute(
        "DELETE FROM person_prototypes pp USING persons p WHERE p.id = pp.person_id"
        " AND p.status <> 'active'"
    )
    return cur.rowcount


def prototypes(
    conn: psycopg.Connection, pack: str
) -> tuple[list[int], list[int], np.ndarray, list[str]]:
    """(prototype ids, person ids, embeddings, roles) of active persons in this pack."""
    rows = conn.execute(
        "SELECT pp.id, pp.person_id, pp.role FROM person_prototypes pp"
        " JOIN persons p ON p.id = pp.person_id WHERE pp.pack = %s AND p.status = 'active'"
        " ORDER BY pp.id",
        (pack,),
    ).fetchall()
    if not rows:
        return [], [], no_vectors(stored_width(conn, pack) or 0), []
    ids, vectors = id_vectors(
        conn,
        "SELECT pp.id, pp.embedding FROM person_prototypes pp JOIN persons p"
        " ON p.id = pp.person_id WHERE pp.pack = %s AND p.status = 'active'",
        (pack,),
    )
    position = {int(i): n for n, i in enumerate(ids.tolist())}
    order = [position[r[0]] for r in rows]
    return [r[0] for r in rows], [r[1] for r in rows], vectors[order], [r[2] for r in rows]


def prototype_centroids(
    conn: psycopg.Connection, pack: str, dim: int
) -> tuple[list[int], np.ndarray]:
    """(person ids, centroid embeddings) of active persons in this pack (dim: the pack's width,
    the empty array's when there are none)."""
    ids, vectors = id_vectors(
        conn,
        "SELECT pp.person_id, pp.embedding FROM person_prototypes pp JOIN persons p"
        " ON p.id = pp.person_id WHERE pp.pack = %s AND p.status = 'active'"
        " AND pp.role = 'centroid' ORDER BY pp.person_id",
        (pack,),
        dim,
    )
    return ids.tolist(), vectors
