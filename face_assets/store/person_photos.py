"""SQL for photos of persons: photos with all the wanted persons (and none of the excluded),
by date and face count, one photo with its persons, merged ids resolved, a person's photos'
content hashes (their previews)."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from face_assets.store.rows import first_column, row_dict

_PHOTO_FILTERS = sql.SQL(
    " WHERE (%(from)s::timestamp IS NULL OR i.taken_at >= %(from)s)"
    " AND (%(to)s::timestamp IS NULL OR i.taken_at < %(to)s)"
    " AND NOT EXISTS (SELECT 1 FROM faces x WHERE x.image_id = i.id"
    "   AND x.person_id = ANY(%(exclude)s))"
)


# Only with minFaces / maxFaces: each candidate photo's faces counted (faces_image_pack).
_FACE_COUNT_FILTER = sql.SQL(
    " AND (SELECT count(*) FROM faces n WHERE n.image_id = i.id AND n.pack = %(pack)s)"
    " BETWEEN %(min)s AND COALESCE(%(max)s::int, 2147483647)"
)


_HAS_FACES = sql.SQL(
    " AND EXISTS (SELECT 1 FROM faces n WHERE n.image_id = i.id AND n.pack = %(pack)s)"
)


# Photos with all the wanted persons: each person's photos by faces_person_image.
_WITH_PERSONS = sql.SQL(
    "(SELECT image_id FROM faces WHERE person_id = ANY(%(persons)s)"
    " GROUP BY image_id HAVING count(DISTINCT person_id) = %(n)s) w"
    " JOIN images i ON i.id = w.image_id"
)


def photos_of(
    conn: psycopg.Connection,
    pack: str,
    persons: list[int],
    exclude: list[int],
    taken_from: datetime | None,
    taken_to: datetime | None,
    min_faces: int | None,
    max_faces: int | None,
    limit: int,
    offset: int,
) -> tuple[list[dict], int]:
    """Photos holding every person of `persons` and none of `exclude`, newest first, one page,
    and how many there are. With persons, the photos come from faces_person_image (each
    person's photos, an index-only scan) intersected; without, from images_taken in date
    order. Faces are counted per candidate photo only when minFaces / maxFaces ask for it,
    else for the page's photos alone."""
    args = {
        "pack": pack,
        "persons": persons,
        "n": len(set(persons)),
        "exclude": exclude,
        "from": taken_from,
        "to": taken_to,
        "min": min_faces or 0,
        "max": max_faces,
        "limit": limit,
        "offset": offset,
    }
    # Without persons: every photo with at least one face of the pack, by images_taken.
    source = _WITH_PERSONS if persons else sql.SQL("images i")
    filters = _PHOTO_FILTERS
    if min_faces is not None or max_faces is not None:
        filters = sql.Composed([filters, _FACE_COUNT_FILTER])
    elif not persons:
        filters = sql.Composed([filters, _HAS_FACES])
    query = sql.SQL(
        "SELECT i.id, i.taken_at, i.rel_path, i.width, i.height, count(*) OVER ()"
        " FROM {source}{filters}"
        " ORDER BY i.taken_at DESC NULLS LAST, i.id DESC LIMIT %(limit)s OFFSET %(offset)s"
    ).format(source=source, filters=filters)
    rows = conn.execute(query, args).fetchall()
    if rows:
        total = rows[0][5]
    elif offset:  # past the end: no row carried the count
        total = conn.execute(
            sql.SQL("SELECT count(*) FROM {source}{filters}").format(
                source=source, filters=filters
            ),
            args,
        ).fetchone()[0]
    else:
        total = 0
    counts = dict(
        conn.execute(
            "SELECT image_id, count(*) FROM faces WHERE image_id = ANY(%s) AND pack = %s"
            " GROUP BY image_id",
            ([r[0] for r in rows], pack),
        ).fetchall()
    )
    keys = ("id", "taken_at", "rel_path", "width", "height")
    found = [dict(zip(keys, r[:5], strict=True)) for r in rows]
    for photo_row in found:
        photo_row["faces"] = counts.get(photo_row["id"], 0)
    return found, int(total)


def photo(conn: psycopg.Connection, image_id: int) -> dict | None:
    return row_dict(
        conn,
        "SELECT id, rel_path, sha256, month, taken_at, width, height, status FROM images"
        " WHERE id = %s",
        (image_id,),
        ("id", "rel_path", "sha256", "month", "taken_at", "width", "height", "status"),
    )


def photo_persons(conn: psycopg.Connection, image_ids: list[int]) -> dict[int, list[tuple]]:
    """(person id, name) of the named faces of each photo."""
    rows = conn.execute(
        "SELECT DISTINCT f.image_id, p.id, p.name FROM faces f JOIN persons p ON p.id = f.person_id"
        " WHERE f.image_id = ANY(%s) ORDER BY f.image_id, p.name",
        (image_ids,),
    ).fetchall()
    found: dict[int, list[tuple]] = {}
    for image_id, person_id, name in rows:
        found.setdefault(image_id, []).append((person_id, name))
    return found


def resolve_persons(conn: psycopg.Connection, person_ids: list[int]) -> list[int]:
    """Person ids with merged ones replaced by the person they were merged into; LookupError
    naming an unknown id."""
    rows = dict(
        conn.execute(
            "SELECT id, COALESCE(merged_into, id) FROM persons WHERE id = ANY(%s)", (person_ids,)
        ).fetchall()
    )
    unknown = sorted(set(person_ids) - set(rows))
    if unknown:
        raise LookupError(f"no person {unknown[0]}")
    return [rows[p] for p in person_ids]


def person_photo_hashes(conn: psycopg.Connection, person_id: int) -> list[str]:
    """Content hashes of the photos holding a person's faces (or their merged aliases')."""
    return first_column(
        conn,
        "SELECT DISTINCT i.sha256 FROM faces f JOIN images i ON i.id = f.image_id"
        " JOIN persons p ON p.id = f.person_id WHERE p.id = %s OR p.merged_into = %s",
        (person_id, person_id),
    )
