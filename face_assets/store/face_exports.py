"""SQL that reads the faces the seed 004 export writes: kept video faces and embedded photo
faces, each streamed in batches by id so a whole library is never held in memory."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import psycopg

from face_assets.store.faces import vector_array


@dataclass(frozen=True)
class ExportedVideoFace:
    face_id: int
    track_id: int
    frame_idx: int
    time_s: float
    bbox: list[float]
    landmarks: list[float]
    quality: float
    embedding: np.ndarray
    thumb_path: str
    rel_path: str
    width: int
    height: int
    person_name: str | None


def export_rows(
    conn: psycopg.Connection,
    pack: str,
    rel_path: str | None = None,
    month: str | None = None,
    batch: int = 2000,
):
    """Kept video faces to export, in (clip, track, frame) order, read in batches by id."""
    args = (pack, rel_path, rel_path, month, month)
    last = (0, 0, 0)
    while True:
        rows = conn.execute(
            "SELECT f.id, t.id, f.frame_idx, f.time_s, f.bbox, f.landmarks, f.quality,"
            " f.embedding, f.thumb_path, v.rel_path, v.width, v.height, p.name, v.id"
            " FROM video_faces f JOIN video_tracks t ON t.id = f.track_id"
            " JOIN videos v ON v.id = f.video_id LEFT JOIN persons p ON p.id = t.person_id"
            " WHERE t.pack = %s AND (%s::text IS NULL OR v.rel_path = %s)"
            " AND (%s::text IS NULL OR v.month = %s) AND (v.id, t.id, f.frame_idx) > (%s, %s, %s)"
            " ORDER BY v.id, t.id, f.frame_idx LIMIT %s",
            (*args, *last, batch),
        ).fetchall()
        if not rows:
            return
        for r in rows:
            yield ExportedVideoFace(
                int(r[0]), int(r[1]), int(r[2]), float(r[3]), list(r[4]), list(r[5]),
                float(r[6]), vector_array(r[7]), r[8], r[9], int(r[10]), int(r[11]), r[12],
            )  # fmt: skip
        last = (int(rows[-1][13]), int(rows[-1][1]), int(rows[-1][2]))


def photo_export_rows(conn: psycopg.Connection, pack: str, month: str | None, batch: int = 2000):
    """Embedded photo faces to export (forgotten faces are deleted, so never among them), as
    rows whose fifth column is the embedding as an array."""
    last = 0
    while True:
        rows = conn.execute(
            "SELECT f.id, f.bbox, f.landmarks, COALESCE(f.quality, 0), e.embedding,"
            " f.thumb_path, i.rel_path, i.width, i.height, p.name FROM faces f"
            " JOIN face_embeddings e ON e.face_id = f.id JOIN images i ON i.id = f.image_id"
            " LEFT JOIN persons p ON p.id = f.person_id WHERE f.pack = %s AND f.id > %s"
            " AND (%s::text IS NULL OR f.month = %s) ORDER BY f.id LIMIT %s",
            (pack, last, month, month, batch),
        ).fetchall()
        if not rows:
            return
        yield from ((*r[:4], vector_array(r[4]), *r[5:]) for r in rows)
        last = int(rows[-1][0])
