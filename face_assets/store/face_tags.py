"""SQL for face tags read from the library's files and written back into XMP sidecars."""

from __future__ import annotations

import json
from dataclasses import dataclass

import psycopg

from face_assets.store.rows import first_column


@dataclass(frozen=True)
class TagImage:
    """A detected photo whose tag files may name its faces."""

    image_id: int
    sha256: str
    paths: tuple[str, ...]
    width: int
    height: int
    month: str
    forgotten: tuple[tuple[float, float, float, float], ...]


@dataclass(frozen=True)
class ImageFace:
    face_id: int
    bbox: tuple[float, float, float, float]
    person_id: int | None
    method: str | None


def images_for_tags(
    conn: psycopg.Connection, pack: str, months: list[str] | None
) -> list[TagImage]:
    """Photos decoded and detected in this pack (all months, or these), with their paths."""
    rows = conn.execute(
        "SELECT i.id, i.sha256, i.rel_path, i.width, i.height, i.month,"
        " coalesce(array_agg(f.rel_path ORDER BY f.rel_path)"
        "   FILTER (WHERE f.rel_path IS NOT NULL), '{}'),"
        " (SELECT coalesce(array_agg(s.bbox ORDER BY s.id), '{}')"
        "   FROM forgotten_faces s WHERE s.image_id = i.id)"
        " FROM images i JOIN detections d ON d.image_id = i.id AND d.pack = %s"
        " LEFT JOIN library_files f ON f.image_id = i.id"
        " WHERE i.status = 'ok' AND (%s::text[] IS NULL OR i.month = ANY(%s))"
        " GROUP BY i.id ORDER BY i.id",
        (pack, months, months),
    ).fetchall()
    images = []
    for image_id, sha, first, width, height, month, paths, forgotten in rows:
        ordered = tuple(dict.fromkeys([*paths, first]))
        boxes = tuple(tuple(float(v) for v in box) for box in forgotten or [])
        images.append(TagImage(image_id, sha, ordered, width, height, month, boxes))
    return images


def image_faces(conn: psycopg.Connection, image_id: int, pack: str) -> list[ImageFace]:
    rows = conn.execute(
        "SELECT id, bbox, person_id, assignment_method FROM faces"
        " WHERE image_id = %s AND pack = %s ORDER BY id",
        (image_id, pack),
    ).fetchall()
    return [ImageFace(r[0], tuple(float(v) for v in r[1]), r[2], r[3]) for r in rows]


def imported_regions(
    conn: psycopg.Connection, image_ids: list[int]
) -> dict[int, dict[tuple[str, str, str], int]]:
    """image id -> {(origin, tag file, region key) -> row id} of the regions already read for
    these photos, in one query (an import run asks once, not once per photo)."""
    rows = conn.execute(
        "SELECT image_id, origin, tag_path, region_key, id FROM imported_regions"
        " WHERE image_id = ANY(%s)",
        (list(image_ids),),
    ).fetchall()
    seen: dict[int, dict[tuple[str, str, str], int]] = {}
    for image_id, origin, tag_path, region_key, row_id in rows:
        seen.setdefault(image_id, {})[(origin, tag_path, region_key)] = row_id
    return seen


@dataclass(frozen=True)
class TagScan:
    """What the last import read for a photo: unchanged, the photo need not be read again."""

    sha256: str
    tag_files: tuple[tuple[str, int | None, int | None], ...]
    regions_known: int


def tag_scans(conn: psycopg.Connection, pack: str, image_ids: list[int]) -> dict[int, TagScan]:
    """image id -> its last tag scan in this pack, in one query."""
    rows = conn.execute(
        "SELECT image_id, sha256, tag_files, regions_known FROM tag_scans"
        " WHERE pack = %s AND image_id = ANY(%s)",
        (pack, list(image_ids)),
    ).fetchall()
    return {
        image_id: TagScan(sha, tuple(tuple(f) for f in files), known)
        for image_id, sha, files, known in rows
    }


