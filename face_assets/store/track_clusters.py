"""SQL for video tracks in clustering: the unassigned tracks' embeddings, the photo clusters
near them (through the pack's HNSW index) and their sums, and the clusters the tracks join."""

from __future__ import annotations

import numpy as np
import psycopg
from psycopg import sql

from face_assets.store.faces import vector_array
from face_assets.store.rows import first_column, keyed
from face_assets.store.vectors import HNSW_EF_SEARCH, cast, id_vectors, stored_width


def clusterable_tracks(
    conn: psycopg.Connection, pack: str, dim: int
) -> tuple[list[int], np.ndarray]:
    """(ids, embeddings) of the tracks no person holds: what clustering sees of videos (dim: the
    pack's width, the empty array's when there are none)."""
    ids, vectors = id_vectors(
        conn,
        "SELECT id, embedding FROM video_tracks WHERE pack = %s AND person_id IS NULL ORDER BY id",
        (pack,),
        dim,
    )
    return ids.tolist(), vectors


def photo_clusters_near_tracks(
    conn: psycopg.Connection, pack: str, track_ids: list[int], k: int, min_quality: float
) -> list[str]:
    """Photo clusters among these tracks' k nearest faces of the pack, found through the pack's
    HNSW index (store/vectors.py): the clusters a track can join, so a clustering run reads
    what the tracks reach, never every cluster of the library. Sorted, distinct."""
    width = stored_width(conn, pack)
    if width is None or not track_ids:
        return []
    conn.execute(f"SET LOCAL hnsw.ef_search = {max(HNSW_EF_SEARCH, int(k))}")
    # As nearest_embedded: the inner query is the pack's index predicate and ORDER BY its
    # expression ... LIMIT, so the planner walks that pack's graph from each track's mean.
    query = sql.SQL(
        "SELECT DISTINCT f.cluster_id FROM video_tracks t"
        " CROSS JOIN LATERAL (SELECT e.face_id FROM face_embeddings e WHERE e.pack = {pack}"
        "   ORDER BY {e} <=> {t} LIMIT %s) n JOIN faces f ON f.id = n.face_id"
        " WHERE t.id = ANY(%s) AND t.pack = {pack} AND vector_dims(t.embedding) = {width}"
        " AND f.cluster_id IS NOT NULL AND f.person_id IS NULL AND f.quality >= %s"
        " ORDER BY f.cluster_id"
    ).format(
        e=cast("e.embedding", width),
        t=cast("t.embedding", width),
        pack=sql.Literal(pack),
        width=sql.Literal(width),
    )
    return first_column(conn, query, (int(k), list(track_ids), min_quality))


def photo_cluster_sums(
    conn: psycopg.Connection, pack: str, min_quality: float, dim: int, cluster_ids: list[str]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(cluster ids, member embedding sums, sizes) of these photo clusters, over their
    unlabelled faces of quality >= min_quality (dim: the pack's width, the empty array's when
    there are none). Clusters with no such face left are left out."""
    rows = conn.execute(
        "SELECT f.cluster_id, sum(e.embedding), count(*) FROM faces f"
        " JOIN face_embeddings e ON e.face_id = f.id WHERE f.pack = %s"
        " AND f.cluster_id = ANY(%s) AND f.person_id IS NULL AND f.quality >= %s"
        " GROUP BY f.cluster_id ORDER BY f.cluster_id",
        (pack, list(cluster_ids), min_quality),
    ).fetchall()
    if not rows:
        return [], np.zeros((0, dim), dtype=np.float64), np.zeros(0, dtype=np.int64)
    sums = np.stack([vector_array(r[1]).astype(np.float64) for r in rows])
    return [r[0] for r in rows], sums, np.array([int(r[2]) for r in rows], dtype=np.int64)


def set_track_clusters(conn: psycopg.Connection, pack: str, rows: list[tuple[int, str]]) -> None:
    """Each unassigned track's cluster (track id, cluster id); the others' are cleared."""
    conn.execute("UPDATE video_tracks SET cluster_id = NULL WHERE pack = %s", (pack,))
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE video_tracks SET cluster_id = %s WHERE id = %s AND person_id IS NULL",
            [(c, t) for t, c in rows],
        )


def unassigned_track_clusters(conn: psycopg.Connection, pack: str) -> dict[int, str | None]:
    """Each unassigned track's cluster now (None: in none), before a run moves them."""
    return keyed(
        conn,
        "SELECT id, cluster_id FROM video_tracks WHERE pack = %s AND person_id IS NULL",
        (pack,),
    )


def cluster_tracks(conn: psycopg.Connection, cluster_id: str) -> list[int]:
    """Ids of the unassigned tracks in this cluster."""
    return first_column(
        conn,
        "SELECT id FROM video_tracks WHERE cluster_id = %s AND person_id IS NULL ORDER BY id",
        (cluster_id,),
    )


def cluster_track_counts(conn: psycopg.Connection, pack: str) -> dict[str, int]:
    """Unassigned tracks per cluster (each one member of it)."""
    rows = conn.execute(
        "SELECT cluster_id, count(*) FROM video_tracks WHERE pack = %s"
        " AND cluster_id IS NOT NULL AND person_id IS NULL GROUP BY cluster_id",
        (pack,),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}
