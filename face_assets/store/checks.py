"""SQL behind the asset checks: invariants of the stored face data."""

from __future__ import annotations

import psycopg

from face_assets.store.rows import first_column, keyed


def embedding_shape_violations(
    conn: psycopg.Connection, pack: str, dim: int, tolerance: float
) -> tuple[int, int, int]:
    """(not unit-norm, wrong dimension, total) over the pack's embeddings."""
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE abs(vector_norm(embedding) - 1) > %s),"
        " count(*) FILTER (WHERE vector_dims(embedding) <> %s), count(*)"
        " FROM face_embeddings WHERE pack = %s",
        (tolerance, dim, pack),
    ).fetchone()
    return row[0], row[1], row[2]


def faces_missing_embedding(conn: psycopg.Connection, pack: str) -> dict[str, int]:
    """Faces without an embedding, per month, in months the embedding stage has run on."""
    return keyed(
        conn,
        "SELECT f.month, count(*) FROM faces f"
        " WHERE f.pack = %s AND NOT EXISTS (SELECT 1 FROM face_embeddings e WHERE e.face_id = f.id)"
        " AND EXISTS (SELECT 1 FROM faces g JOIN face_embeddings e ON e.face_id = g.id"
        "   WHERE g.pack = f.pack AND g.month = f.month)"
        " GROUP BY f.month ORDER BY f.month",
        (pack,),
    )


def faces_without_any_embedding(conn: psycopg.Connection, pack: str) -> dict[str, int]:
    """Faces without an embedding per month, in every month, including months the embedding
    stage never finished once (a run killed between detection and embedding): what
    `find-orphans` reports. The asset check keeps faces_missing_embedding, which runs right
    after embedding and must not fail on months that are still queued."""
    return keyed(
        conn,
        "SELECT f.month, count(*) FROM faces f"
        " WHERE f.pack = %s AND NOT EXISTS (SELECT 1 FROM face_embeddings e WHERE e.face_id = f.id)"
        " GROUP BY f.month ORDER BY f.month",
        (pack,),
    )


def months_without_embeddings(conn: psycopg.Connection, pack: str) -> list[str]:
    """Months holding faces of this pack of which none has an embedding."""
    return first_column(
        conn,
        "SELECT f.month FROM faces f LEFT JOIN face_embeddings e ON e.face_id = f.id"
        " WHERE f.pack = %s GROUP BY f.month HAVING count(e.face_id) = 0 ORDER BY f.month",
        (pack,),
    )


def quality_violations(conn: psycopg.Connection, pack: str) -> tuple[int, int]:
    """(out of [0, 1], unscored faces in months the quality stage has run on)."""
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE quality < 0 OR quality > 1),"
        " count(*) FILTER (WHERE quality IS NULL AND EXISTS (SELECT 1 FROM faces g"
        "   WHERE g.pack = f.pack AND g.month = f.month AND g.quality IS NOT NULL))"
        " FROM faces f WHERE pack = %s",
        (pack,),
    ).fetchone()
    return row[0], row[1]


def face_media(conn: psycopg.Connection) -> list[tuple[int, str, str]]:
    """(face id, crop path, thumbnail path) of every face."""
    return conn.execute("SELECT id, crop_path, thumb_path FROM faces ORDER BY id").fetchall()


def prototype_violations(conn: psycopg.Connection, pack: str, tolerance: float) -> dict[str, int]:
    """Prototypes off the unit sphere; active persons with faces but not exactly one centroid."""
    row = conn.execute(
        "SELECT"
        " (SELECT count(*) FROM person_prototypes WHERE pack = %s"
        "   AND abs(vector_norm(embedding) - 1) > %s),"
        " (SELECT count(*) FROM persons p WHERE p.status = 'active'"
        "   AND EXISTS (SELECT 1 FROM faces f JOIN face_embeddings e ON e.face_id = f.id"
        "     WHERE f.person_id = p.id AND f.pack = %s)"
        "   AND (SELECT count(*) FROM person_prototypes pp WHERE pp.person_id = p.id"
        "     AND pp.pack = %s AND pp.role = 'centroid') <> 1),"
        " (SELECT count(*) FROM person_prototypes pp JOIN persons p ON p.id = pp.person_id"
        "   WHERE p.status <> 'active'),"
        " (SELECT count(*) FROM person_prototypes WHERE pack = %s)",
        (pack, tolerance, pack, pack, pack),
    ).fetchone()
    return {
        "not_unit_norm": row[0],
        "persons_without_one_centroid": row[1],
        "prototypes_of_inactive_persons": row[2],
        "prototypes": row[3],
    }


def faces_on_inactive_persons(conn: psycopg.Connection) -> int:
    return conn.execute(
        "SELECT count(*) FROM faces f JOIN persons p ON p.id = f.person_id"
        " WHERE p.status <> 'active'"
    ).fetchone()[0]


def photos_with_repeated_person(conn: psycopg.Connection, method: str | None = None) -> int:
    """Photos where one person holds two faces (counting only auto assignments if asked)."""
    return conn.execute(
        "SELECT count(*) FROM (SELECT image_id, person_id FROM faces"
        " WHERE person_id IS NOT NULL AND (%s::text IS NULL OR assignment_method = %s)"
        " GROUP BY image_id, person_id HAVING count(*) > 1) d",
        (method, method),
    ).fetchone()[0]


def cluster_violations(conn: psycopg.Connection, pack: str) -> dict[str, int]:
    row = conn.execute(
        "SELECT"
        " (SELECT count(*) FROM faces f WHERE f.cluster_id IS NOT NULL AND f.pack = %s"
        "   AND NOT EXISTS (SELECT 1 FROM face_embeddings e WHERE e.face_id = f.id)),"
        " (SELECT count(*) FROM (SELECT cluster_id FROM faces WHERE cluster_id IS NOT NULL"
        "   AND pack = %s GROUP BY cluster_id, image_id HAVING count(*) > 1) d),"
        " (SELECT count(DISTINCT cluster_id) FROM faces WHERE cluster_id IS NOT NULL"
        "   AND pack = %s)",
        (pack, pack, pack),
    ).fetchone()
    return {
        "clustered_faces_without_embedding": row[0],
        "clusters_with_two_faces_of_one_photo": row[1],
        "clusters": row[2],
    }


def cluster_sizes(conn: psycopg.Connection, pack: str) -> list[int]:
    return first_column(
        conn,
        "SELECT count(*) FROM faces WHERE cluster_id IS NOT NULL AND pack = %s GROUP BY cluster_id",
        (pack,),
    )


def recent_faces_without_embedding(
    conn: psycopg.Connection, pack: str, limit: int | None
) -> tuple[int, list[tuple[int, int, str]]]:
    """(faces checked, [(face id, image id, month)] of them without an embedding): the pack's
    newest `limit` faces (None: every face), where a killed step leaves orphans."""
    rows = conn.execute(
        "WITH checked AS (SELECT id, image_id, month FROM faces WHERE pack = %s"
        "   ORDER BY id DESC LIMIT %s)"
        " SELECT (SELECT count(*) FROM checked), c.id, c.image_id, c.month"
        " FROM (SELECT 1) one LEFT JOIN checked c ON NOT EXISTS"
        "   (SELECT 1 FROM face_embeddings e WHERE e.face_id = c.id)"
        " ORDER BY c.id",
        (pack, limit),
    ).fetchall()
    checked = rows[0][0] if rows else 0
    return checked, [(r[1], r[2], r[3]) for r in rows if r[1] is not None]
