"""SQL for the summaries the CLI prints and the demo ends with."""

from __future__ import annotations

import psycopg

from face_assets.store.rows import dicts, keyed


def month_summary(conn: psycopg.Connection) -> list[dict]:
    """Per month: files, images ok / failed, faces, embedded, scored, median quality."""
    return dicts(
        conn,
        "WITH m AS (SELECT month FROM library_files UNION SELECT month FROM images),"
        " f AS (SELECT month, count(*) AS files FROM library_files GROUP BY month),"
        " i AS (SELECT month, count(*) FILTER (WHERE status = 'ok') AS ok,"
        "   count(*) FILTER (WHERE status <> 'ok') AS failed FROM images GROUP BY month),"
        " r AS (SELECT month, count(*) AS refused FROM library_files WHERE sha256 IS NULL"
        "   GROUP BY month),"
        " x AS (SELECT month, count(*) AS faces, count(e.face_id) AS embedded,"
        "   count(quality) AS scored,"
        "   percentile_cont(0.5) WITHIN GROUP (ORDER BY quality) AS median_quality"
        "   FROM faces f LEFT JOIN face_embeddings e ON e.face_id = f.id GROUP BY month)"
        " SELECT m.month, coalesce(f.files, 0), coalesce(i.ok, 0),"
        "   coalesce(i.failed, 0) + coalesce(r.refused, 0), coalesce(x.faces, 0),"
        "   coalesce(x.embedded, 0), coalesce(x.scored, 0), x.median_quality"
        " FROM m LEFT JOIN f USING (month) LEFT JOIN i USING (month) LEFT JOIN r USING (month)"
        " LEFT JOIN x USING (month) ORDER BY m.month",
        (),
        (
            "month",
            "files",
            "images_ok",
            "failed",
            "faces",
            "embedded",
            "scored",
            "median_quality",
        ),
    )


def failure_reasons(conn: psycopg.Connection) -> dict[str, int]:
    return keyed(
        conn,
        "SELECT status, count(*) FROM ("
        " SELECT status FROM images WHERE status <> 'ok'"
        " UNION ALL SELECT status FROM library_files WHERE sha256 IS NULL) s"
        " GROUP BY status ORDER BY status",
    )


def identity_summary(conn: psycopg.Connection, pack: str) -> dict:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM persons WHERE status = 'active'),"
        " count(*) FILTER (WHERE assignment_method = 'human'),"
        " count(*) FILTER (WHERE assignment_method = 'auto'),"
        " count(DISTINCT cluster_id), count(*) FILTER (WHERE cluster_id IS NOT NULL),"
        " count(*) FILTER (WHERE person_id IS NULL)"
        " FROM faces WHERE pack = %s",
        (pack,),
    ).fetchone()
    keys = (
        "persons",
        "human_labelled",
        "auto_assigned",
        "clusters",
        "clustered_faces",
        "unassigned_faces",
    )
    return dict(zip(keys, row, strict=True))


def seed_totals(conn: psycopg.Connection, pack: str) -> dict:
    """Seed 002's `faces stats` totals, of this pack's faces; its Qdrant collection's points
    and vectors are our pgvector rows (this pack's, and every pack's)."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM faces WHERE pack = %(pack)s),"
        " (SELECT count(*) FROM faces WHERE pack = %(pack)s AND person_id IS NOT NULL),"
        " (SELECT count(*) FROM faces WHERE pack = %(pack)s AND cluster_id IS NOT NULL),"
        " (SELECT count(*) FROM persons),"
        " (SELECT count(*) FROM persons WHERE status = 'active'),"
        " (SELECT count(*) FROM persons WHERE status = 'merged'),"
        " (SELECT count(*) FROM persons WHERE status = 'hidden'),"
        " (SELECT count(*) FROM person_prototypes WHERE pack = %(pack)s),"
        " (SELECT count(*) FROM face_embeddings WHERE pack = %(pack)s),"
        " (SELECT count(*) FROM face_embeddings)",
        {"pack": pack},
    ).fetchone()
    keys = (
        "total_faces",
        "assigned_faces",
        "clustered_faces",
        "total_persons",
        "active_persons",
        "merged_persons",
        "hidden_persons",
        "total_prototypes",
        "points",
        "vectors",
    )
    return dict(zip(keys, row, strict=True))
