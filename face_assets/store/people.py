"""SQL of the People app: cover faces, birthdates, timelines, photos of several persons,
search by face, manual faces, "not a face" tombstones and "different" person pairs."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import psycopg
from psycopg import sql

from face_assets.store import vectors as vector_store
from face_assets.store.faces import vector_array

# --- cover faces and birthdates -------------------------------------------------------------


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
    row = conn.execute(
        "SELECT f.person_id, f.image_id, i.taken_at FROM faces f JOIN images i ON i.id = f.image_id"
        " WHERE f.id = %s",
        (face_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no face {face_id}")
    return row[0], row[1], row[2]


def faces_before(
    conn: psycopg.Connection, person_id: int, birthdate: date, method: str
) -> list[int]:
    """The person's faces of this assignment method in photos taken before the date."""
    rows = conn.execute(
        "SELECT f.id FROM faces f JOIN images i ON i.id = f.image_id"
        " WHERE f.person_id = %s AND f.assignment_method = %s AND i.taken_at < %s ORDER BY f.id",
        (person_id, method, birthdate),
    ).fetchall()
    return [r[0] for r in rows]


def release_auto(conn: psycopg.Connection, face_ids: list[int]) -> int:
    """Automatic assignments of these faces dropped (human labels untouched)."""
    return conn.execute(
        "UPDATE faces SET person_id = NULL, assignment_method = NULL,"
        " assignment_similarity = NULL, assignment_prototype_id = NULL, assignment_head = NULL,"
        " assigned_at = NULL, updated_at = now()"
        " WHERE id = ANY(%s) AND assignment_method = 'auto'",
        (face_ids,),
    ).rowcount


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


# --- timeline --------------------------------------------------------------------------------


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


# --- photos of several persons ---------------------------------------------------------------

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
    row = conn.execute(
        "SELECT id, rel_path, sha256, month, taken_at, width, height, status FROM images"
        " WHERE id = %s",
        (image_id,),
    ).fetchone()
    if row is None:
        return None
    keys = ("id", "rel_path", "sha256", "month", "taken_at", "width", "height", "status")
    return dict(zip(keys, row, strict=True))


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


# --- search by face --------------------------------------------------------------------------


def nearest_faces(
    conn: psycopg.Connection, pack: str, vector: np.ndarray, limit: int, ef_search: int
) -> list[tuple[int, float]]:
    """(face id, cosine similarity) of the faces nearest a vector, by pgvector's HNSW index:
    the index returns at most ef_search rows, so the cost is bounded whatever the library."""
    conn.execute(f"SET LOCAL hnsw.ef_search = {int(ef_search)}")
    # The pack's own index (vectors.pack_index): its predicate and expression, then ORDER BY
    # ... LIMIT, so the planner walks that pack's graph and no other pack's rows.
    e, q = vector_store.cast("e.embedding", len(vector)), vector_store.cast("%s", len(vector))
    query = sql.SQL(
        "SELECT e.face_id, 1 - ({e} <=> {q}) AS similarity FROM face_embeddings e"
        " WHERE e.pack = {pack} ORDER BY {e} <=> {q} LIMIT %s"
    ).format(e=e, q=q, pack=sql.Literal(pack))
    rows = conn.execute(query, (vector.tolist(), vector.tolist(), ef_search)).fetchall()
    return [(r[0], float(r[1])) for r in rows[:limit]]


def face_embedding(conn: psycopg.Connection, face_id: int) -> tuple[str, np.ndarray] | None:
    row = conn.execute(
        "SELECT pack, embedding FROM face_embeddings WHERE face_id = %s", (face_id,)
    ).fetchone()
    return None if row is None else (row[0], vector_array(row[1]))


def faces_brief(conn: psycopg.Connection, face_ids: list[int]) -> dict[int, dict]:
    """Photo, person and photo date of these faces."""
    rows = conn.execute(
        "SELECT f.id, f.image_id, f.person_id, p.name, i.taken_at, f.source FROM faces f"
        " JOIN images i ON i.id = f.image_id LEFT JOIN persons p ON p.id = f.person_id"
        " WHERE f.id = ANY(%s)",
        (face_ids,),
    ).fetchall()
    keys = ("id", "asset_id", "person_id", "person_name", "taken_at", "source")
    return {r[0]: dict(zip(keys, r, strict=True)) for r in rows}


# --- manual faces and "not a face" -----------------------------------------------------------


DRAWING_LOCK_CLASS = 23_013  # advisory-lock class (migration 0013's feature): one drawer a photo


