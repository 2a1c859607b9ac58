"""SQL for people: persons, clusters, human labels, prototypes and automatic assignments."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import psycopg

from face_assets.errors import NameTakenError
from face_assets.store import graph as graph_store
from face_assets.store.faces import vector_array
from face_assets.vision import matching


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    status: str
    merged_into: int | None


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
        return FaceSet([], [], [], np.zeros((0, 512), dtype=np.float32), [])
    return FaceSet(
        [r[0] for r in rows],
        [r[1] for r in rows],
        [float(r[2]) if r[2] is not None else 0.0 for r in rows],
        np.vstack([vector_array(r[3]) for r in rows]),
        [r[4] for r in rows],
    )


# --- persons ---------------------------------------------------------------------------


def find_person(conn: psycopg.Connection, ref: str | int) -> Person:
    """A person by numeric id or by name (case-insensitive); LookupError if there is none."""
    text = str(ref).strip()
    if text.isdigit():
        row = conn.execute(
            "SELECT id, name, status, merged_into FROM persons WHERE id = %s", (int(text),)
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT id, name, status, merged_into FROM persons WHERE lower(name) = lower(%s)",
            (text,),
        ).fetchone()
    if row is None:
        raise LookupError(f"no person {text!r} (give an id from `face-assets persons` or a name)")
    return Person(*row)


def person_by_name(conn: psycopg.Connection, name: str) -> tuple[Person, bool]:
    """The person with this name (case-insensitive), created if new; (person, created)."""
    clean = " ".join(name.split())
    if not clean:
        raise ValueError("a person's name cannot be empty")
    row = conn.execute(
        "INSERT INTO persons (name) VALUES (%s) ON CONFLICT ((lower(name))) DO NOTHING"
        " RETURNING id, name, status, merged_into",
        (clean,),
    ).fetchone()
    if row is not None:
        return Person(*row), True
    return find_person(conn, clean), False


def list_persons(conn: psycopg.Connection) -> list[dict]:
    rows = conn.execute(
        "SELECT p.id, p.name, p.status, p.merged_into, count(f.id),"
        " count(f.id) FILTER (WHERE f.assignment_method = 'human'),"
        " count(f.id) FILTER (WHERE f.assignment_method = 'auto'),"
        " (SELECT count(*) FROM person_prototypes pp WHERE pp.person_id = p.id)"
        " FROM persons p LEFT JOIN faces f ON f.person_id = p.id"
        " GROUP BY p.id ORDER BY p.status, lower(p.name)"
    ).fetchall()
    keys = ("id", "name", "status", "merged_into", "faces", "human", "auto", "prototypes")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def set_status(conn: psycopg.Connection, person_id: int, status: str) -> None:
    conn.execute(
        "UPDATE persons SET status = %s, updated_at = now() WHERE id = %s", (status, person_id)
    )


def rename(conn: psycopg.Connection, person_id: int, name: str) -> None:
    """NameTakenError when another person has the name (case-insensitive)."""
    try:
        conn.execute(
            "UPDATE persons SET name = %s, updated_at = now() WHERE id = %s", (name, person_id)
        )
    except psycopg.errors.UniqueViolation as exc:
        raise NameTakenError(f"another person is already called {name!r}; merge instead") from exc


def release_faces(conn: psycopg.Connection, person_id: int, method: str) -> int:
    """Take a person's faces of one assignment method back to 'unassigned'."""
    cur = conn.execute(
        "UPDATE faces SET person_id = NULL, assignment_method = NULL,"
        " assignment_similarity = NULL, assignment_prototype_id = NULL, assignment_head = NULL,"
        " assigned_at = NULL, updated_at = now()"
        " WHERE person_id = %s AND assignment_method = %s",
        (person_id, method),
    )
    return cur.rowcount


