"""SQL for what a person's page shows of them: cover face, birthdate (and the faces a birthdate
rules out), the photo dates of a face, and their timeline (People app, migration 0013)."""

from __future__ import annotations

from datetime import date, datetime

import psycopg

from face_assets.store.rows import first_column, the_row


def person_extras(conn: psycopg.Connection, person_ids: list[int]) -> dict[int, dict]:
    """Cover face id, chosen cover (or None) and birthdate of these persons. The cover is the
    chosen face while it is still the person's, else their best-quality face."""
    rows = conn.execute(
        "SELECT p.id, COALESCE((SELECT c.id FROM faces c WHERE c.id = p.feature_face_id"
        "   AND c.person_id = p.id), (SELECT b.id FROM faces b WHERE b.person_id = p.id"
        "   ORDER BY b.quality DESC NULLS LAST, b.id LIMIT 1)),"
        " p.feature_face_id, p.birthdate FROM persons p WHERE p.id = ANY(%s)",
        (person_ids,),
    ).fetchall()
    return {r[0]: {"cover_face_id": r[1], "feature_face_id": r[2], "birthdate": r[3]} for r in rows}


def set_feature_face(conn: psycopg.Connection, person_id: int, face_id: int | None) -> None:
    conn.execute(
        "UPDATE persons SET feature_face_id = %s, updated_at = now() WHERE id = %s",
        (face_id, person_id),
    )


def set_birthdate(conn: psycopg.Connection, person_id: int, birthdate: date | None) -> None:
    conn.execute(
        "UPDATE persons SET birthdate = %s, updated_at = now() WHERE id = %s",
        (birthdate, person_id),
    )


def face_owner(conn: psycopg.Connection, face_id: int) -> tuple[int | None, int, datetime | None]:
    """(person id, image id, photo date) of a face; LookupError for an unknown face."""
    row = the_row(
        conn,
        "SELECT f.person_id, f.image_id, i.taken_at FROM faces f JOIN images i ON i.id = f.image_id"
        " WHERE f.id = %s",
        (face_id,),
        f"no face {face_id}",
    )
    return row[0], row[1], row[2]


def faces_before(
    conn: psycopg.Connection, person_id: int, birthdate: date, method: str
) -> list[int]:
    """The person's faces of this assignment method in photos taken before the date."""
    return first_column(
        conn,
        "SELECT f.id FROM faces f JOIN images i ON i.id = f.image_id"
        " WHERE f.person_id = %s AND f.assignment_method = %s AND i.taken_at < %s ORDER BY f.id",
        (person_id, method, birthdate),
    )


def born_after_photo(conn: psycopg.Connection, face_ids: list[int]) -> dict[int, set[int]]:
    """For each face, the persons born after its photo was taken (none may be given it).
    Persons with a birthdate are few; the photos' dates come by primary key."""
    if (
        not face_ids
        or not conn.execute(
            "SELECT EXISTS (SELECT 1 FROM persons WHERE birthdate IS NOT NULL)"
        ).fetchone()[0]
    ):
        return {}
    rows = conn.execute(
        "SELECT f.id, p.id FROM faces f JOIN images i ON i.id = f.image_id"
        " JOIN persons p ON p.birthdate IS NOT NULL AND i.taken_at < p.birthdate"
        " WHERE f.id = ANY(%s)",
        (face_ids,),
    ).fetchall()
    found: dict[int, set[int]] = {}
    for face_id, person_id in rows:
        found.setdefault(face_id, set()).add(person_id)
    return found


def timeline(conn: psycopg.Connection, person_id: int) -> dict:
    """First and last photo date of a person's faces, and face counts per year."""
    first, last, undated = conn.execute(
        "SELECT min(i.taken_at), max(i.taken_at), count(*) FILTER (WHERE i.taken_at IS NULL)"
        " FROM faces f JOIN images i ON i.id = f.image_id WHERE f.person_id = %s",
        (person_id,),
    ).fetchone()
    years = conn.execute(
        "SELECT extract(year FROM i.taken_at)::int, count(*) FROM faces f"
        " JOIN images i ON i.id = f.image_id WHERE f.person_id = %s AND i.taken_at IS NOT NULL"
        " GROUP BY 1 ORDER BY 1",
        (person_id,),
    ).fetchall()
    return {"first": first, "last": last, "undated": undated, "per_year": dict(years)}
