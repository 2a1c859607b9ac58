"""SQL for person records: look one up, create one by name, change status, rename, merge.

Names arrive normalised (identity.names.normalise_name, called by the services): the store
compares them case-insensitively and never cleans them itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from face_assets.errors import NameTakenError
from face_assets.store.rows import keyed, the_row


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    status: str
    merged_into: int | None


_PERSON_BY_ID = "SELECT id, name, status, merged_into FROM persons WHERE id = %s"
_PERSON_BY_NAME = "SELECT id, name, status, merged_into FROM persons WHERE lower(name) = lower(%s)"


def find_person(conn: psycopg.Connection, ref: str | int) -> Person:
    """A person by numeric id or by name (case-insensitive); LookupError if there is none."""
    text = str(ref)
    query, arg = (_PERSON_BY_ID, int(text)) if text.isdigit() else (_PERSON_BY_NAME, text)
    missing = f"no person {text!r} (give an id from `face-assets persons` or a name)"
    return Person(*the_row(conn, query, (arg,), missing))


def person_by_name(conn: psycopg.Connection, name: str) -> tuple[Person, bool]:
    """The person with this (normalised) name, case-insensitive, created if new;
    (person, created)."""
    row = conn.execute(
        "INSERT INTO persons (name) VALUES (%s) ON CONFLICT ((lower(name))) DO NOTHING"
        " RETURNING id, name, status, merged_into",
        (name,),
    ).fetchone()
    if row is not None:
        return Person(*row), True
    return find_person(conn, name), False


def lock_persons(conn: psycopg.Connection, person_ids: list[int]) -> dict[int, Person]:
    """Lock these persons' rows (FOR UPDATE, in id order: every operation locks persons
    before faces, and persons by ascending id, so two operations never wait on each other in
    a cycle) and return them as they are now; a person deleted meanwhile is missing."""
    rows = conn.execute(
        "SELECT id, name, status, merged_into FROM persons WHERE id = ANY(%s)"
        " ORDER BY id FOR UPDATE",
        (sorted(set(person_ids)),),
    ).fetchall()
    return {r[0]: Person(*r) for r in rows}


def person_names(conn: psycopg.Connection, person_ids: list[int]) -> dict[int, str]:
    """Names of these persons by id (unknown ids are left out)."""
    return keyed(conn, "SELECT id, name FROM persons WHERE id = ANY(%s)", (person_ids,))


def active_person_ids(conn: psycopg.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT id FROM persons WHERE status = 'active'")]


def set_status(conn: psycopg.Connection, person_id: int, status: str) -> None:
    conn.execute(
        "UPDATE persons SET status = %s, updated_at = now() WHERE id = %s", (status, person_id)
    )


def rename(conn: psycopg.Connection, person_id: int, name: str) -> None:
    """NameTakenError when another person has the name (case-insensitive)."""
    try:
        conn.execute(
            "UPDATE persons SET name = %s, updated_at = now() WHERE id = %s", (name, person_id)
        )
    except psycopg.errors.UniqueViolation as exc:
        raise NameTakenError(f"another person is already called {name!r}; merge instead") from exc


def set_merged(conn: psycopg.Connection, source: int, target: int) -> None:
    conn.execute(
        "UPDATE persons SET status = 'merged', merged_into = %s, updated_at = now() WHERE id = %s",
        (target, source),
    )
    # Earlier merges into the source now point at the surviving person.
    conn.execute(
        "UPDATE persons SET merged_into = %s, updated_at = now() WHERE merged_into = %s",
        (target, source),
    )


def delete_if_unused(conn: psycopg.Connection, person_id: int) -> bool:
    """Delete a person no face, track or merged person refers to (a name created by a naming
    that was undone); False when something still does."""
    return bool(
        conn.execute(
            "DELETE FROM persons p WHERE p.id = %s"
            " AND NOT EXISTS (SELECT 1 FROM faces WHERE person_id = p.id)"
            " AND NOT EXISTS (SELECT 1 FROM video_tracks WHERE person_id = p.id)"
            " AND NOT EXISTS (SELECT 1 FROM persons m WHERE m.merged_into = p.id)",
            (person_id,),
        ).rowcount
    )