def lock_photo_for_drawing(conn: psycopg.Connection, image_id: int) -> None:
    """Serialise faces drawn on one photo until the transaction ends: two people drawing the
    same box at once would otherwise both pass the overlap check and store the face twice."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(%s, (%s::bigint %% 2147483647)::int)",
        (DRAWING_LOCK_CLASS, image_id),
    )


def photo_boxes(conn: psycopg.Connection, image_id: int, pack: str) -> list[tuple[int, list]]:
    """(face id, x1 y1 x2 y2) of a photo's faces of a pack."""
    rows = conn.execute(
        "SELECT id, bbox FROM faces WHERE image_id = %s AND pack = %s ORDER BY id",
        (image_id, pack),
    ).fetchall()
    return [(r[0], [float(v) for v in r[1]]) for r in rows]


def insert_manual_face(
    conn: psycopg.Connection,
    image_id: int,
    pack: str,
    month: str,
    bbox: tuple[float, float, float, float],
    landmarks: np.ndarray,
    det_score: float,
    crop_path: str,
    thumb_path: str,
    quality: tuple,
) -> int:
    """A face a person drew: stored like a detected one, marked source 'manual'."""
    x1, y1, x2, y2 = bbox
    index = conn.execute(
        "SELECT COALESCE(max(face_index) + 1, 0) FROM faces WHERE image_id = %s AND pack = %s",
        (image_id, pack),
    ).fetchone()[0]
    return conn.execute(
        "INSERT INTO faces (image_id, pack, month, face_index, bbox_x, bbox_y, bbox_w, bbox_h,"
        " bbox, landmarks, det_score, crop_path, thumb_path, quality, quality_confidence,"
        " quality_size, quality_blur, quality_pose, blur_variance, yaw_ratio, source)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, 'manual') RETURNING id",
        (
            image_id,
            pack,
            month,
            index,
            round(x1),
            round(y1),
            round(x2 - x1),
            round(y2 - y1),
            [float(v) for v in bbox],
            [float(v) for v in np.asarray(landmarks).reshape(-1)],
            float(det_score),
            crop_path,
            thumb_path,
            *quality,
        ),
    ).fetchone()[0]


def store_embedding(conn: psycopg.Connection, face_id: int, pack: str, vector: np.ndarray) -> None:
    conn.execute(
        "INSERT INTO face_embeddings (face_id, pack, embedding) VALUES (%s, %s, %s::vector)",
        (face_id, pack, np.asarray(vector, dtype=np.float32).tolist()),
    )