def set_merged(conn: psycopg.Connection, source: int, target: int) -> None:
    conn.execute(
        "UPDATE persons SET status = 'merged', merged_into = %s, updated_at = now() WHERE id = %s",
        (target, source),
    )
    # Earlier merges into the source now point at the surviving person.
    conn.execute(
        "UPDATE persons SET merged_into = %s, updated_at = now() WHERE merged_into = %s",
        (target, source),
    )


def log_event(
    conn: psycopg.Connection,
    operation: str,
    person_id: int | None = None,
    cluster_id: str | None = None,
    face_count: int = 0,
    detail: dict | None = None,
) -> int:
    return conn.execute(
        "INSERT INTO label_events (operation, person_id, cluster_id, face_count, detail)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (operation, person_id, cluster_id, face_count, json.dumps(detail or {})),
    ).fetchone()[0]


def labels_version(conn: psycopg.Connection) -> str:
    """Changes whenever a human labelling operation happens (the person_labels data version)."""
    row = conn.execute("SELECT coalesce(max(id), 0), count(*) FROM label_events").fetchone()
    return f"{row[0]}-{row[1]}"


# --- clusters and human labels ----------------------------------------------------------


def cluster_faces(conn: psycopg.Connection, cluster_id: str) -> FaceSet:
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


def list_clusters(conn: psycopg.Connection, pack: str) -> list[dict]:
    rows = conn.execute(
        "SELECT f.cluster_id, count(*), avg(f.quality),"
        " (array_agg(f.id ORDER BY f.quality DESC NULLS LAST))[1:3],"
        " (array_agg(f.thumb_path ORDER BY f.quality DESC NULLS LAST))[1]"
        " FROM faces f WHERE f.pack = %s AND f.cluster_id IS NOT NULL AND f.person_id IS NULL"
        " GROUP BY f.cluster_id ORDER BY count(*) DESC, f.cluster_id",
        (pack,),
    ).fetchall()
    keys = ("cluster_id", "size", "avg_quality", "sample_faces", "sample_thumb")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def set_cluster(conn: psycopg.Connection, face_ids: list[int], cluster_id: str | None) -> None:
    conn.execute(
        "UPDATE faces SET cluster_id = %s, clustered_at = now() WHERE id = ANY(%s)",
        (cluster_id, face_ids),
    )


def label_faces(conn: psycopg.Connection, face_ids: list[int], person_id: int) -> int:
    """Human label: the faces are this person (overrides automatic assignments)."""
    cur = conn.execute(
        "UPDATE faces SET person_id = %s, assignment_method = 'human',"
        " assignment_similarity = NULL, assignment_prototype_id = NULL, assignment_head = NULL,"
        " assigned_at = now(), cluster_id = NULL, updated_at = now() WHERE id = ANY(%s)",
        (person_id, face_ids),
    )
    conn.execute(
        "DELETE FROM face_rejections WHERE person_id = %s AND face_id = ANY(%s)",
        (person_id, face_ids),
    )
    return cur.rowcount


def move_person_faces(conn: psycopg.Connection, source: int, target: int) -> int:
    cur = conn.execute(
        "UPDATE faces SET person_id = %s, updated_at = now() WHERE person_id = %s",
        (target, source),
    )
    conn.execute(
        "INSERT INTO face_rejections (face_id, person_id)"
        " SELECT face_id, %s FROM face_rejections WHERE person_id = %s ON CONFLICT DO NOTHING",
        (target, source),
    )
    return cur.rowcount


def face_person(conn: psycopg.Connection, face_id: int) -> tuple[int | None, str | None]:
    row = conn.execute(
        "SELECT person_id, assignment_method FROM faces WHERE id = %s", (face_id,)
    ).fetchone()
    if row is None:
        raise LookupError(f"no face {face_id}")
    return row[0], row[1]


def face_pack(conn: psycopg.Connection, face_id: int) -> str:
    row = conn.execute("SELECT pack FROM faces WHERE id = %s", (face_id,)).fetchone()
    if row is None:
        raise LookupError(f"no face {face_id}")
    return row[0]


