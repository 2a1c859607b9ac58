"""SQL for detected faces, their embeddings and quality scores."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import psycopg

from face_assets.store.vectors import ensure_pack_index, stored_width


def vector_array(value: object) -> np.ndarray:
    """pgvector's psycopg loader returns Vector objects; the domain code wants float32 arrays."""
    if hasattr(value, "to_numpy"):
        return value.to_numpy().astype(np.float32, copy=False)
    return np.asarray(value, dtype=np.float32)


@dataclass(frozen=True)
class FaceRow:
    """A face as the detection stage writes it; `face_id` set when it is a stored face found
    again (matched by box overlap), whose id, labels, cluster and history are kept."""

    face_index: int
    bbox: tuple[float, float, float, float]
    box_key: tuple[int, int, int, int]  # the box in whole pixels (vision.faces.box_key)
    landmarks: np.ndarray
    det_score: float
    crop_path: str
    thumb_path: str
    face_id: int | None = None
    crop_changed: bool = True  # a found-again face's embedding and quality are then redone


@dataclass(frozen=True)
class StoredFace:
    face_id: int
    image_id: int
    bbox: tuple[float, float, float, float]
    landmarks: np.ndarray
    det_score: float
    crop_path: str


@dataclass(frozen=True)
class KnownFace:
    """A stored face of an image about to be detected again."""

    face_id: int
    bbox: tuple[float, float, float, float]
    landmarks: np.ndarray
    crop_path: str
    thumb_path: str
    human: bool


def known_faces(
    conn: psycopg.Connection, image_ids: list[int], pack: str
) -> dict[int, list[KnownFace]]:
    """The stored faces of these images in this pack, by image (what re-detection matches)."""
    rows = conn.execute(
        "SELECT image_id, id, bbox, landmarks, crop_path, thumb_path,"
        " assignment_method IS NOT DISTINCT FROM 'human'"
        " FROM faces WHERE image_id = ANY(%s) AND pack = %s ORDER BY image_id, id",
        (image_ids, pack),
    ).fetchall()
    found: dict[int, list[KnownFace]] = {}
    for image_id, face_id, bbox, landmarks, crop, thumb, human in rows:
        points = np.asarray(landmarks, dtype=np.float32).reshape(5, 2)
        found.setdefault(image_id, []).append(
            KnownFace(face_id, tuple(float(v) for v in bbox), points, crop, thumb, bool(human))
        )
    return found


@dataclass(frozen=True)
class ImageFacesWritten:
    inserted: int
    refreshed: int
    removed: int
    removed_paths: list[str]  # media of removed faces no kept face uses: delete after commit


