"""SQL for faces a person draws on a photo: one drawer a photo at a time (an advisory lock),
the photo's boxes to check overlap against, and the face's embedding (the face row itself is
store/faces.insert_undetected_face's)."""

from __future__ import annotations

import numpy as np
import psycopg

DRAWING_LOCK_CLASS = 23_013  # advisory-lock class (migration 0013's feature): one drawer a photo


def lock_photo_for_drawing(conn: psycopg.Connection, image_id: int) -> None:
    """Serialise faces drawn on one photo until the transaction ends: two people drawing the
    same box at once would otherwise both pass the overlap check and store the face twice."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(%s, (%s::bigint %% 2147483647)::int)",
        (DRAWING_LOCK_CLASS, image_id),
    )


def photo_boxes(conn: psycopg.Connection, image_id: int, pack: str) -> list[tuple[int, list]]:
    """(face id, x1 y1 x2 y2) of a photo's faces of a pack."""
    rows = conn.execute(
        "SELECT id, bbox FROM faces WHERE image_id = %s AND pack = %s ORDER BY id",
        (image_id, pack),
    ).fetchall()
    return [(r[0], [float(v) for v in r[1]]) for r in rows]


def store_embedding(conn: psycopg.Connection, face_id: int, pack: str, vector: np.ndarray) -> None:
    conn.execute(
        "INSERT INTO face_embeddings (face_id, pack, embedding) VALUES (%s, %s, %s::vector)",
        (face_id, pack, np.asarray(vector, dtype=np.float32).tolist()),
    )
