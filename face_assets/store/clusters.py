"""SQL for clustering at library scale: the faces clustering sees, which of them were
clustered before, cluster sums, cluster labels written in bulk (and one by one, for a split),
the clusters listed, and the identity watermarks. Embeddings are read by store.vectors."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import psycopg
from psycopg import sql

from face_assets.store.rows import first_column
from face_assets.store.vectors import id_vectors, stored_width

if TYPE_CHECKING:
    from face_assets.store.store import Store

# The faces clustering sees (and the review queue asks about): embedded, unclaimed, good;
# with their clustered_faces row when an earlier run clustered them (g.*).
UNCLAIMED_FACES = sql.SQL(
    " FROM faces f JOIN face_embeddings e ON e.face_id = f.id"
    " LEFT JOIN clustered_faces g ON g.face_id = f.id"
    " WHERE f.pack = %(pack)s AND f.person_id IS NULL AND f.quality >= %(min_quality)s"
)


CLUSTERING_LOCK_CLASS = 23_016  # advisory-lock class: one clustering pass of a pack at a time


@contextlib.contextmanager
def clustering_lock(store: Store, pack: str) -> Iterator[None]:
    """Hold the pack's clustering lock (a session advisory lock on a connection of its own)
    for a whole pass: two passes at once (a Dagster run and the API's /cluster, two clicks)
    would read one snapshot and each write its own labels and watermark; the second now
    waits and then sees the first's result. The server drops the lock if the client dies."""
    with store.outside_transaction() as conn:
        conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (CLUSTERING_LOCK_CLASS, pack))
        try:
            yield
        finally:
            conn.execute(
                "SELECT pg_advisory_unlock(%s, hashtext(%s))", (CLUSTERING_LOCK_CLASS, pack)
            )


# A cluster's version: its unlabelled faces' ids, in order, hashed (the same digest in SQL,
# for listings, and in Python, for the faces a label locked). It changes whenever a face
# joins, leaves, is labelled or split off: what a reviewer saw is what they name.
CLUSTER_VERSION_SQL = sql.SQL("left(md5(string_agg(id::text, ',' ORDER BY id)), 16)")


def cluster_version(face_ids: Iterable[int]) -> str:
    """The version of a cluster holding exactly these unlabelled faces (CLUSTER_VERSION_SQL)."""
    text = ",".join(str(int(f)) for f in sorted(face_ids))
    return hashlib.md5(text.encode()).hexdigest()[:16]


def lock_cluster_faces(conn: psycopg.Connection, cluster_id: str) -> list[int]:
    """Lock a cluster's unlabelled faces (FOR UPDATE, in id order) and return their ids: a
    concurrent label or split waits, then sees the faces as this transaction leaves them."""
    return first_column(
        conn,
        "SELECT id FROM faces WHERE cluster_id = %s AND person_id IS NULL ORDER BY id FOR UPDATE",
        (cluster_id,),
    )


def last_cluster_event(conn: psycopg.Connection, cluster_id: str) -> tuple[str, int | None] | None:
    """(operation, person) of the latest labelling event on this cluster, None if none."""
    row = conn.execute(
        "SELECT operation, person_id FROM label_events WHERE cluster_id = %s"
        " ORDER BY id DESC LIMIT 1",
        (cluster_id,),
    ).fetchone()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True)
class ClusterInput:
    """The faces a clustering run considers, in face id order (no embeddings)."""

    face_ids: np.ndarray  # int64
    image_ids: np.ndarray  # int64
    cluster_ids: list[str | None]
    clustered: np.ndarray  # bool: an earlier run clustered this embedding (else it is new)


def cluster_input(conn: psycopg.Connection, pack: str, min_quality: float) -> ClusterInput:
    """Unlabelled embedded faces of quality >= min_quality: what clustering sees."""
    rows = conn.execute(
        sql.SQL(
            "SELECT f.id, f.image_id, f.cluster_id, g.face_id IS NOT NULL{} ORDER BY f.id"
        ).format(UNCLAIMED_FACES),
        {"pack": pack, "min_quality": min_quality},
    ).fetchall()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return ClusterInput(empty, empty, [], np.zeros(0, dtype=bool))
    return ClusterInput(
        np.fromiter((r[0] for r in rows), np.int64, len(rows)),
        np.fromiter((r[1] for r in rows), np.int64, len(rows)),
        [r[2] for r in rows],
        np.fromiter((r[3] for r in rows), bool, len(rows)),
    )


def cluster_sums(
    conn: psycopg.Connection, pack: str, min_quality: float, cluster_ids: list[str]
) -> np.ndarray:
    """Sum of the member embeddings of each of these clusters, in their order (float64 rows),
    over the faces clustering sees that are in the graph: a refresh needs no member itself,
    only its cluster's sum and size (average similarity = dot of sums / product of sizes)."""
    out = np.zeros((len(cluster_ids), stored_width(conn, pack) or 0), dtype=np.float64)
    if not cluster_ids:
        return out
    keys, vectors = id_vectors(
        conn,
        "SELECT c.k, sum(e.embedding) FROM unnest(%s::text[]) WITH ORDINALITY AS c(cluster_id, k)"
        " JOIN faces f ON f.cluster_id = c.cluster_id"
        " JOIN face_embeddings e ON e.face_id = f.id"
        " JOIN clustered_faces g ON g.face_id = f.id"
        " WHERE f.pack = %s AND f.person_id IS NULL AND f.quality >= %s GROUP BY c.k",
        (list(cluster_ids), pack, min_quality),
    )
    out[keys - 1] = vectors
    return out