def replace_image_faces(
    conn: psycopg.Connection,
    image_id: int,
    pack: str,
    month: str,
    faces: list[FaceRow],
    params: dict,
) -> ImageFacesWritten:
    """Write one image's faces: found-again faces refreshed in place, new ones inserted.

    A face matched to a stored one (`face_id`) keeps its id, labels, cluster and history; only
    box, landmarks, score and files are refreshed, and when its aligned crop changed its
    embedding and quality are dropped so the next stages recompute them from the new crop.
    Stored faces the detector no longer finds are removed unless a human labelled them or the
    face was drawn by hand or imported from a tag (`source` other than detected).
    """
    found = [f for f in faces if f.face_id is not None]
    new = [f for f in faces if f.face_id is None]

    def values(f: FaceRow) -> tuple:
        return (
            month,
            f.face_index,
            *f.box_key,
            [float(v) for v in f.bbox],
            [float(v) for v in np.asarray(f.landmarks).reshape(-1)],
            f.det_score,
            f.crop_path,
            f.thumb_path,
        )

    kept_ids: list[int] = []
    with conn.cursor() as cur:
        for f in found:
            cur.execute(
                "UPDATE faces SET month = %s, face_index = %s, bbox_x = %s, bbox_y = %s,"
                " bbox_w = %s, bbox_h = %s, bbox = %s, landmarks = %s, det_score = %s,"
                " crop_path = %s, thumb_path = %s, updated_at = now(),"
                " quality = CASE WHEN %s THEN NULL ELSE quality END"
                " WHERE id = %s AND image_id = %s AND pack = %s RETURNING id",
                (*values(f), f.crop_changed, f.face_id, image_id, pack),
            )
            row = cur.fetchone()
            if row is None:  # removed meanwhile (a forget): never resurrect it
                continue
            kept_ids.append(row[0])
        stale = [f.face_id for f in found if f.crop_changed and f.face_id in kept_ids]
        if stale:
            cur.execute("DELETE FROM face_embeddings WHERE face_id = ANY(%s)", (stale,))
        for f in new:
            cur.execute(
                "INSERT INTO faces (image_id, pack, month, face_index, bbox_x, bbox_y, bbox_w,"
                " bbox_h, bbox, landmarks, det_score, crop_path, thumb_path)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (image_id, pack, *values(f)),
            )
            kept_ids.append(cur.fetchone()[0])
        cur.execute(
            "DELETE FROM faces WHERE image_id = %s AND pack = %s"
            " AND assignment_method IS DISTINCT FROM 'human' AND source = 'detected'"
            " AND NOT (id = ANY(%s))"
            " RETURNING crop_path, thumb_path",
            (image_id, pack, kept_ids),
        )
        gone = cur.fetchall()
        in_use = {
            p
            for row in conn.execute(
                "SELECT crop_path, thumb_path FROM faces WHERE image_id = %s AND pack = %s",
                (image_id, pack),
            )
            for p in row
        }
        cur.execute(
            "INSERT INTO detections (image_id, pack, face_count, params) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (image_id, pack) DO UPDATE SET face_count = EXCLUDED.face_count,"
            " params = EXCLUDED.params, detected_at = now()",
            (image_id, pack, len(faces), json.dumps(params, sort_keys=True)),
        )
    removed_paths = sorted({p for row in gone for p in row} - in_use)
    return ImageFacesWritten(len(new), len(kept_ids) - len(new), len(gone), removed_paths)


def faces_without_embedding(
    conn: psycopg.Connection, month: str, pack: str
) -> list[tuple[int, str]]:
    return conn.execute(
        "SELECT f.id, f.crop_path FROM faces f"
        " LEFT JOIN face_embeddings e ON e.face_id = f.id"
        " WHERE f.month = %s AND f.pack = %s AND e.face_id IS NULL ORDER BY f.id",
        (month, pack),
    ).fetchall()


