"""Read-only SQL for the review queue's candidate questions: automatic assignments near
the threshold, the best unassigned faces to probe, clusters near a known person, and the
faces shown beside a question."""

from __future__ import annotations

import psycopg
from psycopg import sql

from face_assets.store.clusters import UNCLAIMED_FACES
from face_assets.store.rows import first_column


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
    return first_column(
        conn,
        sql.SQL("SELECT f.id{} ORDER BY f.quality DESC, f.id LIMIT %(limit)s").format(
            UNCLAIMED_FACES
        ),
        {"pack": pack, "min_quality": min_quality, "limit": limit},
    )


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


def best_cluster_face_ids(conn: psycopg.Connection, cluster_id: str, count: int) -> list[int]:
    """A cluster's best-quality unlabelled faces."""
    return first_column(
        conn,
        "SELECT id FROM faces WHERE cluster_id = %s AND person_id IS NULL"
        " ORDER BY quality DESC NULLS LAST, id LIMIT %s",
        (cluster_id, count),
    )


def best_person_face_ids(conn: psycopg.Connection, person_id: int, count: int) -> list[int]:
    """A person's best human-labelled faces (what "Is this X?" shows X as)."""
    return first_column(
        conn,
        "SELECT id FROM faces WHERE person_id = %s"
        " ORDER BY assignment_method = 'human' DESC, quality DESC NULLS LAST, id LIMIT %s",
        (person_id, count),
    )
