"""SQL for automatic assignments: the faces a run reconsiders, the persons a human already
placed in each photo, and the run's decisions written in one statement (never over a human's)."""

from __future__ import annotations

from collections import defaultdict

import psycopg


def faces_to_assign(
    conn: psycopg.Connection, months: list[str], pack: str
) -> tuple[list[int], list[int]]:
    """(face ids, image ids), by image, of the months' embedded faces without a human label
    (automatic ones are reconsidered); embeddings are read in bulk by store.vectors.embeddings."""
    rows = conn.execute(
        "SELECT f.id, f.image_id FROM faces f JOIN face_embeddings e ON e.face_id = f.id"
        " WHERE f.month = ANY(%s) AND f.pack = %s"
        " AND f.assignment_method IS DISTINCT FROM 'human' ORDER BY f.image_id, f.id",
        (months, pack),
    ).fetchall()
    return [r[0] for r in rows], [r[1] for r in rows]


def human_persons_per_photo(
    conn: psycopg.Connection, image_ids: list[int], pack: str
) -> dict[int, set[int]]:
    rows = conn.execute(
        "SELECT image_id, person_id FROM faces WHERE image_id = ANY(%s) AND pack = %s"
        " AND assignment_method = 'human'",
        (image_ids, pack),
    ).fetchall()
    taken: dict[int, set[int]] = defaultdict(set)
    for image_id, person_id in rows:
        taken[image_id].add(person_id)
    return dict(taken)


def write_assignments(
    conn: psycopg.Connection,
    face_ids: list[int],
    assignments: list[tuple[int, int, float, int | None, str | None]],
) -> int:
    """Replace the automatic assignments of these faces; human labels are never touched.

    Only rows whose assignment changes are written (a re-run over unchanged data writes
    nothing), through a temporary table: one statement, not one per face. A face a known
    person claims leaves its cluster: clusters hold only unclaimed faces.
    """
    # Machine output, recomputed by the next run if a crash loses it: no WAL flush per batch.
    conn.execute("SET LOCAL synchronous_commit = off")
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS _assign (face_id bigint PRIMARY KEY, person_id bigint,"
        " similarity real, prototype_id bigint, head text) ON COMMIT DROP"
    )
    conn.execute("TRUNCATE _assign")
    # Lock the persons assigned to (KEY SHARE, in id order, before any face): a forget or
    # a merge of one of them waits for this write, or this write sees them gone/inactive.
    conn.execute(
        "SELECT id FROM persons WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE",
        (sorted({row[1] for row in assignments}),),
    )
    decided = {row[0]: row for row in assignments}
    with conn.cursor().copy(
        "COPY _assign (face_id, person_id, similarity, prototype_id, head) FROM STDIN"
    ) as copy:
        for face in face_ids:
            copy.write_row(decided.get(face, (face, None, None, None, None)))
    conn.execute("ANALYZE _assign")  # a hash join, not a nested loop over a 'small' table
    conn.execute(
        "UPDATE faces f SET person_id = a.person_id,"
        " assignment_method = CASE WHEN a.person_id IS NULL THEN NULL ELSE 'auto' END,"
        " assignment_similarity = a.similarity, assignment_prototype_id = a.prototype_id,"
        " assignment_head = a.head,"
        " assigned_at = CASE WHEN a.person_id IS NULL THEN NULL ELSE now() END,"
        " cluster_id = CASE WHEN a.person_id IS NULL THEN f.cluster_id ELSE NULL END"
        " FROM _assign a WHERE f.id = a.face_id"
        " AND (f.assignment_method = 'auto' OR f.assignment_method IS NULL)"
        # What a human decided since the snapshot was read wins: a rejection, a person
        # hidden or merged, the person labelled on another face of the photo.
        " AND (a.person_id IS NULL OR (NOT EXISTS (SELECT 1 FROM face_rejections r"
        "   WHERE r.face_id = f.id AND r.person_id = a.person_id)"
        "   AND EXISTS (SELECT 1 FROM persons p WHERE p.id = a.person_id AND p.status = 'active')"
        "   AND NOT EXISTS (SELECT 1 FROM faces g WHERE g.image_id = f.image_id AND g.id <> f.id"
        "     AND g.person_id = a.person_id AND g.assignment_method = 'human')))"
        " AND (f.person_id IS DISTINCT FROM a.person_id"
        "   OR f.assignment_prototype_id IS DISTINCT FROM a.prototype_id"
        "   OR f.assignment_head IS DISTINCT FROM a.head)"
    )
    return len(assignments)