def record_tag_scans(conn: psycopg.Connection, pack: str, scans: dict[int, TagScan]) -> None:
    """Replace these photos' scans (one statement for the run)."""
    if not scans:
        return
    ids = list(scans)
    conn.execute(
        "INSERT INTO tag_scans (image_id, pack, sha256, tag_files, regions_known)"
        " SELECT image_id, %s, sha, files::jsonb, known"
        " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::int[])"
        "   AS s(image_id, sha, files, known)"
        " ON CONFLICT (image_id, pack) DO UPDATE SET sha256 = excluded.sha256,"
        " tag_files = excluded.tag_files, regions_known = excluded.regions_known,"
        " scanned_at = now()",
        (
            pack,
            ids,
            [scans[i].sha256 for i in ids],
            [json.dumps([list(f) for f in scans[i].tag_files]) for i in ids],
            [scans[i].regions_known for i in ids],
        ),
    )


def record_region(
    conn: psycopg.Connection,
    image_id: int,
    origin: str,
    tag_path: str,
    region: tuple[float, float, float, float],
    region_key: str,
    face_id: int | None,
    person_id: int | None,
    outcome: str,
) -> None:
    conn.execute(
        "INSERT INTO imported_regions (image_id, origin, tag_path, region, region_key, face_id,"
        " person_id, outcome) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (image_id, origin, tag_path, region_key) DO NOTHING",
        (image_id, origin, tag_path, list(region), region_key, face_id, person_id, outcome),
    )


@dataclass(frozen=True)
class NamedFace:
    bbox: tuple[float, float, float, float]
    person_id: int
    name: str


def named_faces_by_image(
    conn: psycopg.Connection, pack: str, months: list[str] | None
) -> dict[int, list[NamedFace]]:
    """Human-labelled faces of active persons, by image (what export writes)."""
    rows = conn.execute(
        "SELECT f.image_id, f.bbox, p.id, p.name FROM faces f JOIN persons p ON p.id = f.person_id"
        " JOIN images i ON i.id = f.image_id"
        " WHERE f.pack = %s AND f.assignment_method = 'human' AND p.status = 'active'"
        " AND (%s::text[] IS NULL OR i.month = ANY(%s)) ORDER BY f.image_id, f.id",
        (pack, months, months),
    ).fetchall()
    found: dict[int, list[NamedFace]] = {}
    for image_id, bbox, person_id, name in rows:
        found.setdefault(image_id, []).append(
            NamedFace(tuple(float(v) for v in bbox), person_id, name)
        )
    return found


def record_sidecar(
    conn: psycopg.Connection, rel_path: str, image_id: int | None, person_ids: list[int], sha: str
) -> None:
    conn.execute(
        "INSERT INTO written_sidecars (rel_path, image_id, person_ids, sha256)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (rel_path) DO UPDATE SET"
        " image_id = EXCLUDED.image_id, person_ids = EXCLUDED.person_ids,"
        " sha256 = EXCLUDED.sha256, written_at = now()",
        (rel_path, image_id, sorted(set(person_ids)), sha),
    )


def sidecars_naming(
    conn: psycopg.Connection, person_ids: list[int]
) -> list[tuple[str, int | None]]:
    """Sidecars we wrote that carry one of these persons' names: (path, image id)."""
    return conn.execute(
        "SELECT rel_path, image_id FROM written_sidecars WHERE person_ids && %s::bigint[]"
        " ORDER BY rel_path",
        (person_ids,),
    ).fetchall()


def drop_from_sidecar(
    conn: psycopg.Connection, rel_path: str, person_ids: list[int], sha: str | None
) -> None:
    """The persons are no longer named in the sidecar (sha: its new content; None: gone)."""
    if sha is None:
        conn.execute("DELETE FROM written_sidecars WHERE rel_path = %s", (rel_path,))
        return
    conn.execute(
        "UPDATE written_sidecars SET person_ids = ARRAY(SELECT unnest(person_ids)"
        " EXCEPT SELECT unnest(%s::bigint[])), sha256 = %s, written_at = now()"
        " WHERE rel_path = %s",
        (person_ids, sha, rel_path),
    )


def tag_files_naming(conn: psycopg.Connection, person_ids: list[int]) -> list[str]:
    """Tag files (not written by us) a region naming one of these persons was read from."""
    return first_column(
        conn,
        "SELECT DISTINCT tag_path FROM imported_regions WHERE person_id = ANY(%s)"
        " ORDER BY tag_path",
        (person_ids,),
    )
