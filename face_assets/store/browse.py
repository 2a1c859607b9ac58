"""SQL for browsing the identity graph page by page (the HTTP API and the review page) and
for the review queue's candidate questions. Read-only except the queue's rejection record."""

from __future__ import annotations

import psycopg
from psycopg import sql

from face_assets.store import graph as graph_store

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


def _faces(rows: list[tuple]) -> list[dict]:
    return [dict(zip(FACE_KEYS, row, strict=True)) for row in rows]


def cluster_page(
    conn: psycopg.Connection, pack: str, limit: int, offset: int, samples: int
) -> tuple[list[dict], int]:
    """One page of clusters of unlabelled faces, largest first, and how many there are."""
    total = conn.execute(
        "SELECT count(DISTINCT cluster_id) FROM faces"
        " WHERE pack = %s AND cluster_id IS NOT NULL AND person_id IS NULL",
        (pack,),
    ).fetchone()[0]
    rows = conn.execute(
        "SELECT cluster_id, count(*), avg(quality),"
        " (array_agg(id ORDER BY quality DESC NULLS LAST, id))[1:%s]"
        " FROM faces WHERE pack = %s AND cluster_id IS NOT NULL AND person_id IS NULL"
        " GROUP BY cluster_id ORDER BY count(*) DESC, cluster_id LIMIT %s OFFSET %s",
        (samples, pack, limit, offset),
    ).fetchall()
    keys = ("cluster_id", "size", "avg_quality", "sample_faces")
    return [dict(zip(keys, row, strict=True)) for row in rows], int(total)


def cluster_faces(conn: psycopg.Connection, cluster_id: str) -> list[dict]:
    """The unlabelled faces of a cluster, best quality first (empty for an unknown cluster)."""
    rows = conn.execute(
        f"SELECT {_FACE_COLUMNS}{_FACES_FROM}"
        " WHERE f.cluster_id = %s AND f.person_id IS NULL ORDER BY f.quality DESC NULLS LAST, f.id",
        (cluster_id,),
    ).fetchall()
    return _faces(rows)


