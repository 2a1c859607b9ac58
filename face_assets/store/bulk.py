"""Bulk loading of embedded faces without photos; ships for the clustering tests and benchmark.

The clustering service tests and benchmarks/identity_scale.py put synthetic libraries into the
store with it; the real path writes faces through ingest."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import psycopg
from psycopg import sql

from face_assets.store import vectors as vector_store

ROWS_PER_COPY = 100_000  # binary COPY rows per call: ~200 MB of vectors at most
FIRST_MONTH_YEAR = 2000  # a synthetic library's month 0 is January of this year


class SyntheticRows(Protocol):
    """What add_library reads of face_assets.identity.synthetic.SyntheticLibrary (the store
    does not import the domain): per face its embedding, photo number and month number."""

    embeddings: np.ndarray
    photo_ids: np.ndarray
    months: np.ndarray


def _embedding_copy(face_ids: np.ndarray, pack: str, embeddings: np.ndarray) -> bytes:
    """(face_id, pack, embedding) rows in PostgreSQL's binary COPY format, built by numpy."""
    n, dim = embeddings.shape
    pack_bytes = pack.encode()
    row = np.dtype(
        [
            ("fields", ">i2"),
            ("id_len", ">i4"),
            ("id", ">i8"),
            ("pack_len", ">i4"),
            ("pack", f"S{len(pack_bytes)}"),
            ("vec_len", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("vec", ">f4", (dim,)),
        ]
    )
    rows = np.zeros(n, dtype=row)
    rows["fields"], rows["id_len"], rows["id"] = 3, 8, face_ids
    rows["pack_len"], rows["pack"] = len(pack_bytes), pack_bytes
    rows["vec_len"], rows["dim"], rows["vec"] = 4 + 4 * dim, dim, embeddings
    return vector_store.COPY_SIGNATURE + rows.tobytes() + vector_store.COPY_TRAILER


def add_faces(
    conn: psycopg.Connection,
    pack: str,
    embeddings: np.ndarray,
    photo_keys: np.ndarray,
    months: list[str],
    qualities: np.ndarray,
) -> np.ndarray:
    """Insert faces (one image per distinct photo key) with embeddings; returns face ids.

    Photo keys are strings unique to a library (they become the images' sha256 column).
    """
    n = len(embeddings)
    keys = [str(k) for k in photo_keys]
    distinct = sorted(set(keys))
    month_of = dict(zip(keys, months, strict=True))
    with conn.cursor().copy(
        "COPY images (sha256, rel_path, byte_size, time_source, month, status) FROM STDIN"
    ) as copy:
        for key in distinct:
            copy.write_row((key, f"synthetic/{key}.jpg", 0, "mtime", month_of[key], "ok"))
    image_id = dict(
        conn.execute("SELECT sha256, id FROM images WHERE sha256 = ANY(%s)", (distinct,)).fetchall()
    )
    first = conn.execute(
        "SELECT nextval(pg_get_serial_sequence('faces', 'id')) FROM generate_series(1, %s)",
        (n,),
    ).fetchall()
    face_ids = np.asarray([r[0] for r in first], dtype=np.int64)
    slot: dict[str, int] = {}
    with conn.cursor().copy(
        "COPY faces (id, image_id, pack, month, face_index, bbox_x, bbox_y, bbox_w, bbox_h,"
        " bbox, landmarks, det_score, crop_path, thumb_path, quality) FROM STDIN"
    ) as copy:
        for i in range(n):
            key = keys[i]
            index = slot[key] = slot.get(key, -1) + 1
            copy.write_row(
                (int(face_ids[i]), image_id[key], pack, months[i], index, 100 * index, 0, 50,
                 50, [0.0, 0.0, 50.0, 50.0], [0.0] * 10, 0.9, "", "", float(qualities[i]))
            )  # fmt: skip
    emb = np.asarray(embeddings, dtype=np.float32)
    for start in range(0, n, ROWS_PER_COPY):
        part = slice(start, start + ROWS_PER_COPY)
        with conn.cursor().copy(
            "COPY face_embeddings (face_id, pack, embedding) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(_embedding_copy(face_ids[part], pack, emb[part]))
    return face_ids


def month_names(months: np.ndarray) -> list[str]:
    """Month numbers of a synthetic library as the store's YYYY-MM months, 0 = January 2000."""
    return [f"{FIRST_MONTH_YEAR + int(m) // 12:04d}-{int(m) % 12 + 1:02d}" for m in months]


def add_library(
    conn: psycopg.Connection, pack: str, lib: SyntheticRows, rows: np.ndarray | slice = slice(None)
) -> np.ndarray:
    """Insert these rows (indices or a mask; default all) of a synthetic library as faces of
    quality 1, so that every one is clusterable; returns face ids in row order.

    Photo number p becomes the photo key "s<p>"; each call inserts its photos' images, so the
    faces of one photo come in one call (split a library by month or by whole photos)."""
    embeddings = lib.embeddings[rows]
    return add_faces(
        conn,
        pack,
        embeddings,
        np.asarray([f"s{int(p)}" for p in lib.photo_ids[rows]]),
        month_names(lib.months[rows]),
        np.ones(len(embeddings), dtype=np.float32),
    )


def label_faces(conn: psycopg.Connection, face_ids: list[int], names: list[str]) -> list[int]:
    """One new person per name, each face labelled by a 'human' (benchmark seeds); returns
    the person ids."""
    persons = [
        conn.execute("INSERT INTO persons (name) VALUES (%s) RETURNING id", (name,)).fetchone()[0]
        for name in names
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE faces SET person_id = %s, assignment_method = 'human', assigned_at = now(),"
            " cluster_id = NULL WHERE id = %s",
            list(zip(persons, face_ids, strict=True)),
        )
    return persons


def drop_vector_index(conn: psycopg.Connection, pack: str) -> None:
    """Bulk loads go faster without the pack's HNSW index; build_vector_index puts it back."""
    conn.execute(
        sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(vector_store.pack_index(pack)))
    )


def build_vector_index(conn: psycopg.Connection, pack: str) -> None:
    """pgvector's HNSW build, in memory and in parallel (measured: 111 s at 100k faces, 973 s
    at 1M on 2 cores; with less memory than the graph needs it spills and takes far longer)."""
    conn.execute("SET maintenance_work_mem = '8GB'")
    conn.execute("SET max_parallel_maintenance_workers = 2")
    width = vector_store.stored_width(conn, pack)
    if width is not None:
        vector_store.ensure_pack_index(conn, pack, width)
