"""SQL that reads embeddings in bulk: a binary COPY parsed by one numpy view, the
embeddings of given faces, and their nearest neighbours through pgvector's HNSW index."""

from __future__ import annotations

import struct

import numpy as np
import psycopg

_COPY_HEADER = 19  # PGCOPY signature (11) + flags (4) + header extension length (4)
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)
VECTOR_DIM = 512  # ArcFace width: every pack's vector(512) column
HNSW_EF_SEARCH = 64  # pgvector's default 40 would cap a probe's answers below the k asked for


def no_vectors() -> np.ndarray:
    """An empty (0, width) float32 array: what a read of no rows returns."""
    return np.zeros((0, VECTOR_DIM), dtype=np.float32)


def id_vectors(
    conn: psycopg.Connection, query: str, params: tuple
) -> tuple[np.ndarray, np.ndarray]:
    """(ids, float32 vectors) of a `SELECT bigint, vector(512)` query, read by a binary COPY.

    A binary COPY row of (bigint, vector(512)) has a fixed size, so the whole answer is parsed
    by one numpy view instead of one Python object per row (pgvector's text loader took
    ~0.2 ms a vector: 7 s for 10k persons' prototypes): ~1M faces in seconds.
    """
    buf = bytearray()
    with conn.cursor().copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)", params) as copy:
        for block in copy:
            buf += block
    row = np.dtype(
        [
            ("fields", ">i2"),
            ("id_len", ">i4"),
            ("id", ">i8"),
            ("vec_len", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("vec", ">f4", (VECTOR_DIM,)),
        ]
    )
    body = memoryview(buf)[_COPY_HEADER : len(buf) - 2]  # minus the trailer (-1 as int16)
    rows = np.frombuffer(body, dtype=row)
    if rows.size and (rows["dim"] != VECTOR_DIM).any():
        raise ValueError(f"embeddings of another width than {VECTOR_DIM}")
    return rows["id"].astype(np.int64), rows["vec"].astype(np.float32)


def embeddings(conn: psycopg.Connection, face_ids: np.ndarray) -> np.ndarray:
    """Embeddings of these faces, in their order."""
    ids = np.asarray(face_ids, dtype=np.int64)
    if ids.size == 0:
        return no_vectors()
    found, vectors = id_vectors(
        conn,
        "SELECT e.face_id, e.embedding FROM face_embeddings e WHERE e.face_id = ANY(%s)",
        (ids.tolist(),),
    )
    position = {int(f): i for i, f in enumerate(found.tolist())}
    order = np.fromiter((position[int(f)] for f in ids), np.int64, ids.size)
    return vectors[order]


def nearest_embedded(
    conn: psycopg.Connection, pack: str, face_ids: np.ndarray, k: int
) -> list[list[tuple[int, float]]]:
    """Each face's k nearest faces of the pack by pgvector's HNSW index (cosine similarity),
    itself excluded: how a refresh finds where new faces join the graph without reading the
    whole library."""
    # pgvector returns at most ef_search rows per index scan: never fewer than asked for.
    conn.execute(f"SET LOCAL hnsw.ef_search = {max(HNSW_EF_SEARCH, int(k) + 1)}")
    # Nothing but ORDER BY ... LIMIT in the inner query, so that the planner always walks
    # the HNSW index (a WHERE on pack made it scan and sort the whole pack when statistics
    # were stale: 49 ms a probe at 10k faces); other packs and the face itself are dropped
    # here, and the caller keeps only the faces it clusters.
    rows = conn.execute(
        "SELECT q.face_id, n.face_id, n.pack, 1 - n.distance FROM face_embeddings q"
        " CROSS JOIN LATERAL (SELECT e.face_id, e.pack, e.embedding <=> q.embedding AS distance"
        "   FROM face_embeddings e ORDER BY e.embedding <=> q.embedding LIMIT %s) n"
        " WHERE q.face_id = ANY(%s)",
        (k + 1, np.asarray(face_ids, dtype=np.int64).tolist()),
    ).fetchall()
    found: dict[int, list[tuple[int, float]]] = {}
    for face, other, other_pack, sim in rows:
        if other != face and other_pack == pack:
            found.setdefault(face, []).append((other, float(sim)))
    return [found.get(int(f), []) for f in face_ids]
