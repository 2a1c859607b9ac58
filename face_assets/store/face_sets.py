"""SQL that reads faces with their photo, quality and embedding as one FaceSet: a cluster's
unlabelled faces (to label or split it) and each person's human-labelled faces (what
prototypes and projection heads learn from)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import psycopg

from face_assets.store.faces import vector_array
from face_assets.store.vectors import no_vectors


@dataclass(frozen=True)
class FaceSet:
    """Faces with their photo, quality and embedding, in matching order."""

    face_ids: list[int]
    image_ids: list[int]
    qualities: list[float]
    embeddings: np.ndarray
    cluster_ids: list[str | None]


def _face_set(rows: list[tuple]) -> FaceSet:
    if not rows:
        return FaceSet([], [], [], no_vectors(0), [])
    return FaceSet(
        [r[0] for r in rows],
        [r[1] for r in rows],
        [float(r[2]) if r[2] is not None else 0.0 for r in rows],
        np.vstack([vector_array(r[3]) for r in rows]),
        [r[4] for r in rows],
    )


def cluster_face_set(conn: psycopg.Connection, cluster_id: str) -> FaceSet:
    """The unlabelled embedded faces of a cluster, by id; LookupError when it has none."""
    rows = conn.execute(
        "SELECT f.id, f.image_id, f.quality, e.embedding, f.cluster_id FROM faces f"
        " JOIN face_embeddings e ON e.face_id = f.id"
        " WHERE f.cluster_id = %s AND f.person_id IS NULL ORDER BY f.id",
        (cluster_id,),
    ).fetchall()
    if not rows:
        raise LookupError(
            f"no cluster {cluster_id!r} with unlabelled faces (see `face-assets clusters`)"
        )
    return _face_set(rows)


def human_face_sets(
    conn: psycopg.Connection, pack: str, person_ids: list[int] | None = None
) -> dict[int, FaceSet]:
    """Human-labelled embedded faces of active persons (all, or the given ones), by person.

    Only human labels make prototypes: an automatic mistake must never teach the matcher,
    and assignments must not drift when re-run.
    """
    rows = conn.execute(
        "SELECT f.person_id, f.id, f.image_id, f.quality, e.embedding, f.cluster_id FROM faces f"
        " JOIN face_embeddings e ON e.face_id = f.id JOIN persons p ON p.id = f.person_id"
        " WHERE f.pack = %s AND p.status = 'active' AND f.assignment_method = 'human'"
        " AND (%s::bigint[] IS NULL OR"
        " f.person_id = ANY(%s)) ORDER BY f.person_id, f.id",
        (pack, person_ids, person_ids),
    ).fetchall()
    grouped: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row[1:])
    return {person: _face_set(group) for person, group in grouped.items()}
