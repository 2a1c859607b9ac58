"""Read-only SQL for listings: clusters and persons for the CLI, pages of clusters, persons
and a photo's faces for the HTTP API and the review page, sample faces and thumbnails."""

from __future__ import annotations

import psycopg
from psycopg import sql

from face_assets.store.clusters import CLUSTER_VERSION_SQL
from face_assets.store.rows import dicts, keyed, row_dict

# The columns every face listing returns, in this order (see FACE_KEYS).
_FACE_COLUMNS = (
    "f.id, f.image_id, f.bbox_x, f.bbox_y, f.bbox_w, f.bbox_h, f.det_score, f.quality,"
    " f.cluster_id, f.person_id, p.name, f.assignment_method, f.assignment_similarity,"
    " f.created_at"
)
FACE_KEYS = (
    "id",
    "asset_id",
    "x",
    "y",
    "width",
    "height",
    "det_score",
    "quality",
    "cluster_id",
    "person_id",
    "person_name",
    "assignment_method",
    "assignment_similarity",
    "created_at",
)
_FACES_FROM = " FROM faces f LEFT JOIN persons p ON p.id = f.person_id"


def cluster_page(
    conn: psycopg.Connection, pack: str, limit: int, offset: int, samples: int
) -> tuple[list[dict], int]:
    """One page of clusters of unlabelled faces, largest first, and how many there are. An
    unassigned video track is one member (`tracks`); a cluster of tracks only comes last."""
    members = sql.SQL(
        "SELECT cluster_id, id, quality FROM faces"
        " WHERE pack = %(pack)s AND cluster_id IS NOT NULL AND person_id IS NULL"
        " UNION ALL SELECT cluster_id, NULL, NULL FROM video_tracks"
        " WHERE pack = %(pack)s AND cluster_id IS NOT NULL AND person_id IS NULL"
    )
    total = conn.execute(
        sql.SQL("SELECT count(DISTINCT cluster_id) FROM ({}) m").format(members), {"pack": pack}
    ).fetchone()[0]
    page = dicts(
        conn,
        sql.SQL(
            "SELECT cluster_id, count(id), avg(quality), COALESCE((array_agg(id ORDER BY quality"
            " DESC NULLS LAST, id) FILTER (WHERE id IS NOT NULL))[1:%(samples)s], '{{}}'),"
            " count(*) - count(id), {version} FROM ({members}) m GROUP BY cluster_id"
            " ORDER BY count(id) DESC,"
            " count(*) DESC, cluster_id LIMIT %(limit)s OFFSET %(offset)s"
        ).format(version=CLUSTER_VERSION_SQL, members=members),
        {"pack": pack, "samples": samples, "limit": limit, "offset": offset},
        ("cluster_id", "size", "avg_quality", "sample_faces", "tracks", "version"),
    )
    return page, int(total)


def person_group_page(
    conn: psycopg.Connection, pack: str, limit: int, offset: int, samples: int
) -> tuple[list[dict], int]:
    """One page of the active persons' faces as groups (seed 002's `person_*` clusters),
    most faces first, and how many such groups there are."""
    where = (
        " FROM faces f JOIN persons p ON p.id = f.person_id AND p.status = 'active'"
        " WHERE f.pack = %s"
    )
    total = conn.execute(f"SELECT count(DISTINCT f.person_id){where}", (pack,)).fetchone()[0]
    page = dicts(
        conn,
        "SELECT p.id, p.name, count(*), avg(f.quality),"
        " (array_agg(f.id ORDER BY f.quality DESC NULLS LAST, f.id))[1:%s]"
        f"{where} GROUP BY p.id, p.name ORDER BY count(*) DESC, p.id LIMIT %s OFFSET %s",
        (samples, pack, limit, offset),
        ("person_id", "person_name", "size", "avg_quality", "sample_faces"),
    )
    return page, int(total)


def cluster_face_rows(conn: psycopg.Connection, cluster_id: str) -> list[dict]:
    """The unlabelled faces of a cluster, best quality first (empty for an unknown cluster)."""
    return dicts(
        conn,
        f"SELECT {_FACE_COLUMNS}{_FACES_FROM}"
        " WHERE f.cluster_id = %s AND f.person_id IS NULL ORDER BY f.quality DESC NULLS LAST, f.id",
        (cluster_id,),
        FACE_KEYS,
    )


# A person with their counts, as person_page and person return it (see _PERSON_KEYS).
_PERSON_SELECT = (
    "SELECT p.id, p.name, p.status, p.merged_into, p.created_at, p.updated_at,"
    " (SELECT count(*) FROM faces f WHERE f.person_id = p.id),"
    " (SELECT count(*) FROM faces f WHERE f.person_id = p.id AND f.assignment_method = 'human'),"
    " (SELECT count(*) FROM faces f WHERE f.person_id = p.id AND f.assignment_method = 'auto'),"
    " (SELECT count(*) FROM person_prototypes pp WHERE pp.person_id = p.id)"
    " FROM persons p"
)
_PERSON_KEYS = (
    "id",
    "name",
    "status",
    "merged_into",
    "created_at",
    "updated_at",
    "faces",
    "human",
    "auto",
    "prototypes",
)


