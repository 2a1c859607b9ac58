"""SQL for switching a library's model pack (services/repack.py): the months and faces of a
pack, the human decisions carried from an old face to the new pack's face at the same place,
and removing a pack's faces once the switch is done."""

from __future__ import annotations

import psycopg

from face_assets.store.rows import first_column


def months_of_pack(conn: psycopg.Connection, pack: str) -> list[str]:
    return first_column(
        conn, "SELECT DISTINCT month FROM faces WHERE pack = %s ORDER BY month", (pack,)
    )


def month_faces(
    conn: psycopg.Connection, month: str, pack: str
) -> dict[int, list[tuple[int, tuple[float, float, float, float], bool]]]:
    """{image: [(face id, box x1 y1 x2 y2, has a human decision)]} of a month in a pack."""
    rows = conn.execute(
        "SELECT f.image_id, f.id, f.bbox, f.assignment_method IS NOT DISTINCT FROM 'human'"
        " OR EXISTS (SELECT 1 FROM face_rejections r WHERE r.face_id = f.id)"
        " FROM faces f WHERE f.month = %s AND f.pack = %s ORDER BY f.image_id, f.id",
        (month, pack),
    ).fetchall()
    found: dict[int, list] = {}
    for image_id, face_id, bbox, decided in rows:
        found.setdefault(image_id, []).append((face_id, tuple(float(v) for v in bbox), decided))
    return found


def carry_decisions(conn: psycopg.Connection, pairs: list[tuple[int, int]]) -> tuple[int, int]:
    """Copy each old face's human label and rejections to its new face; (labels, rejections).
    A new face that already has a human label keeps it (a human decision is never overwritten)."""
    if not pairs:
        return 0, 0
    old, new = [p[0] for p in pairs], [p[1] for p in pairs]
    labels = conn.execute(
        "UPDATE faces n SET person_id = o.person_id, assignment_method = 'human',"
        " assignment_similarity = NULL, assignment_prototype_id = NULL, assignment_head = NULL,"
        " assigned_at = o.assigned_at, updated_at = now()"
        " FROM unnest(%s::bigint[], %s::bigint[]) AS p(old_id, new_id), faces o"
        " WHERE o.id = p.old_id AND n.id = p.new_id AND o.assignment_method = 'human'"
        " AND n.assignment_method IS DISTINCT FROM 'human'",
        (old, new),
    ).rowcount
    rejections = conn.execute(
        "INSERT INTO face_rejections (face_id, person_id, created_at)"
        " SELECT p.new_id, r.person_id, r.created_at"
        " FROM unnest(%s::bigint[], %s::bigint[]) AS p(old_id, new_id)"
        " JOIN face_rejections r ON r.face_id = p.old_id ON CONFLICT DO NOTHING",
        (old, new),
    ).rowcount
    return labels, rejections


def drop_pack(conn: psycopg.Connection, pack: str) -> tuple[int, list[str]]:
    """Delete a pack's faces (embeddings, prototypes, rejections, graph rows follow by
    cascade), detection records, promoted head and watermarks; (faces, media to delete)."""
    paths = conn.execute(
        "DELETE FROM faces WHERE pack = %s RETURNING crop_path, thumb_path", (pack,)
    ).fetchall()
    conn.execute("DELETE FROM person_prototypes WHERE pack = %s", (pack,))
    conn.execute("DELETE FROM detections WHERE pack = %s", (pack,))
    conn.execute("DELETE FROM identity_watermarks WHERE pack = %s", (pack,))
    conn.execute(
        "UPDATE projection_heads SET status = 'retired' WHERE pack = %s AND status = 'promoted'",
        (pack,),
    )
    return len(paths), [p for row in paths for p in row if p]