def delete_face_as_not_a_face(conn: psycopg.Connection, face_id: int) -> dict:
    """The face row removed (embedding cascades), a not-a-face tombstone left on its box;
    returns what the caller needs: photo, pack, person, tombstone id and media paths."""
    row = conn.execute(
        "DELETE FROM faces WHERE id = %s RETURNING image_id, pack, person_id, bbox, crop_path,"
        " thumb_path",
        (face_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no face {face_id}")
    image_id, pack, person_id, bbox, crop, thumb = row
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
    rows = conn.execute(
        "SELECT id, bbox, pack, created_at FROM forgotten_faces"
        " WHERE image_id = %s AND reason = 'not_a_face' ORDER BY id",
        (image_id,),
    ).fetchall()
    keys = ("id", "bbox", "pack", "created_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def remove_not_a_face(conn: psycopg.Connection, tombstone_id: int) -> tuple[int, str | None]:
    """A not-a-face tombstone removed: (image id, pack); LookupError when there is none (a
    forgotten person's tombstone is never removed here)."""
    row = conn.execute(
        "DELETE FROM forgotten_faces WHERE id = %s AND reason = 'not_a_face'"
        " RETURNING image_id, pack",
        (tombstone_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no 'not a face' mark {tombstone_id}")
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


# --- persons that may be one -----------------------------------------------------------------


def person_centroids(
    conn: psycopg.Connection, pack: str, limit: int, dim: int
) -> tuple[list[int], np.ndarray]:
    """Centroids of the `limit` active persons with the most faces (a bounded probe; dim: the
    pack's width, the empty array's when there are none)."""
    rows = conn.execute(
        "SELECT pp.person_id, pp.embedding FROM person_prototypes pp"
        " JOIN persons p ON p.id = pp.person_id AND p.status = 'active'"
        " WHERE pp.pack = %s AND pp.role = 'centroid'"
        " ORDER BY (SELECT count(*) FROM faces f WHERE f.person_id = pp.person_id) DESC,"
        " pp.person_id LIMIT %s",
        (pack, limit),
    ).fetchall()
    if not rows:
        return [], np.zeros((0, dim), dtype=np.float32)
    return [r[0] for r in rows], np.vstack([vector_array(r[1]) for r in rows])


def centroids_version(conn: psycopg.Connection, pack: str) -> tuple[int, int]:
    """Changes whenever a pack's centroids change: a rebuild deletes and inserts them (new
    ids), a forget or a hide deletes them (fewer)."""
    row = conn.execute(
        "SELECT count(*), coalesce(max(id), 0) FROM person_prototypes"
        " WHERE pack = %s AND role = 'centroid'",
        (pack,),
    ).fetchone()
    return int(row[0]), int(row[1])


def face_counts(conn: psycopg.Connection, person_ids: list[int]) -> dict[int, int]:
    rows = conn.execute(
        "SELECT person_id, count(*) FROM faces WHERE person_id = ANY(%s) GROUP BY person_id",
        (person_ids,),
    ).fetchall()
    return dict(rows)


def different_pairs(conn: psycopg.Connection, person_ids: list[int]) -> set[tuple[int, int]]:
    rows = conn.execute(
        "SELECT person_a, person_b FROM person_pairs_different"
        " WHERE person_a = ANY(%s) OR person_b = ANY(%s)",
        (person_ids, person_ids),
    ).fetchall()
    return {(a, b) for a, b in rows}


def pairs_in_one_photo(
    conn: psycopg.Connection, pairs: list[tuple[int, int]]
) -> set[tuple[int, int]]:
    """Pairs of persons seen together in a photo: two persons, never one."""
    if not pairs:
        return set()
    rows = conn.execute(
        "SELECT q.a, q.b FROM unnest(%s::bigint[], %s::bigint[]) q(a, b)"
        " WHERE EXISTS (SELECT 1 FROM faces fa JOIN faces fb ON fb.image_id = fa.image_id"
        "   WHERE fa.person_id = q.a AND fb.person_id = q.b)",
        ([a for a, _ in pairs], [b for _, b in pairs]),
    ).fetchall()
    return {(a, b) for a, b in rows}


def mark_different(conn: psycopg.Connection, a: int, b: int) -> bool:
    low, high = min(a, b), max(a, b)
    return (
        conn.execute(
            "INSERT INTO person_pairs_different (person_a, person_b) VALUES (%s, %s)"
            " ON CONFLICT DO NOTHING",
            (low, high),
        ).rowcount
        == 1
    )


def unmark_different(conn: psycopg.Connection, a: int, b: int) -> int:
    return conn.execute(
        "DELETE FROM person_pairs_different WHERE person_a = %s AND person_b = %s",
        (min(a, b), max(a, b)),
    ).rowcount


# --- the persons grid and undo ---------------------------------------------------------------


def person_grid(
    conn: psycopg.Connection, query: str, status: str, limit: int, offset: int
) -> tuple[list[dict], int]:
    """A page of persons of one status whose name contains `query` (case-insensitive), most
    faces first, with their cover face and counts; and how many match."""
    pattern = (
        "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    )
    rows = conn.execute(
        "SELECT p.id, p.name, p.status, p.merged_into, p.birthdate,"
        " (SELECT count(*) FROM faces f WHERE f.person_id = p.id) AS faces,"
        " (SELECT count(*) FROM faces f WHERE f.person_id = p.id"
        "   AND f.assignment_method = 'human'),"
        " COALESCE((SELECT c.id FROM faces c WHERE c.id = p.feature_face_id"
        "   AND c.person_id = p.id), (SELECT b.id FROM faces b WHERE b.person_id = p.id"
        "   ORDER BY b.quality DESC NULLS LAST, b.id LIMIT 1)),"
        " count(*) OVER ()"
        " FROM persons p WHERE p.status = %s AND lower(p.name) LIKE %s"
        " ORDER BY faces DESC, lower(p.name), p.id LIMIT %s OFFSET %s",
        (status, pattern, limit, offset),
    ).fetchall()
    keys = ("id", "name", "status", "merged_into", "birthdate", "faces", "human", "cover")
    total = rows[0][8] if rows else 0
    return [dict(zip(keys, r[:8], strict=True)) for r in rows], int(total)


def release_human_label(conn: psycopg.Connection, face_id: int, person_id: int) -> int:
    """Undo a "yes": the face leaves the person without a rejection (nothing was refused)."""
    return conn.execute(
        "UPDATE faces SET person_id = NULL, assignment_method = NULL, assigned_at = NULL,"
        " updated_at = now() WHERE id = %s AND person_id = %s AND assignment_method = 'human'",
        (face_id, person_id),
    ).rowcount


def drop_rejection(conn: psycopg.Connection, face_id: int, person_id: int) -> int:
    """Undo a "no": the face may be proposed for the person again."""
    return conn.execute(
        "DELETE FROM face_rejections WHERE face_id = %s AND person_id = %s", (face_id, person_id)
    ).rowcount


def person_photo_hashes(conn: psycopg.Connection, person_id: int) -> list[str]:
    """Content hashes of the photos holding a person's faces (or their merged aliases')."""
    rows = conn.execute(
        "SELECT DISTINCT i.sha256 FROM faces f JOIN images i ON i.id = f.image_id"
        " JOIN persons p ON p.id = f.person_id WHERE p.id = %s OR p.merged_into = %s",
        (person_id, person_id),
    ).fetchall()
    return [r[0] for r in rows]
