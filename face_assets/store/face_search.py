"""SQL for search by face: the faces nearest a vector through the pack's HNSW index (a bounded
cost whatever the library), a face's stored embedding, and what a hit shows."""

from __future__ import annotations

import numpy as np
import psycopg
from psycopg import sql

from face_assets.store import vectors as vector_store
from face_assets.store.faces import vector_array


def nearest_faces(
    conn: psycopg.Connection, pack: str, vector: np.ndarray, limit: int, ef_search: int
) -> list[tuple[int, float]]:
    """(face id, cosine similarity) of the faces nearest a vector, by pgvector's HNSW index:
    the index returns at most ef_search rows, so the cost is bounded whatever the library."""
    conn.execute(f"SET LOCAL hnsw.ef_search = {int(ef_search)}")
    # The pack's own index (vectors.pack_index): its predicate and expression, then ORDER BY
    # ... LIMIT, so the planner walks that pack's graph and no other pack's rows.
    e, q = vector_store.cast("e.embedding", len(vector)), vector_store.cast("%s", len(vector))
    query = sql.SQL(
        "SELECT e.face_id, 1 - ({e} <=> {q}) AS similarity FROM face_embeddings e"
        " WHERE e.pack = {pack} ORDER BY {e} <=> {q} LIMIT %s"
    ).format(e=e, q=q, pack=sql.Literal(pack))
    rows = conn.execute(query, (vector.tolist(), vector.tolist(), ef_search)).fetchall()
    return [(r[0], float(r[1])) for r in rows[:limit]]


def face_embedding(conn: psycopg.Connection, face_id: int) -> tuple[str, np.ndarray] | None:
    row = conn.execute(
        "SELECT pack, embedding FROM face_embeddings WHERE face_id = %s", (face_id,)
    ).fetchone()
    return None if row is None else (row[0], vector_array(row[1]))


def faces_brief(conn: psycopg.Connection, face_ids: list[int]) -> dict[int, dict]:
    """Photo, person and photo date of these faces."""
    rows = conn.execute(
        "SELECT f.id, f.image_id, f.person_id, p.name, i.taken_at, f.source FROM faces f"
        " JOIN images i ON i.id = f.image_id LEFT JOIN persons p ON p.id = f.person_id"
        " WHERE f.id = ANY(%s)",
        (face_ids,),
    ).fetchall()
    keys = ("id", "asset_id", "person_id", "person_name", "taken_at", "source")
    return {r[0]: dict(zip(keys, r, strict=True)) for r in rows}
