"""SQL that reads embeddings in bulk: a binary COPY parsed by one numpy view, the
embeddings of given faces, and their nearest neighbours through each pack's HNSW index.

Vectors are stored without a fixed width (migration 0011); each pack's rows have the pack's
width and their own partial expression index, `(embedding::vector(width)) WHERE pack = ...`
(pack_index). A similarity query names the pack and casts to its width, the two things that
let the planner walk that pack's graph and nothing else.
"""

from __future__ import annotations

import struct

import numpy as np
import psycopg
from psycopg import sql

_COPY_HEADER = 19  # PGCOPY signature (11) + flags (4) + header extension length (4)
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)
HNSW_EF_SEARCH = 64  # pgvector's default 40 would cap a probe's answers below the k asked for
_DIM_OFFSET = _COPY_HEADER + 2 + 4 + 8 + 4  # the first row's vector width: fields, id, length


def no_vectors(width: int) -> np.ndarray:
    """An empty (0, width) float32 array: what a read of no rows returns."""
    return np.zeros((0, width), dtype=np.float32)


def pack_index(pack: str) -> str:
    """Name of the pack's HNSW index (the migration's naming: face_embeddings_hnsw_<pack>)."""
    return f"face_embeddings_hnsw_{pack}"


def cast(column: str, width: int) -> sql.Composable:
    """`column::vector(width)`: the expression a pack's index is built on."""
    return sql.SQL("({}::vector({}))").format(sql.SQL(column), sql.Literal(int(width)))


def stored_width(conn: psycopg.Connection, pack: str) -> int | None:
    """The width of the pack's stored vectors (None before its first): a pack's first rows
    fix it, since the store knows no registry (vision/packs.py gives a pack's width)."""
    row = conn.execute(
        "SELECT vector_dims(embedding) FROM face_embeddings WHERE pack = %s LIMIT 1", (pack,)
    ).fetchone()
    return None if row is None else int(row[0])


def ensure_pack_index(conn: psycopg.Connection, pack: str, width: int) -> bool:
    """Build the pack's HNSW index if it is missing (True when built). Checked in the catalog
    first: CREATE INDEX IF NOT EXISTS would take a SHARE lock and queue behind every writer."""
    name = pack_index(pack)
    if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]:
        return False
    conn.execute(
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS {} ON face_embeddings USING hnsw ({} vector_cosine_ops)"
            " WHERE pack = {}"
        ).format(sql.Identifier(name), cast("embedding", width), sql.Literal(pack))
    )
    return True


def id_vectors(
    conn: psycopg.Connection, query: str, params: tuple, width: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(ids, float32 vectors) of a `SELECT bigint, vector` query, read by a binary COPY.

    All rows of one pack have one width, so a binary COPY row of (bigint, vector) has a fixed
    size and the whole answer is parsed by one numpy view instead of one Python object per row
    (pgvector's text loader took ~0.2 ms a vector: 7 s for 10k persons' prototypes): ~1M faces
    in seconds. The width is read from the first row; `width` shapes an empty answer.
    """
    buf = bytearray()
    with conn.cursor().copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)", params) as copy:
        for block in copy:
            buf += block
    if len(buf) <= _COPY_HEADER + 2:
        return np.zeros(0, dtype=np.int64), no_vectors(width)
    (width,) = struct.unpack_from(">h", buf, _DIM_OFFSET)
    row = np.dtype(
        [
            ("fields", ">i2"),
            ("id_len", ">i4"),
            ("id", ">i8"),
            ("vec_len", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("vec", ">f4", (width,)),
        ]
    )
    body = memoryview(buf)[_COPY_HEADER : len(buf) - 2]  # minus the trailer (-1 as int16)
    if len(body) % row.itemsize:
        raise ValueError("vectors of different widths in one answer (rows of several packs?)")
    rows = np.frombuffer(body, dtype=row)
    if rows.size and (rows["dim"] != width).any():
        raise ValueError("vectors of different widths in one answer (rows of several packs?)")
    return rows["id"].astype(np.int64), rows["vec"].astype(np.float32)


def embeddings(conn: psycopg.Connection, face_ids: np.ndarray, width: int = 0) -> np.ndarray:
    """Embeddings of these faces, in their order (all of one pack: one width)."""
    ids = np.asarray(face_ids, dtype=np.int64)
    if ids.size == 0:
        return no_vectors(width)
    found, vectors = id_vectors(
        conn,
        "SELECT e.face_id, e.embedding FROM face_embeddings e WHERE e.face_id = ANY(%s)",
        (ids.tolist(),),
        width,
    )
    position = {int(f): i for i, f in enumerate(found.tolist())}
    order = np.fromiter((position[int(f)] for f in ids), np.int64, ids.size)
    return vectors[order]


def nearest_embedded(
    conn: psycopg.Connection, pack: str, face_ids: np.ndarray, k: int
) -> list[list[tuple[int, float]]]:
    """Each face's k nearest faces of the pack by the pack's HNSW index (cosine similarity),
    itself excluded: how a refresh finds where new faces join the graph without reading the
    whole library."""
    # pgvector returns at most ef_search rows per index scan: never fewer than asked for.
    width = stored_width(conn, pack)
    if width is None:
        return [[] for _ in face_ids]
    conn.execute(f"SET LOCAL hnsw.ef_search = {max(HNSW_EF_SEARCH, int(k) + 1)}")
    # The inner query is the pack's index predicate (pack = literal) and ORDER BY its
    # expression ... LIMIT, so the planner walks that pack's graph: its rows are the index's
    # rows. The pack check on the result stays as a second guard.
    query = sql.SQL(
        "SELECT q.face_id, n.face_id, n.pack, 1 - n.distance FROM face_embeddings q"
        " CROSS JOIN LATERAL (SELECT e.face_id, e.pack, {e} <=> {q} AS distance"
        "   FROM face_embeddings e WHERE e.pack = {pack} ORDER BY {e} <=> {q} LIMIT %s) n"
        " WHERE q.face_id = ANY(%s) AND q.pack = {pack}"
    ).format(e=cast("e.embedding", width), q=cast("q.embedding", width), pack=sql.Literal(pack))
    rows = conn.execute(query, (k + 1, np.asarray(face_ids, dtype=np.int64).tolist())).fetchall()
    found: dict[int, list[tuple[int, float]]] = {}
    for face, other, other_pack, sim in rows:
        if other != face and other_pack == pack:
            found.setdefault(face, []).append((other, float(sim)))
    return [found.get(int(f), []) for f in face_ids]
