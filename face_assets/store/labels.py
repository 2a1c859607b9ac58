"""SQL for human decisions on faces: labels (this face is X), unassignments and rejections
(this face is not X), faces released or moved between persons."""

from __future__ import annotations

from collections import defaultdict

import psycopg
from psycopg import sql

from face_assets.store.rows import first_column, the_row

_FACE_PERSON = "SELECT person_id, assignment_method FROM faces WHERE id = %s"


def face_person(conn: psycopg.Connection, face_id: int) -> tuple[int | None, str | None]:
    """(person, assignment method) of a face; LookupError for an unknown face."""
    return _person_and_method(conn, _FACE_PERSON, face_id)


def lock_face(conn: psycopg.Connection, face_id: int) -> tuple[int | None, str | None]:
    """Lock one face (FOR UPDATE; after its person's row) and return its (person, method)
    as it is now; LookupError for an unknown face."""
    return _person_and_method(conn, _FACE_PERSON + " FOR UPDATE", face_id)


def _person_and_method(
    conn: psycopg.Connection, query: str, face_id: int
) -> tuple[int | None, str | None]:
    row = the_row(conn, query, (face_id,), f"no face {face_id}")
    return row[0], row[1]


def lock_faces(conn: psycopg.Connection, face_ids: list[int]) -> None:
    """Lock these faces in id order (the one lock order; after their persons' rows) in one
    statement; LookupError naming the first id that is no face."""
    wanted = sorted(set(face_ids))
    found = {
        r[0]
        for r in conn.execute(
            "SELECT id FROM faces WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (wanted,)
        )
    }
    missing = [f for f in wanted if f not in found]
    if missing:
        raise LookupError(f"no face {missing[0]}")


def face_pack(conn: psycopg.Connection, face_id: int) -> str:
    query = "SELECT pack FROM faces WHERE id = %s"
    return the_row(conn, query, (face_id,), f"no face {face_id}")[0]


def label_faces(conn: psycopg.Connection, face_ids: list[int], person_id: int) -> int:
    """Human label: the faces are this person (overrides automatic assignments)."""
    cur = conn.execute(
        "UPDATE faces SET person_id = %s, assignment_method = 'human',"
        " assignment_similarity = NULL, assignment_prototype_id = NULL, assignment_head = NULL,"
        " assigned_at = now(), cluster_id = NULL, updated_at = now() WHERE id = ANY(%s)",
        (person_id, face_ids),
    )
    conn.execute(
        "DELETE FROM face_rejections WHERE person_id = %s AND face_id = ANY(%s)",
        (person_id, face_ids),
    )
    return cur.rowcount


# The columns a face's assignment is cleared with ("unassigned"): every assignment column.
CLEARED_ASSIGNMENT = sql.SQL(
    "person_id = NULL, assignment_method = NULL, assignment_similarity = NULL,"
    " assignment_prototype_id = NULL, assignment_head = NULL, assigned_at = NULL,"
    " updated_at = now()"
)


def unassign_face(conn: psycopg.Connection, face_id: int, person_id: int) -> None:
    """The face is not this person: unassigned, and the rejection remembered."""
    conn.execute(
        sql.SQL("UPDATE faces SET {} WHERE id = %s").format(CLEARED_ASSIGNMENT),
        (face_id,),
    )
    conn.execute(
        "INSERT INTO face_rejections (face_id, person_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (face_id, person_id),
    )


def release_faces(conn: psycopg.Connection, person_id: int, method: str) -> int:
    """Take a person's faces of one assignment method back to 'unassigned'."""
    cur = conn.execute(
        sql.SQL("UPDATE faces SET {} WHERE person_id = %s AND assignment_method = %s").format(
            CLEARED_ASSIGNMENT
        ),
        (person_id, method),
    )
    return cur.rowcount


def move_person_faces(conn: psycopg.Connection, source: int, target: int) -> int:
    """A merge: the source's faces and rejections become the target's."""
    cur = conn.execute(
        "UPDATE faces SET person_id = %s, updated_at = now() WHERE person_id = %s",
        (target, source),
    )
    conn.execute(
        "INSERT INTO face_rejections (face_id, person_id)"
        " SELECT face_id, %s FROM face_rejections WHERE person_id = %s ON CONFLICT DO NOTHING",
        (target, source),
    )
    return cur.rowcount


def rejections(conn: psycopg.Connection, face_ids: list[int]) -> dict[int, set[int]]:
    """The persons a human said each of these faces is not."""
    rows = conn.execute(
        "SELECT face_id, person_id FROM face_rejections WHERE face_id = ANY(%s)", (face_ids,)
    ).fetchall()
    rejected: dict[int, set[int]] = defaultdict(set)
    for face_id, person_id in rows:
        rejected[face_id].add(person_id)
    return dict(rejected)


def reject(conn: psycopg.Connection, face_ids: list[int], person_id: int) -> int:
    """A human said these (unassigned) faces are not this person: automatic assignment and
    the review queue must not propose them to that person again."""
    cur = conn.execute(
        "INSERT INTO face_rejections (face_id, person_id)"
        " SELECT id, %s FROM faces WHERE id = ANY(%s) ON CONFLICT DO NOTHING",
        (person_id, face_ids),
    )
    return cur.rowcount


def unlabel_to_cluster(
    conn: psycopg.Connection, face_ids: list[int], person_id: int, cluster_id: str
) -> list[int]:
    """Undo a cluster's naming: the faces still this person's by a human label go back to
    unlabelled in their cluster (locked in id order first); the others changed since and are
    left as they are. Returns the faces released."""
    conn.execute(
        "SELECT id FROM faces WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (sorted(face_ids),)
    )
    return sorted(
        first_column(
            conn,
            sql.SQL(
                "UPDATE faces SET {}, cluster_id = %s WHERE id = ANY(%s) AND person_id = %s"
                " AND assignment_method = 'human' RETURNING id"
            ).format(CLEARED_ASSIGNMENT),
            (cluster_id, face_ids, person_id),
        )
    )


def drop_rejections(conn: psycopg.Connection, face_ids: list[int], person_id: int) -> int:
    """Take back "these faces are not this person"."""
    return conn.execute(
        "DELETE FROM face_rejections WHERE person_id = %s AND face_id = ANY(%s)",
        (person_id, face_ids),
    ).rowcount


def release_auto(conn: psycopg.Connection, face_ids: list[int]) -> int:
    """Automatic assignments of these faces dropped (human labels untouched)."""
    return conn.execute(
        sql.SQL("UPDATE faces SET {} WHERE id = ANY(%s) AND assignment_method = 'auto'").format(
            CLEARED_ASSIGNMENT
        ),
        (face_ids,),
    ).rowcount


def release_human_label(conn: psycopg.Connection, face_id: int, person_id: int) -> int:
    """Undo a "yes": the face leaves the person without a rejection (nothing was refused)."""
    return conn.execute(
        sql.SQL(
            "UPDATE faces SET {} WHERE id = %s AND person_id = %s AND assignment_method = 'human'"
        ).format(CLEARED_ASSIGNMENT),
        (face_id, person_id),
    ).rowcount