def person_page(
    conn: psycopg.Connection, status: str | None, limit: int, offset: int
) -> tuple[list[dict], int]:
    """One page of persons (optionally of one status) with face and prototype counts."""
    total = conn.execute(
        "SELECT count(*) FROM persons WHERE %s::text IS NULL OR status = %s", (status, status)
    ).fetchone()[0]
    page = dicts(
        conn,
        f"{_PERSON_SELECT} WHERE %s::text IS NULL OR p.status = %s"
        " ORDER BY p.status, lower(p.name), p.id LIMIT %s OFFSET %s",
        (status, status, limit, offset),
        _PERSON_KEYS,
    )
    return page, int(total)


def person(conn: psycopg.Connection, person_id: int) -> dict | None:
    """One person with face and prototype counts (person_page's row); None for an unknown id."""
    return row_dict(conn, f"{_PERSON_SELECT} WHERE p.id = %s", (person_id,), _PERSON_KEYS)


def person_face_rows(
    conn: psycopg.Connection, person_id: int, limit: int, offset: int
) -> list[dict]:
    """A page of a person's faces: human labels first, then automatic ones least sure first."""
    return dicts(
        conn,
        f"SELECT {_FACE_COLUMNS}{_FACES_FROM} WHERE f.person_id = %s"
        " ORDER BY f.assignment_method = 'auto', f.assignment_similarity NULLS FIRST, f.id"
        " LIMIT %s OFFSET %s",
        (person_id, limit, offset),
        FACE_KEYS,
    )


def image_exists(conn: psycopg.Connection, image_id: int) -> tuple[str, str] | None:
    """(month, status) of a registered image, None when there is none."""
    row = conn.execute("SELECT month, status FROM images WHERE id = %s", (image_id,)).fetchone()
    return None if row is None else (row[0], row[1])


def image_faces(conn: psycopg.Connection, image_id: int, pack: str) -> list[dict]:
    return dicts(
        conn,
        f"SELECT {_FACE_COLUMNS}{_FACES_FROM} WHERE f.image_id = %s AND f.pack = %s"
        " ORDER BY f.face_index, f.id",
        (image_id, pack),
        FACE_KEYS,
    )


# --- listings for the CLI and the review page --------------------------------------------


def list_clusters(conn: psycopg.Connection, pack: str, limit: int | None = None) -> list[dict]:
    """Clusters of unlabelled faces, largest first; the first `limit` (None: all)."""
    return dicts(
        conn,
        "SELECT f.cluster_id, count(*), avg(f.quality),"
        " (array_agg(f.id ORDER BY f.quality DESC NULLS LAST))[1:3],"
        " (array_agg(f.thumb_path ORDER BY f.quality DESC NULLS LAST))[1]"
        " FROM faces f WHERE f.pack = %s AND f.cluster_id IS NOT NULL AND f.person_id IS NULL"
        " GROUP BY f.cluster_id ORDER BY count(*) DESC, f.cluster_id LIMIT %s",
        (pack, limit),
        ("cluster_id", "size", "avg_quality", "sample_faces", "sample_thumb"),
    )


def list_persons(conn: psycopg.Connection) -> list[dict]:
    return dicts(
        conn,
        "SELECT p.id, p.name, p.status, p.merged_into, count(f.id),"
        " count(f.id) FILTER (WHERE f.assignment_method = 'human'),"
        " count(f.id) FILTER (WHERE f.assignment_method = 'auto'),"
        " (SELECT count(*) FROM person_prototypes pp WHERE pp.person_id = p.id)"
        " FROM persons p LEFT JOIN faces f ON f.person_id = p.id"
        " GROUP BY p.id ORDER BY p.status, lower(p.name)",
        (),
        ("id", "name", "status", "merged_into", "faces", "human", "auto", "prototypes"),
    )


def sample_face_ids_by_cluster(
    conn: psycopg.Connection, pack: str, per_cluster: int
) -> dict[str, list]:
    """The best-quality unlabelled faces of each cluster, for thumbnails on the review page."""
    return keyed(
        conn,
        "SELECT cluster_id, (array_agg(id ORDER BY quality DESC NULLS LAST, id))[1:%s]"
        " FROM faces WHERE pack = %s AND cluster_id IS NOT NULL AND person_id IS NULL"
        " GROUP BY cluster_id",
        (per_cluster, pack),
    )


def face_thumb_path(conn: psycopg.Connection, face_id: int) -> str | None:
    """A face's thumbnail path relative to the media root; None for an unknown face."""
    row = conn.execute("SELECT thumb_path FROM faces WHERE id = %s", (face_id,)).fetchone()
    return None if row is None else row[0]


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