def person_page(
    conn: psycopg.Connection, status: str | None, limit: int, offset: int
) -> tuple[list[dict], int]:
    """One page of persons (optionally of one status) with face and prototype counts."""
    total = conn.execute(
        "SELECT count(*) FROM persons WHERE %s::text IS NULL OR status = %s", (status, status)
    ).fetchone()[0]
    rows = conn.execute(
        "SELECT p.id, p.name, p.status, p.merged_into, p.created_at, p.updated_at,"
        " (SELECT count(*) FROM faces f WHERE f.person_id = p.id),"
        " (SELECT count(*) FROM faces f WHERE f.person_id = p.id"
        "   AND f.assignment_method = 'human'),"
        " (SELECT count(*) FROM faces f WHERE f.person_id = p.id"
        "   AND f.assignment_method = 'auto'),"
        " (SELECT count(*) FROM person_prototypes pp WHERE pp.person_id = p.id)"
        " FROM persons p WHERE %s::text IS NULL OR p.status = %s"
        " ORDER BY p.status, lower(p.name), p.id LIMIT %s OFFSET %s",
        (status, status, limit, offset),
    ).fetchall()
    keys = (
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
    return [dict(zip(keys, row, strict=True)) for row in rows], int(total)


def person(conn: psycopg.Connection, person_id: int) -> dict | None:
    """One person with face and prototype counts; None for an unknown id."""
    row = conn.execute(
        "SELECT p.id, p.name, p.status, p.merged_into, p.created_at, p.updated_at,"
        " (SELECT count(*) FROM faces f WHERE f.person_id = p.id),"
        " (SELECT count(*) FROM person_prototypes pp WHERE pp.person_id = p.id)"
        " FROM persons p WHERE p.id = %s",
        (person_id,),
    ).fetchone()
    if row is None:
        return None
    keys = (
        "id",
        "name",
        "status",
        "merged_into",
        "created_at",
        "updated_at",
        "faces",
        "prototypes",
    )
    return dict(zip(keys, row, strict=True))


def person_faces(conn: psycopg.Connection, person_id: int, limit: int, offset: int) -> list[dict]:
    """A page of a person's faces: human labels first, then automatic ones least sure first."""
    rows = conn.execute(
        f"SELECT {_FACE_COLUMNS}{_FACES_FROM} WHERE f.person_id = %s"
        " ORDER BY f.assignment_method = 'auto', f.assignment_similarity NULLS FIRST, f.id"
        " LIMIT %s OFFSET %s",
        (person_id, limit, offset),
    ).fetchall()
    return _faces(rows)


def image_exists(conn: psycopg.Connection, image_id: int) -> tuple[str, str] | None:
    """(month, status) of a registered image, None when there is none."""
    row = conn.execute("SELECT month, status FROM images WHERE id = %s", (image_id,)).fetchone()
    return None if row is None else (row[0], row[1])


def image_faces(conn: psycopg.Connection, image_id: int, pack: str) -> list[dict]:
    rows = conn.execute(
        f"SELECT {_FACE_COLUMNS}{_FACES_FROM} WHERE f.image_id = %s AND f.pack = %s"
        " ORDER BY f.face_index, f.id",
        (image_id, pack),
    ).fetchall()
    return _faces(rows)


# --- review queue ---------------------------------------------------------------------------


def uncertain_auto_assignments(
    conn: psycopg.Connection, pack: str, low: float, high: float, limit: int
) -> list[tuple[int, int, str, float]]:
    """(face, person, name, similarity) of automatic assignments with a similarity in
    [low, high): the ones just above the threshold, least sure first."""
    return conn.execute(
        "SELECT f.id, f.person_id, p.name, f.assignment_similarity FROM faces f"
        " JOIN persons p ON p.id = f.person_id AND p.status = 'active'"
        " WHERE f.pack = %s AND f.assignment_method = 'auto'"
        " AND f.assignment_similarity >= %s AND f.assignment_similarity < %s"
        " ORDER BY f.assignment_similarity, f.id LIMIT %s",
        (pack, low, high, limit),
    ).fetchall()


def best_unassigned_faces(
    conn: psycopg.Connection, pack: str, min_quality: float, limit: int
) -> list[int]:
    """Ids of the `limit` best-quality embedded faces nobody is assigned to."""
    rows = conn.execute(
        sql.SQL("SELECT f.id{} ORDER BY f.quality DESC, f.id LIMIT %(limit)s").format(
            graph_store.UNCLAIMED_FACES
        ),
        {"pack": pack, "min_quality": min_quality, "limit": limit},
    ).fetchall()
    return [r[0] for r in rows]


def person_names(conn: psycopg.Connection, person_ids: list[int]) -> dict[int, str]:
    rows = conn.execute("SELECT id, name FROM persons WHERE id = ANY(%s)", (person_ids,)).fetchall()
    return dict(rows)


def cluster_person_suggestions(
    conn: psycopg.Connection, pack: str, min_similarity: float, clusters: int, limit: int
) -> list[tuple[str, int, int, str, float]]:
    """(cluster, size, person, name, similarity) for clusters whose centroid is near a known
    person's centroid: merge suggestions. The `clusters` largest clusters are probed; a
    cluster whose faces a human rejected for that person is left out."""
    return conn.execute(
        "WITH cl AS (SELECT f.cluster_id, count(*) AS size, avg(e.embedding) AS centre"
        "   FROM faces f JOIN face_embeddings e ON e.face_id = f.id"
        "   WHERE f.pack = %s AND f.cluster_id IS NOT NULL AND f.person_id IS NULL"
        "   GROUP BY f.cluster_id ORDER BY count(*) DESC, f.cluster_id LIMIT %s)"
        " SELECT cl.cluster_id, cl.size, c.person_id, c.name, c.similarity FROM cl"
        " CROSS JOIN LATERAL (SELECT pp.person_id, p.name,"
        "   1 - (pp.embedding <=> cl.centre) AS similarity FROM person_prototypes pp"
        "   JOIN persons p ON p.id = pp.person_id AND p.status = 'active'"
        "   WHERE pp.pack = %s AND pp.role = 'centroid'"
        "   ORDER BY pp.embedding <=> cl.centre LIMIT 1) c"
        " WHERE c.similarity >= %s AND NOT EXISTS (SELECT 1 FROM faces f2"
        "   JOIN face_rejections r ON r.face_id = f2.id AND r.person_id = c.person_id"
        "   WHERE f2.cluster_id = cl.cluster_id AND f2.person_id IS NULL)"
        " ORDER BY c.similarity LIMIT %s",
        (pack, clusters, pack, min_similarity, limit),
    ).fetchall()


def sample_faces(conn: psycopg.Connection, cluster_id: str, count: int) -> list[int]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM faces WHERE cluster_id = %s AND person_id IS NULL"
            " ORDER BY quality DESC NULLS LAST, id LIMIT %s",
            (cluster_id, count),
        )
    ]


def person_sample_faces(conn: psycopg.Connection, person_id: int, count: int) -> list[int]:
    """A person's best human-labelled faces (what "Is this X?" shows X as)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM faces WHERE person_id = %s"
            " ORDER BY assignment_method = 'human' DESC, quality DESC NULLS LAST, id LIMIT %s",
            (person_id, count),
        )
    ]


def reject(conn: psycopg.Connection, face_ids: list[int], person_id: int) -> int:
    """A human said these (unassigned) faces are not this person: automatic assignment and
    the review queue must not propose them to that person again."""
    cur = conn.execute(
        "INSERT INTO face_rejections (face_id, person_id)"
        " SELECT id, %s FROM faces WHERE id = ANY(%s) ON CONFLICT DO NOTHING",
        (person_id, face_ids),
    )
    return cur.rowcount
