"""SQL that executes a forget: the person's faces and the faces that may be the same ones
(read), then everything deleted and box tombstones written (one statement each).

Which other faces are the same face (box overlap) is the forget service's decision
(services.forgetting); the store only reads the candidates and deletes what it is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from face_assets.store.label_events import scrub_names

FaceBox = tuple[int, int, list[float]]  # (face id, image id, box x1 y1 x2 y2)


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


def lock_person_and_aliases(conn: psycopg.Connection, person_id: int) -> list[int]:
    """Lock the person and the persons merged into it (FOR UPDATE, in id order, before any
    face); the person first, then its aliases. Empty when the person is gone (a forget that
    ran at the same moment): forgetting twice deletes, writes and logs nothing more."""
    rows = conn.execute(
        "SELECT id FROM persons WHERE id = %s OR merged_into = %s ORDER BY id FOR UPDATE",
        (person_id, person_id),
    ).fetchall()
    ids = [r[0] for r in rows]
    if person_id not in ids:
        return []
    return [person_id] + [i for i in ids if i != person_id]


def faces_of(conn: psycopg.Connection, person_ids: list[int]) -> list[FaceBox]:
    """Every face of these persons (human and automatic), with its photo and box."""
    rows = conn.execute(
        "SELECT id, image_id, bbox FROM faces WHERE person_id = ANY(%s)", (person_ids,)
    ).fetchall()
    return [(r[0], r[1], [float(v) for v in r[2]]) for r in rows]


def possible_twins(
    conn: psycopg.Connection, image_ids: list[int], person_ids: list[int]
) -> list[FaceBox]:
    """Other faces in these photos that are not a human's label of somebody else: the ones
    that may be the same face found by another pack (or an unlabelled twin)."""
    rows = conn.execute(
        "SELECT id, image_id, bbox FROM faces WHERE image_id = ANY(%s)"
        " AND (person_id IS NULL OR NOT (person_id = ANY(%s)))"
        " AND assignment_method IS DISTINCT FROM 'human'",
        (image_ids, person_ids),
    ).fetchall()
    return [(r[0], r[1], [float(v) for v in r[2]]) for r in rows]


def erase(
    conn: psycopg.Connection,
    person_ids: list[int],
    own_faces: list[FaceBox],
    twin_face_ids: list[int],
) -> Forgotten:
    """Delete the persons (the first is the forgotten one, the rest its merged aliases), their
    faces and the given twins (embeddings cascade); keep only box tombstones of their own
    faces per image (no pack) so no detector size or pack brings the faces back. Names leave
    the audit log."""
    doomed = [f[0] for f in own_faces] + twin_face_ids
    prototypes_count = conn.execute(
        "SELECT count(*) FROM person_prototypes WHERE person_id = ANY(%s)", (person_ids,)
    ).fetchone()[0]
    rejections_count = conn.execute(
        "SELECT count(*) FROM face_rejections WHERE person_id = ANY(%s)", (person_ids,)
    ).fetchone()[0]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO forgotten_faces (image_id, bbox) VALUES (%s, %s)"
            " ON CONFLICT (image_id, bbox) DO NOTHING",
            [(image_id, bbox) for _, image_id, bbox in own_faces],
        )
    # Faces in id order, after the persons: the one lock order of every operation.
    conn.execute("SELECT id FROM faces WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (doomed,))
    paths = [
        p
        for row in conn.execute(
            "DELETE FROM faces WHERE id = ANY(%s) RETURNING crop_path, thumb_path", (doomed,)
        )
        for p in row
    ]
    scrubbed = scrub_names(conn, person_ids)
    # Aliases first (they point at the person), then the person; prototypes and rejections
    # cascade.
    conn.execute("DELETE FROM persons WHERE merged_into = %s", (person_ids[0],))
    conn.execute("DELETE FROM persons WHERE id = %s", (person_ids[0],))
    return Forgotten(
        person_ids=person_ids,
        faces=len(own_faces),
        overlapping_faces=len(twin_face_ids),
        tombstones=len(own_faces),
        events_scrubbed=scrubbed,
        prototypes=prototypes_count,
        rejections=rejections_count,
        media_paths=paths,
    )


def forget_person_tracks(conn: psycopg.Connection, person_id: int) -> list[str]:
    """Delete a person's tracks and faces, leaving tombstones (clip, frame, box) that a
    re-harvest honours; returns the media files to delete."""
    rows = conn.execute(
        "SELECT f.video_id, f.frame_idx, f.bbox, f.crop_path, f.thumb_path FROM video_faces f"
        " JOIN video_tracks t ON t.id = f.track_id WHERE t.person_id IN"
        " (SELECT id FROM persons WHERE id = %s OR merged_into = %s)",
        (person_id, person_id),
    ).fetchall()
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO forgotten_video_faces (video_id, frame_idx, bbox) VALUES (%s, %s, %s)",
            [(r[0], r[1], r[2]) for r in rows],
        )
    conn.execute(
        "DELETE FROM video_tracks WHERE person_id IN"
        " (SELECT id FROM persons WHERE id = %s OR merged_into = %s)",
        (person_id, person_id),
    )
    return [p for r in rows for p in (r[3], r[4])]
