"""SQL for photos: the library-file cache and one image row per distinct content."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import psycopg

from face_assets.records import FileRecord, ImageRecord
from face_assets.store.rows import first_column


@dataclass(frozen=True)
class PendingImage:
    image_id: int
    sha256: str
    paths: tuple[str, ...]
    forgotten: tuple[tuple[float, float, float, float], ...] = ()  # tombstones, any pack


def cached_files(conn: psycopg.Connection) -> dict[str, FileRecord]:
    rows = conn.execute(
        "SELECT rel_path, size, mtime_ns, sha256, month, status, status_detail,"
        " image_id IS NOT NULL FROM library_files"
    ).fetchall()
    return {r[0]: FileRecord(*r) for r in rows}


def upsert_files(conn: psycopg.Connection, files: list[FileRecord]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO library_files (rel_path, size, mtime_ns, sha256, month, status,"
            " status_detail) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (rel_path) DO UPDATE SET size = EXCLUDED.size,"
            " mtime_ns = EXCLUDED.mtime_ns, sha256 = EXCLUDED.sha256, month = EXCLUDED.month,"
            " status = EXCLUDED.status, status_detail = EXCLUDED.status_detail,"
            " image_id = CASE WHEN library_files.sha256 IS DISTINCT FROM EXCLUDED.sha256"
            "   THEN NULL ELSE library_files.image_id END,"
            " seen_at = now()",
            [
                (f.rel_path, f.size, f.mtime_ns, f.sha256, f.month, f.status, f.status_detail)
                for f in files
            ],
        )


def first_file_month(conn: psycopg.Connection) -> str | None:
    """The earliest month of any library file scanned (None for an empty library)."""
    return conn.execute("SELECT min(month) FROM library_files").fetchone()[0]


def forget_missing_files(conn: psycopg.Connection, present: set[str]) -> int:
    """Drop cache rows of files no longer in the library (their images and faces stay)."""
    known = [r[0] for r in conn.execute("SELECT rel_path FROM library_files").fetchall()]
    gone = [p for p in known if p not in present]
    if gone:
        conn.execute("DELETE FROM library_files WHERE rel_path = ANY(%s)", (gone,))
    return len(gone)


def register_images(conn: psycopg.Connection, images: list[ImageRecord]) -> tuple[int, int]:
    """Insert images by content hash and link their files; returns (new, already known)."""
    new = 0
    with conn.cursor() as cur:
        for img in images:
            cur.execute(
                "INSERT INTO images (sha256, rel_path, byte_size, width, height, format, taken_at,"
                " time_source, month, status, status_detail, notes)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (sha256) DO NOTHING RETURNING id",
                (
                    img.sha256,
                    img.rel_path,
                    img.byte_size,
                    img.width,
                    img.height,
                    img.format,
                    img.taken_at,
                    img.time_source,
                    img.month,
                    img.status,
                    img.status_detail,
                    list(img.notes),
                ),
            )
            new += cur.fetchone() is not None
        cur.execute(
            "UPDATE library_files f SET image_id = i.id FROM images i"
            " WHERE f.sha256 = i.sha256 AND f.image_id IS DISTINCT FROM i.id"
        )
        # A file whose content is an image already found unusable shares that image's reason.
        cur.execute(
            "UPDATE library_files f SET status = i.status, status_detail = i.status_detail"
            " FROM images i WHERE f.image_id = i.id AND f.status = 'ok' AND i.status <> 'ok'"
        )
    return new, len(images) - new


def month_image_counts(conn: psycopg.Connection, month: str) -> Counter[str]:
    rows = conn.execute(
        "SELECT status, count(*) FROM images WHERE month = %s GROUP BY status", (month,)
    ).fetchall()
    return Counter({status: count for status, count in rows})


def month_file_problems(conn: psycopg.Connection, month: str) -> Counter[str]:
    """Files refused before their content could be read (no image row exists for them)."""
    rows = conn.execute(
        "SELECT status, count(*) FROM library_files WHERE month = %s AND sha256 IS NULL"
        " GROUP BY status",
        (month,),
    ).fetchall()
    return Counter({status: count for status, count in rows})


def months_with_pending_work(conn: psycopg.Connection, pack: str, months: list[str]) -> set[str]:
    """Of the months, those holding a readable file not registered yet, a usable photo this
    pack has not detected, or a face without an embedding or a quality: one query of EXISTS
    probes (a month with work stops at its first row; nothing is fetched)."""
    rows = conn.execute(
        "SELECT m FROM unnest(%s::text[]) AS m WHERE"
        " EXISTS (SELECT 1 FROM library_files lf WHERE lf.month = m"
        "   AND lf.sha256 <> '' AND lf.image_id IS NULL)"
        " OR EXISTS (SELECT 1 FROM images i WHERE i.month = m AND i.status = 'ok'"
        "   AND NOT EXISTS (SELECT 1 FROM detections d WHERE d.image_id = i.id AND d.pack = %s))"
        " OR EXISTS (SELECT 1 FROM faces f WHERE f.month = m AND f.pack = %s"
        "   AND (f.quality IS NULL"
        "     OR NOT EXISTS (SELECT 1 FROM face_embeddings e WHERE e.face_id = f.id)))",
        (list(months), pack, pack),
    ).fetchall()
    return {r[0] for r in rows}


def images_to_detect(
    conn: psycopg.Connection,
    month: str,
    pack: str,
    redetect: bool,
    image_ids: list[int] | None = None,
) -> list[PendingImage]:
    """The month's usable photos this pack has not detected (all of them with `redetect`),
    only those of `image_ids` when given (one photo's re-detection reads one row)."""
    rows = conn.execute(
        "SELECT i.id, i.sha256, i.rel_path,"
        " coalesce(array_agg(f.rel_path ORDER BY f.rel_path)"
        "   FILTER (WHERE f.rel_path IS NOT NULL), '{}'),"
        # Tombstones of forgotten faces hold for every pack: the person is in the pixels.
        " (SELECT coalesce(array_agg(s.bbox ORDER BY s.id), '{}')"
        "   FROM forgotten_faces s WHERE s.image_id = i.id)"
        " FROM images i LEFT JOIN library_files f ON f.image_id = i.id"
        " WHERE i.month = %s AND i.status = 'ok'"
        " AND (%s OR NOT EXISTS (SELECT 1 FROM detections d WHERE d.image_id = i.id"
        "   AND d.pack = %s))"
        " AND (%s::bigint[] IS NULL OR i.id = ANY(%s::bigint[]))"
        " GROUP BY i.id ORDER BY i.id",
        (month, redetect, pack, image_ids, image_ids),
    ).fetchall()
    result = []
    for image_id, sha256, first_path, paths, forgotten in rows:
        ordered = tuple(dict.fromkeys([*paths, first_path]))
        boxes = tuple(tuple(float(v) for v in box) for box in forgotten or [])
        result.append(PendingImage(image_id, sha256, ordered, boxes))
    return result


def mark_image_failed(conn: psycopg.Connection, image_id: int, reason: str, detail: str) -> None:
    """The image's reason, on the image and on every library file holding its content (the
    scan only read the header and said `ok`; decoding found the real state)."""
    conn.execute(
        "UPDATE images SET status = %s, status_detail = %s, updated_at = now() WHERE id = %s",
        (reason, detail[:500], image_id),
    )
    conn.execute(
        "UPDATE library_files SET status = %s, status_detail = %s WHERE image_id = %s",
        (reason, detail[:500], image_id),
    )


def add_image_notes(conn: psycopg.Connection, image_id: int, notes: tuple[str, ...]) -> None:
    if notes:
        conn.execute(
            "UPDATE images SET notes = (SELECT array_agg(DISTINCT n) FROM"
            " unnest(notes || %s::text[]) AS n), updated_at = now() WHERE id = %s",
            (list(notes), image_id),
        )


def months_with_new_faces(conn: psycopg.Connection, pack: str, since: object) -> list[str]:
    """Months holding faces detected since a moment (the nightly assignment's work list)."""
    return first_column(
        conn,
        "SELECT DISTINCT month FROM faces WHERE pack = %s AND created_at >= %s ORDER BY month",
        (pack, since),
    )


def images_without_detection(
    conn: psycopg.Connection, pack: str, limit: int | None, offset: int
) -> list[tuple[int, str]]:
    """(image id, month) of usable images this pack has not detected yet, in id order from
    `offset`, at most `limit` (None: all): seed 002's backfill selection."""
    rows = conn.execute(
        "SELECT i.id, i.month FROM images i WHERE i.status = 'ok'"
        " AND NOT EXISTS (SELECT 1 FROM detections d WHERE d.image_id = i.id AND d.pack = %s)"
        " ORDER BY i.id OFFSET %s LIMIT %s",
        (pack, offset, limit),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def count_images_without_detection(conn: psycopg.Connection, pack: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM images i WHERE i.status = 'ok'"
        " AND NOT EXISTS (SELECT 1 FROM detections d WHERE d.image_id = i.id AND d.pack = %s)",
        (pack,),
    ).fetchone()[0]
