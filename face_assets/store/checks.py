"""SQL behind the asset checks: invariants of the stored face data."""

from __future__ import annotations

import psycopg


def embedding_shape_violations(
    conn: psycopg.Connection, pack: str, dim: int, tolerance: float
) -> tuple[int, int, int]:
    """(not unit-norm, wrong dimension, total) over the pack's embeddings."""
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE abs(vector_norm(embedding) - 1) > %s),"
        " count(*) FILTER (WHERE vector_dims(embedding) <> %s), count(*)"
        " FROM face_embeddings WHERE pack = %s",
        (tolerance, dim, pack),
    ).fetchone()
    return row[0], row[1], row[2]


def faces_missing_embedding(conn: psycopg.Connection, pack: str) -> dict[str, int]:
    """Faces without an embedding, per month, in months the embedding stage has run on."""
    rows = conn.execute(
        "SELECT f.month, count(*) FROM faces f"
        " WHERE f.pack = %s AND NOT EXISTS (SELECT 1 FROM face_embeddings e WHERE e.face_id = f.id)"
        " AND EXISTS (SELECT 1 FROM faces g JOIN face_embeddings e ON e.face_id = g.id"
        "   WHERE g.pack = f.pack AND g.month = f.month)"
        " GROUP BY f.month ORDER BY f.month",
        (pack,),
    ).fetchall()
    return dict(rows)


def face_media_paths(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute("SELECT crop_path, thumb_path FROM faces").fetchall()
    return [p for row in rows for p in row]


def quality_violations(conn: psycopg.Connection, pack: str) -> tuple[int, int]:
    """(out of [0, 1], unscored faces in months the quality stage has run on)."""
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE quality < 0 OR quality > 1),"
        " count(*) FILTER (WHERE quality IS NULL AND EXISTS (SELECT 1 FROM faces g"
        "   WHERE g.pack = f.pack AND g.month = f.month AND g.quality IS NOT NULL))"
        " FROM faces f WHERE pack = %s",
        (pack,),
    ).fetchone()
    return row[0], row[1]
