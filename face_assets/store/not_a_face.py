"""SQL for "not a face": the face row removed and a tombstone left on its box so detection never
stores it again, the tombstones listed, undone, or overridden by a drawn face."""

from __future__ import annotations

import psycopg

from face_assets.store.rows import dicts, the_row


def delete_face_as_not_a_face(conn: psycopg.Connection, face_id: int) -> dict:
    """The face row removed (embedding cascades), a not-a-face tombstone left on its box;
    returns what the caller needs: photo, pack, person, tombstone id and media paths."""
    image_id, pack, person_id, bbox, crop, thumb = the_row(
        conn,
        "DELETE FROM faces WHERE id = %s RETURNING image_id, pack, person_id, bbox, crop_path,"
        " thumb_path",
        (face_id,),
        f"no face {face_id}",
    )
    tombstone = conn.execute(
        "INSERT INTO forgotten_faces (image_id, bbox, reason, pack)"
        " VALUES (%s, %s, 'not_a_face', %s) RETURNING id",
        (image_id, bbox, pack),
    ).fetchone()[0]
    in_use = conn.execute(
        "SELECT count(*) FROM faces WHERE crop_path = %s OR thumb_path = %s", (crop, thumb)
    ).fetchone()[0]
    return {
        "image_id": image_id,
        "pack": pack,
        "person_id": person_id,
        "tombstone_id": tombstone,
        "media_paths": [] if in_use else [crop, thumb],
    }


def not_a_face_tombstones(conn: psycopg.Connection, image_id: int) -> list[dict]:
    """A photo's not-a-face marks, oldest first, with when each was made: the photo page
    offers the recent ones for undo."""
    return dicts(
        conn,
        "SELECT id, bbox, pack, created_at FROM forgotten_faces"
        " WHERE image_id = %s AND reason = 'not_a_face' ORDER BY id",
        (image_id,),
        ("id", "bbox", "pack", "created_at"),
    )


def not_a_face_tombstones_beside(conn: psycopg.Connection, tombstone_id: int) -> list[dict]:
    """The not-a-face tombstones of the photo a tombstone is on (none when there is no such
    tombstone), as not_a_face_tombstones gives them: the undo checks its mark among them."""
    row = conn.execute(
        "SELECT image_id FROM forgotten_faces WHERE id = %s", (tombstone_id,)
    ).fetchone()
    return [] if row is None else not_a_face_tombstones(conn, row[0])


def remove_not_a_face(conn: psycopg.Connection, tombstone_id: int) -> tuple[int, str | None]:
    """A not-a-face tombstone removed: (image id, pack); LookupError when there is none (a
    forgotten person's tombstone is never removed here)."""
    row = the_row(
        conn,
        "DELETE FROM forgotten_faces WHERE id = %s AND reason = 'not_a_face'"
        " RETURNING image_id, pack",
        (tombstone_id,),
        f"no 'not a face' mark {tombstone_id}",
    )
    return row[0], row[1]


def remove_tombstones_under(conn: psycopg.Connection, tombstone_ids: list[int]) -> int:
    """Not-a-face tombstones a person overrode by drawing a face on the same place."""
    return conn.execute(
        "DELETE FROM forgotten_faces WHERE id = ANY(%s) AND reason = 'not_a_face'",
        (tombstone_ids,),
    ).rowcount


def tombstone_boxes(conn: psycopg.Connection, image_id: int) -> list[tuple[int, str, list]]:
    rows = conn.execute(
        "SELECT id, reason, bbox FROM forgotten_faces WHERE image_id = %s ORDER BY id",
        (image_id,),
    ).fetchall()
    return [(r[0], r[1], [float(v) for v in r[2]]) for r in rows]


def redetect_photo(conn: psycopg.Connection, image_id: int, pack: str) -> int:
    """Queue one photo for detection again (its faces keep their rows: detection upserts by
    overlap)."""
    return conn.execute(
        "DELETE FROM detections WHERE image_id = %s AND pack = %s", (image_id, pack)
    ).rowcount


def not_a_face_count(conn: psycopg.Connection) -> int:
    return conn.execute(
        "SELECT count(*) FROM forgotten_faces WHERE reason = 'not_a_face'"
    ).fetchone()[0]