def mark_clustered(
    conn: psycopg.Connection, pack: str, face_ids: np.ndarray, replace_all: bool
) -> None:
    """Record that these faces' embeddings were clustered (all of the pack's, replacing the
    old record, when ``replace_all``): the next refresh treats every other face as new."""
    conn.execute("SET LOCAL synchronous_commit = off")  # machine output: recomputed if lost
    if replace_all:
        conn.execute("DELETE FROM clustered_faces WHERE pack = %s", (pack,))
    conn.execute(
        "INSERT INTO clustered_faces (face_id, pack) SELECT unnest(%s::bigint[]), %s"
        " ON CONFLICT (face_id) DO NOTHING",
        (np.asarray(face_ids, dtype=np.int64).tolist(), pack),
    )


def forget_claimed(conn: psycopg.Connection, pack: str) -> int:
    """Faces a person claimed leave the clustered record: if a human gives one back, the next
    refresh places it anew."""
    cur = conn.execute(
        "DELETE FROM clustered_faces g USING faces f WHERE f.id = g.face_id AND g.pack = %s"
        " AND f.person_id IS NOT NULL",
        (pack,),
    )
    return cur.rowcount


def write_cluster_labels(
    conn: psycopg.Connection, face_ids: list[int], cluster_ids: list[str | None]
) -> int:
    """Set these faces' cluster ids in one statement; only rows that change are written, and
    never a face a human (or an assignment) gave to a person since the snapshot was read."""
    conn.execute("SET LOCAL synchronous_commit = off")  # machine output: recomputed if lost
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS _clusters (face_id bigint PRIMARY KEY, cluster_id text)"
        " ON COMMIT DROP"
    )
    conn.execute("TRUNCATE _clusters")
    with conn.cursor().copy("COPY _clusters (face_id, cluster_id) FROM STDIN") as copy:
        for face, cluster in zip(face_ids, cluster_ids, strict=True):
            copy.write_row((face, cluster))
    conn.execute("ANALYZE _clusters")  # a hash join, not a nested loop over a 'small' table
    cur = conn.execute(
        "UPDATE faces f SET cluster_id = c.cluster_id, clustered_at = now() FROM _clusters c"
        " WHERE f.id = c.face_id AND f.person_id IS NULL"
        " AND f.cluster_id IS DISTINCT FROM c.cluster_id"
    )
    return cur.rowcount


def clear_clusters_outside(conn: psycopg.Connection, pack: str, min_quality: float) -> int:
    """Unclaimed faces outside the clustering population (rescored below the bar, embedding
    gone) lose their cluster. Stated as the population's complement, not as "not in this list
    of ids": NOT (id = ANY(100k ids)) cost 18 s at 100k faces, this one scan well under 1 s."""
    cur = conn.execute(
        "UPDATE faces f SET cluster_id = NULL, clustered_at = now() WHERE f.pack = %s"
        " AND f.person_id IS NULL AND f.cluster_id IS NOT NULL"
        " AND (f.quality IS NULL OR f.quality < %s"
        "   OR NOT EXISTS (SELECT 1 FROM face_embeddings e WHERE e.face_id = f.id))",
        (pack, min_quality),
    )
    return cur.rowcount


def input_digest(conn: psycopg.Connection, pack: str, min_quality: float) -> str:
    """A digest of the clustering input: which faces, their cluster ids, and how many were
    clustered before (a re-computed embedding drops its face's clustered_faces row)."""
    row = conn.execute(
        sql.SQL(
            "SELECT count(*), coalesce(max(f.id), 0), coalesce(sum(f.id), 0),"
            " coalesce(sum(hashtext(coalesce(f.cluster_id, ''))::bigint), 0),"
            " count(g.face_id){}"
        ).format(UNCLAIMED_FACES),
        {"pack": pack, "min_quality": min_quality},
    ).fetchone()
    return hashlib.sha1(repr(tuple(row)).encode()).hexdigest()


def watermark(conn: psycopg.Connection, stage: str, pack: str, scope: str) -> str | None:
    row = conn.execute(
        "SELECT fingerprint FROM identity_watermarks WHERE stage = %s AND pack = %s AND scope = %s",
        (stage, pack, scope),
    ).fetchone()
    return row[0] if row else None


def latest_watermark(conn: psycopg.Connection, stage: str, pack: str) -> tuple[str, str] | None:
    """(scope, fingerprint) of the stage's last write for this pack, None if none: the scope
    the last run used, so a run under another scope knows its own older row is stale."""
    row = conn.execute(
        "SELECT scope, fingerprint FROM identity_watermarks WHERE stage = %s AND pack = %s"
        " ORDER BY updated_at DESC LIMIT 1",
        (stage, pack),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def set_watermark(
    conn: psycopg.Connection, stage: str, pack: str, scope: str, fingerprint: str
) -> None:
    conn.execute(
        "INSERT INTO identity_watermarks (stage, pack, scope, fingerprint) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (stage, pack, scope) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,"
        " updated_at = now()",
        (stage, pack, scope, fingerprint),
    )


def set_cluster(conn: psycopg.Connection, face_ids: list[int], cluster_id: str | None) -> None:
    """Put these faces into one cluster (None: out of any), as a split decides; a face a
    person claimed meanwhile keeps no cluster (faces_person_or_cluster)."""
    conn.execute(
        "UPDATE faces SET cluster_id = %s, clustered_at = now()"
        " WHERE id = ANY(%s) AND person_id IS NULL",
        (cluster_id, face_ids),
    )