def unassign_face(conn: psycopg.Connection, face_id: int, person_id: int) -> None:
    conn.execute(
        "UPDATE faces SET person_id = NULL, assignment_method = NULL,"
        " assignment_similarity = NULL, assignment_prototype_id = NULL, assignment_head = NULL,"
        " assigned_at = NULL, updated_at = now() WHERE id = %s",
        (face_id,),
    )
    conn.execute(
        "INSERT INTO face_rejections (face_id, person_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (face_id, person_id),
    )


# --- prototypes ---------------------------------------------------------------------------


def person_faces(
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


def active_person_ids(conn: psycopg.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT id FROM persons WHERE status = 'active'")]


def replace_prototypes_of(
    conn: psycopg.Connection,
    pack: str,
    person_ids: list[int],
    rows: list[tuple[int, str, int | None, np.ndarray]],
) -> int:
    """Replace the prototypes of many persons at once: rows are (person, role, face, vector)."""
    conn.execute(
        "DELETE FROM person_prototypes WHERE person_id = ANY(%s) AND pack = %s",
        (person_ids, pack),
    )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO person_prototypes (person_id, pack, role, face_id, embedding)"
            " VALUES (%s, %s, %s, %s, %s)",
            [(person, pack, role, face, emb) for person, role, face, emb in rows],
        )
    return len(rows)


def drop_prototypes_of_inactive(conn: psycopg.Connection) -> int:
    cur = conn.execute(
        "DELETE FROM person_prototypes pp USING persons p WHERE p.id = pp.person_id"
        " AND p.status <> 'active'"
    )
    return cur.rowcount


def prototypes(
    conn: psycopg.Connection, pack: str
) -> tuple[list[int], list[int], np.ndarray, list[str]]:
    """(prototype ids, person ids, embeddings, roles) of active persons in this pack."""
    rows = conn.execute(
        "SELECT pp.id, pp.person_id, pp.role FROM person_prototypes pp"
        " JOIN persons p ON p.id = pp.person_id WHERE pp.pack = %s AND p.status = 'active'"
        " ORDER BY pp.id",
        (pack,),
    ).fetchall()
    if not rows:
        return [], [], np.zeros((0, 512), dtype=np.float32), []
    ids, vectors = graph_store.id_vectors(
        conn,
        "SELECT pp.id, pp.embedding FROM person_prototypes pp JOIN persons p"
        " ON p.id = pp.person_id WHERE pp.pack = %s AND p.status = 'active'",
        (pack,),
    )
    position = {int(i): n for n, i in enumerate(ids.tolist())}
    order = [position[r[0]] for r in rows]
    return [r[0] for r in rows], [r[1] for r in rows], vectors[order], [r[2] for r in rows]


def faces_to_assign(
    conn: psycopg.Connection, months: list[str], pack: str
) -> tuple[list[int], list[int]]:
    """(face ids, image ids), by image, of the months' embedded faces without a human label
    (automatic ones are reconsidered); embeddings are read in bulk by store.graph.embeddings."""
    rows = conn.execute(
        "SELECT f.id, f.image_id FROM faces f JOIN face_embeddings e ON e.face_id = f.id"
        " WHERE f.month = ANY(%s) AND f.pack = %s"
        " AND f.assignment_method IS DISTINCT FROM 'human' ORDER BY f.image_id, f.id",
        (months, pack),
    ).fetchall()
    return [r[0] for r in rows], [r[1] for r in rows]


def human_persons_per_photo(
    conn: psycopg.Connection, image_ids: list[int], pack: str
) -> dict[int, set[int]]:
    rows = conn.execute(
        "SELECT image_id, person_id FROM faces WHERE image_id = ANY(%s) AND pack = %s"
        " AND assignment_method = 'human'",
        (image_ids, pack),
    ).fetchall()
    taken: dict[int, set[int]] = defaultdict(set)
    for image_id, person_id in rows:
        taken[image_id].add(person_id)
    return dict(taken)


def rejections(conn: psycopg.Connection, face_ids: list[int]) -> dict[int, set[int]]:
    rows = conn.execute(
        "SELECT face_id, person_id FROM face_rejections WHERE face_id = ANY(%s)", (face_ids,)
    ).fetchall()
    rejected: dict[int, set[int]] = defaultdict(set)
    for face_id, person_id in rows:
        rejected[face_id].add(person_id)
    return dict(rejected)


def write_assignments(
    conn: psycopg.Connection,
    face_ids: list[int],
    assignments: list[tuple[int, int, float, int | None, str | None]],
) -> int:
    """Replace the automatic assignments of these faces; human labels are never touched.

    Only rows whose assignment changes are written (a re-run over unchanged data writes
    nothing), through a temporary table: one statement, not one per face. A face a known
    person claims leaves its cluster: clusters hold only unclaimed faces.
    """
    # Machine output, recomputed by the next run if a crash loses it: no WAL flush per batch.
    conn.execute("SET LOCAL synchronous_commit = off")
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS _assign (face_id bigint PRIMARY KEY, person_id bigint,"
        " similarity real, prototype_id bigint, head text) ON COMMIT DROP"
    )
    conn.execute("TRUNCATE _assign")
    decided = {row[0]: row for row in assignments}
    with conn.cursor().copy(
        "COPY _assign (face_id, person_id, similarity, prototype_id, head) FROM STDIN"
    ) as copy:
        for face in face_ids:
            copy.write_row(decided.get(face, (face, None, None, None, None)))
    conn.execute("ANALYZE _assign")  # a hash join, not a nested loop over a 'small' table
    conn.execute(
        "UPDATE faces f SET person_id = a.person_id,"
        " assignment_method = CASE WHEN a.person_id IS NULL THEN NULL ELSE 'auto' END,"
        " assignment_similarity = a.similarity, assignment_prototype_id = a.prototype_id,"
        " assignment_head = a.head,"
        " assigned_at = CASE WHEN a.person_id IS NULL THEN NULL ELSE now() END,"
        " cluster_id = CASE WHEN a.person_id IS NULL THEN f.cluster_id ELSE NULL END"
        " FROM _assign a WHERE f.id = a.face_id"
        " AND (f.assignment_method = 'auto' OR f.assignment_method IS NULL)"
        # What a human decided since the snapshot was read wins: a rejection, a person
        # hidden or merged, the person labelled on another face of the photo.
        " AND (a.person_id IS NULL OR (NOT EXISTS (SELECT 1 FROM face_rejections r"
        "   WHERE r.face_id = f.id AND r.person_id = a.person_id)"
        "   AND EXISTS (SELECT 1 FROM persons p WHERE p.id = a.person_id AND p.status = 'active')"
        "   AND NOT EXISTS (SELECT 1 FROM faces g WHERE g.image_id = f.image_id AND g.id <> f.id"
        "     AND g.person_id = a.person_id AND g.assignment_method = 'human')))"
        " AND (f.person_id IS DISTINCT FROM a.person_id"
        "   OR f.assignment_prototype_id IS DISTINCT FROM a.prototype_id"
        "   OR f.assignment_head IS DISTINCT FROM a.head)"
    )
    return len(assignments)


# --- forgetting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forgotten:
    """What forgetting a person removed from the store (media paths: delete after commit)."""

    person_ids: list[int]  # the person and the names merged into it
    faces: int  # the person's faces (human and automatic)
    overlapping_faces: int  # faces of other packs at the same place in the same photos
    tombstones: int
    events_scrubbed: int
    prototypes: int
    rejections: int
    media_paths: list[str]


# Name-bearing keys that older label events kept in detail (0004 scrubs them too).
NAME_KEYS = ("name", "source_name", "from")


def forget_person(conn: psycopg.Connection, person_id: int) -> Forgotten:
    """Delete a person, its merged aliases and their faces (embeddings cascade), and every
    face of any pack that overlaps one of them; keep only box tombstones per image (no pack)
    so no detector size or pack brings the faces back. Names leave the audit log."""
    ids = [person_id] + [
        r[0] for r in conn.execute("SELECT id FROM persons WHERE merged_into = %s", (person_id,))
    ]
    own = conn.execute(
        "SELECT id, image_id, bbox FROM faces WHERE person_id = ANY(%s)", (ids,)
    ).fetchall()
    boxes_of: dict[int, list] = defaultdict(list)
    for _, image_id, bbox in own:
        boxes_of[image_id].append([float(v) for v in bbox])
    # The same face found by another pack (or an unlabelled twin) is the same biometric data;
    # a face a human labelled as somebody else stays theirs.
    others = conn.execute(
        "SELECT id, image_id, bbox FROM faces WHERE image_id = ANY(%s)"
        " AND (person_id IS NULL OR NOT (person_id = ANY(%s)))"
        " AND assignment_method IS DISTINCT FROM 'human'",
        (list(boxes_of), ids),
    ).fetchall()
    overlapping = [
        face_id
        for face_id, image_id, bbox in others
        if matching.overlapping([bbox], boxes_of[image_id], matching.SAME_FACE_IOU)[0]
    ]
    doomed = [r[0] for r in own] + overlapping
    prototypes_count = conn.execute(
        "SELECT count(*) FROM person_prototypes WHERE person_id = ANY(%s)", (ids,)
    ).fetchone()[0]
    rejections_count = conn.execute(
        "SELECT count(*) FROM face_rejections WHERE person_id = ANY(%s)", (ids,)
    ).fetchone()[0]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO forgotten_faces (image_id, bbox) VALUES (%s, %s)",
            [(image_id, bbox) for image_id, boxes in boxes_of.items() for bbox in boxes],
        )
    paths = [
        p
        for row in conn.execute(
            "DELETE FROM faces WHERE id = ANY(%s) RETURNING crop_path, thumb_path", (doomed,)
        )
        for p in row
    ]
    scrubbed = conn.execute(
        "UPDATE label_events SET detail = detail - %s::text[]"
        " WHERE person_id = ANY(%s) AND detail ?| %s::text[]",
        (list(NAME_KEYS), ids, list(NAME_KEYS)),
    ).rowcount
    # Aliases first (they point at the person), then the person; prototypes and rejections
    # cascade.
    conn.execute("DELETE FROM persons WHERE merged_into = %s", (person_id,))
    conn.execute("DELETE FROM persons WHERE id = %s", (person_id,))
    return Forgotten(
        person_ids=ids,
        faces=len(own),
        overlapping_faces=len(overlapping),
        tombstones=sum(len(b) for b in boxes_of.values()),
        events_scrubbed=scrubbed,
        prototypes=prototypes_count,
        rejections=rejections_count,
        media_paths=paths,
    )


# --- review page -------------------------------------------------------------------------------


def cluster_sample_faces(conn: psycopg.Connection, pack: str, per_cluster: int) -> dict[str, list]:
    """The best-quality unlabelled faces of each cluster, for thumbnails on the review page."""
    rows = conn.execute(
        "SELECT cluster_id, (array_agg(id ORDER BY quality DESC NULLS LAST, id))[1:%s]"
        " FROM faces WHERE pack = %s AND cluster_id IS NOT NULL AND person_id IS NULL"
        " GROUP BY cluster_id",
        (per_cluster, pack),
    ).fetchall()
    return dict(rows)


def face_thumb_path(conn: psycopg.Connection, face_id: int) -> str | None:
    """A face's thumbnail path relative to the media root; None for an unknown face."""
    row = conn.execute("SELECT thumb_path FROM faces WHERE id = %s", (face_id,)).fetchone()
    return None if row is None else row[0]