def store_embeddings(
    conn: psycopg.Connection, face_ids: list[int], pack: str, embeddings: np.ndarray
) -> None:
    """Bulk-load through binary COPY and one upsert (a third of per-row statement time).
    Vectors must have the width of the pack's stored ones; the pack's HNSW index is built on
    its first rows."""
    if not face_ids:
        return
    width = stored_width(conn, pack) or embeddings.shape[-1]
    if embeddings.ndim != 2 or embeddings.shape[1] != width:
        raise ValueError(f"pack {pack!r} stores {width}-d vectors, not shape {embeddings.shape}")
    ensure_pack_index(conn, pack, width)
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS incoming_embeddings"
        " (face_id bigint, embedding vector) ON COMMIT DELETE ROWS"
    )
    with conn.cursor().copy(
        "COPY incoming_embeddings (face_id, embedding) FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "vector"])
        for face_id, vector in zip(face_ids, embeddings.astype(np.float32), strict=True):
            copy.write_row((face_id, vector))
    conn.execute(
        "INSERT INTO face_embeddings (face_id, pack, embedding)"
        " SELECT face_id, %s, embedding FROM incoming_embeddings"
        " ON CONFLICT (face_id) DO UPDATE SET pack = EXCLUDED.pack,"
        " embedding = EXCLUDED.embedding, created_at = now()",
        (pack,),
    )


def faces_of_month(
    conn: psycopg.Connection, month: str, pack: str, only_unscored: bool = False
) -> list[StoredFace]:
    rows = conn.execute(
        "SELECT id, image_id, bbox, landmarks, det_score, crop_path FROM faces"
        " WHERE month = %s AND pack = %s AND (NOT %s OR quality IS NULL) ORDER BY id",
        (month, pack, only_unscored),
    ).fetchall()
    return [
        StoredFace(
            r[0], r[1], tuple(r[2]), np.asarray(r[3], dtype=np.float32).reshape(5, 2), r[4], r[5]
        )
        for r in rows
    ]


def insert_undetected_face(
    conn: psycopg.Connection,
    image_id: int,
    pack: str,
    month: str,
    bbox: tuple[float, float, float, float],
    box_key: tuple[int, int, int, int],
    landmarks: np.ndarray,
    det_score: float,
    crop_path: str,
    thumb_path: str,
    source: str,
    quality: tuple | None = None,
) -> int:
    """A face not found by the detector (`source`: drawn 'manual' or 'imported' from tags),
    the photo's next face_index, kept by every re-detection; `quality`: the score and its parts
    (QualityParts.values()) when known, else left unscored."""
    index = conn.execute(
        "SELECT coalesce(max(face_index) + 1, 0) FROM faces WHERE image_id = %s AND pack = %s",
        (image_id, pack),
    ).fetchone()[0]
    return conn.execute(
        "INSERT INTO faces (image_id, pack, month, face_index, bbox_x, bbox_y, bbox_w, bbox_h,"
        " bbox, landmarks, det_score, crop_path, thumb_path, quality, quality_confidence,"
        " quality_size, quality_blur, quality_pose, blur_variance, yaw_ratio, source)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s) RETURNING id",
        (
            image_id,
            pack,
            month,
            index,
            *box_key,
            [float(v) for v in bbox],
            [float(v) for v in np.asarray(landmarks).reshape(-1)],
            float(det_score),
            crop_path,
            thumb_path,
            *(quality if quality is not None else (None,) * 7),
            source,
        ),
    ).fetchone()[0]


def store_quality(conn: psycopg.Connection, rows: list[tuple]) -> None:
    """rows: (face_id, quality, confidence, size, blur, pose, blur_variance, yaw_ratio)."""
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE faces SET quality = %s, quality_confidence = %s, quality_size = %s,"
            " quality_blur = %s, quality_pose = %s, blur_variance = %s, yaw_ratio = %s,"
            " updated_at = now() WHERE id = %s",
            [(*r[1:], r[0]) for r in rows],
        )


def month_face_summary(conn: psycopg.Connection, month: str, pack: str) -> dict:
    row = conn.execute(
        "SELECT count(*), count(e.face_id), count(f.quality), count(DISTINCT f.image_id)"
        " FROM faces f LEFT JOIN face_embeddings e ON e.face_id = f.id"
        " WHERE f.month = %s AND f.pack = %s",
        (month, pack),
    ).fetchone()
    return {"faces": row[0], "embedded": row[1], "scored": row[2], "images_with_faces": row[3]}


def month_qualities(conn: psycopg.Connection, month: str, pack: str) -> np.ndarray:
    rows = conn.execute(
        "SELECT quality FROM faces WHERE month = %s AND pack = %s AND quality IS NOT NULL",
        (month, pack),
    ).fetchall()
    return np.asarray([r[0] for r in rows], dtype=np.float64)


def forget_detections_of(conn: psycopg.Connection, face_ids: list[int]) -> int:
    """Queue these faces' images for detection again (their rows, ids and labels survive:
    detection upserts by box)."""
    cur = conn.execute(
        "DELETE FROM detections d USING faces f WHERE f.image_id = d.image_id"
        " AND f.pack = d.pack AND f.id = ANY(%s)",
        (face_ids,),
    )
    return cur.rowcount
