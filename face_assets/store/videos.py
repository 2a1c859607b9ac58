"""SQL for videos: clips, harvests, tracks and their kept faces (migration 0010)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg
from psycopg import sql

from face_assets.store.faces import vector_array
from face_assets.store.vectors import HNSW_EF_SEARCH, cast, stored_width


@dataclass(frozen=True)
class VideoRow:
    video_id: int
    rel_path: str
    byte_size: int
    mtime_ns: int
    month: str
    status: str
    width: int | None
    height: int | None
    fps: float | None
    frame_count: int | None


_VIDEO_COLUMNS = "id, rel_path, byte_size, mtime_ns, month, status, width, height, fps, frame_count"


def register_video(
    conn: psycopg.Connection,
    rel_path: str,
    byte_size: int,
    mtime_ns: int,
    taken_at: datetime,
    time_source: str,
    month: str,
    status: str,
    status_detail: str = "",
    info=None,
) -> int:
    """Insert or refresh a clip's row by library path; returns its id."""
    facts = (
        (info.duration_s, info.fps, info.frame_count, info.width, info.height, info.codec,
         info.rotation)
        if info is not None
        else (None,) * 7
    )  # fmt: skip
    row = conn.execute(
        "INSERT INTO videos (rel_path, byte_size, mtime_ns, duration_s, fps, frame_count, width,"
        " height, codec, rotation, taken_at, time_source, month, status, status_detail)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (rel_path) DO UPDATE SET byte_size = EXCLUDED.byte_size,"
        " mtime_ns = EXCLUDED.mtime_ns, duration_s = EXCLUDED.duration_s, fps = EXCLUDED.fps,"
        " frame_count = EXCLUDED.frame_count, width = EXCLUDED.width, height = EXCLUDED.height,"
        " codec = EXCLUDED.codec, rotation = EXCLUDED.rotation, taken_at = EXCLUDED.taken_at,"
        " time_source = EXCLUDED.time_source, month = EXCLUDED.month, status = EXCLUDED.status,"
        " status_detail = EXCLUDED.status_detail, updated_at = now() RETURNING id",
        (rel_path, byte_size, mtime_ns, *facts, taken_at, time_source, month, status,
         status_detail),
    ).fetchone()  # fmt: skip
    return int(row[0])


def known_videos(conn: psycopg.Connection) -> dict[str, VideoRow]:
    rows = conn.execute(f"SELECT {_VIDEO_COLUMNS} FROM videos").fetchall()  # noqa: S608
    return {r[1]: VideoRow(*r) for r in rows}


def videos_of_month(conn: psycopg.Connection, month: str) -> list[VideoRow]:
    rows = conn.execute(
        f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE month = %s ORDER BY rel_path",  # noqa: S608
        (month,),
    ).fetchall()
    return [VideoRow(*r) for r in rows]


def harvest_params(conn: psycopg.Connection, video_id: int, pack: str) -> dict | None:
    row = conn.execute(
        "SELECT params FROM video_harvests WHERE video_id = %s AND pack = %s", (video_id, pack)
    ).fetchone()
    return None if row is None else row[0]


def forgotten_boxes(conn: psycopg.Connection, video_id: int) -> list[tuple[int, list[float]]]:
    return [
        (int(r[0]), list(r[1]))
        for r in conn.execute(
            "SELECT frame_idx, bbox FROM forgotten_video_faces WHERE video_id = %s", (video_id,)
        ).fetchall()
    ]


def old_media(conn: psycopg.Connection, video_id: int, pack: str) -> list[str]:
    rows = conn.execute(
        "SELECT f.crop_path, f.thumb_path FROM video_faces f JOIN video_tracks t"
        " ON t.id = f.track_id WHERE f.video_id = %s AND t.pack = %s",
        (video_id, pack),
    ).fetchall()
    return [p for r in rows for p in r]


@dataclass(frozen=True)
class TrackWrite:
    track_index: int
    first_frame: int
    last_frame: int
    embedding: np.ndarray
    faces: list[tuple]  # (frame_idx, time_s, bbox, landmarks, det, quality, blur, yaw, emb,
    #                      crop_path, thumb_path)


def replace_harvest(
    conn: psycopg.Connection,
    video_id: int,
    pack: str,
    params: dict,
    tracks: list[TrackWrite],
    rejected: dict[str, int],
    frames_read: int,
    truncated: bool,
) -> dict[int, int]:
    """Replace one clip's tracks and faces for a pack, in the caller's transaction.

    A human's label on a track is carried to the new track that holds its best face's frame
    (a changed config re-tracks the clip; a human decision is never dropped by a machine).
    Returns track_index -> track id.
    """
    labelled = conn.execute(
        "SELECT t.person_id, t.assignment_method, f.frame_idx, f.bbox FROM video_tracks t"
        " JOIN video_faces f ON f.track_id = t.id WHERE t.video_id = %s AND t.pack = %s"
        " AND t.assignment_method = 'human'",
        (video_id, pack),
    ).fetchall()
    conn.execute("DELETE FROM video_tracks WHERE video_id = %s AND pack = %s", (video_id, pack))
    ids: dict[int, int] = {}
    n_faces = 0
    with conn.cursor() as cur:
        for track in tracks:
            cur.execute(
                "INSERT INTO video_tracks (video_id, pack, track_index, first_frame, last_frame,"
                " face_count, embedding) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (video_id, pack, track.track_index, track.first_frame, track.last_frame,
                 len(track.faces), np.asarray(track.embedding, dtype=np.float32)),
            )  # fmt: skip
            track_id = int(cur.fetchone()[0])
            ids[track.track_index] = track_id
            cur.executemany(
                "INSERT INTO video_faces (track_id, video_id, frame_idx, time_s, bbox, landmarks,"
                " det_score, quality, blur_variance, yaw_deg, embedding, crop_path, thumb_path)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(track_id, video_id, *face) for face in track.faces],
            )
            n_faces += len(track.faces)
    for person_id, method, frame_idx, bbox in labelled:
        conn.execute(
            "UPDATE video_tracks t SET person_id = %s, assignment_method = %s FROM video_faces f"
            " WHERE f.track_id = t.id AND t.video_id = %s AND t.pack = %s AND f.frame_idx = %s"
            " AND t.person_id IS NULL",
            (person_id, method, video_id, pack, frame_idx),
        )
        del bbox
    conn.execute(
        "INSERT INTO video_harvests (video_id, pack, params, faces, tracks, rejected,"
        " frames_read, truncated) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (video_id, pack) DO UPDATE SET params = EXCLUDED.params,"
        " faces = EXCLUDED.faces, tracks = EXCLUDED.tracks, rejected = EXCLUDED.rejected,"
        " frames_read = EXCLUDED.frames_read, truncated = EXCLUDED.truncated,"
        " harvested_at = now()",
        (video_id, pack, json.dumps(params), n_faces, len(tracks), json.dumps(rejected),
         frames_read, truncated),
    )  # fmt: skip
    return ids


@dataclass(frozen=True)
class ExportedVideoFace:
    face_id: int
    track_id: int
    frame_idx: int
    time_s: float
    bbox: list[float]
    landmarks: list[float]
    quality: float
    embedding: np.ndarray
    thumb_path: str
    rel_path: str
    width: int
    height: int
    person_name: str | None


def export_rows(
    conn: psycopg.Connection,
    pack: str,
    rel_path: str | None = None,
    month: str | None = None,
    batch: int = 2000,
):
    """Kept video faces to export, in (clip, track, frame) order, read in batches by id."""
    args = (pack, rel_path, rel_path, month, month)
    last = (0, 0, 0)
    while True:
        rows = conn.execute(
            "SELECT f.id, t.id, f.frame_idx, f.time_s, f.bbox, f.landmarks, f.quality,"
            " f.embedding, f.thumb_path, v.rel_path, v.width, v.height, p.name, v.id"
            " FROM video_faces f JOIN video_tracks t ON t.id = f.track_id"
            " JOIN videos v ON v.id = f.video_id LEFT JOIN persons p ON p.id = t.person_id"
            " WHERE t.pack = %s AND (%s::text IS NULL OR v.rel_path = %s)"
            " AND (%s::text IS NULL OR v.month = %s) AND (v.id, t.id, f.frame_idx) > (%s, %s, %s)"
            " ORDER BY v.id, t.id, f.frame_idx LIMIT %s",
            (*args, *last, batch),
        ).fetchall()
        if not rows:
            return
        for r in rows:
            yield ExportedVideoFace(
                int(r[0]), int(r[1]), int(r[2]), float(r[3]), list(r[4]), list(r[5]),
                float(r[6]), vector_array(r[7]), r[8], r[9], int(r[10]), int(r[11]), r[12],
            )  # fmt: skip
        last = (int(rows[-1][13]), int(rows[-1][1]), int(rows[-1][2]))


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


def label_track(conn: psycopg.Connection, track_id: int, person_id: int) -> int:
    """A human names a whole track (every face of it follows: faces hang off the track); an
    earlier "not this person" of theirs for it gives way to this later decision."""
    done = conn.execute(
        "UPDATE video_tracks SET person_id = %s, assignment_method = 'human', cluster_id = NULL"
        " WHERE id = %s",
        (person_id, track_id),
    ).rowcount
    conn.execute(
        "DELETE FROM video_track_rejections WHERE track_id = %s AND person_id = %s",
        (track_id, person_id),
    )
    return done


def reject_track(conn: psycopg.Connection, track_id: int, person_id: int) -> bool | None:
    """A human's "not this person" on a whole track: remembered (never proposed to them again)
    and the track leaves them if it was theirs. None when there is no such track, else whether
    it was unassigned."""
    if conn.execute("SELECT 1 FROM video_tracks WHERE id = %s", (track_id,)).fetchone() is None:
        return None
    conn.execute(
        "INSERT INTO video_track_rejections (track_id, person_id) VALUES (%s, %s)"
        " ON CONFLICT DO NOTHING",
        (track_id, person_id),
    )
    return bool(
        conn.execute(
            "UPDATE video_tracks SET person_id = NULL, assignment_method = NULL"
            " WHERE id = %s AND person_id = %s",
            (track_id, person_id),
        ).rowcount
    )


def track_rejections(conn: psycopg.Connection, pack: str) -> set[tuple[int, int]]:
    """(track id, person id) pairs a human rejected."""
    rows = conn.execute(
        "SELECT r.track_id, r.person_id FROM video_track_rejections r"
        " JOIN video_tracks t ON t.id = r.track_id WHERE t.pack = %s",
        (pack,),
    ).fetchall()
    return {(int(a), int(b)) for a, b in rows}


def assign_tracks(conn: psycopg.Connection, rows: list[tuple[int, int]]) -> int:
    """Machine assignments (track id, person id); never over a human's label, never to a
    person a human rejected for the track (a decision made while the match computed)."""
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE video_tracks t SET person_id = %s, assignment_method = 'auto'"
            " WHERE t.id = %s AND t.assignment_method IS DISTINCT FROM 'human'"
            " AND NOT EXISTS (SELECT 1 FROM video_track_rejections r"
            " WHERE r.track_id = t.id AND r.person_id = %s)",
            [(p, t, p) for t, p in rows],
        )
    return len(rows)


def unassigned_tracks(
    conn: psycopg.Connection, pack: str, after: int = 0
) -> list[tuple[int, np.ndarray, int | None]]:
    """(id, embedding, machine-assigned person or None) of the tracks no human labelled, with
    ids above `after` (0: all): what track assignment matches."""
    rows = conn.execute(
        "SELECT id, embedding, person_id FROM video_tracks WHERE pack = %s AND id > %s"
        " AND assignment_method IS DISTINCT FROM 'human' ORDER BY id",
        (pack, after),
    ).fetchall()
    return [(int(r[0]), vector_array(r[1]), r[2]) for r in rows]


def tracks_of_video(conn: psycopg.Connection, rel_path: str, pack: str) -> list[tuple]:
    return conn.execute(
        "SELECT t.id, t.track_index, t.first_frame, t.last_frame, t.face_count, p.name"
        " FROM video_tracks t JOIN videos v ON v.id = t.video_id"
        " LEFT JOIN persons p ON p.id = t.person_id WHERE v.rel_path = %s AND t.pack = %s"
        " ORDER BY t.first_frame, t.id",
        (rel_path, pack),
    ).fetchall()


def prototype_centroids(
    conn: psycopg.Connection, pack: str, dim: int
) -> tuple[list[int], np.ndarray]:
    """(person ids, centroid embeddings) of active persons in this pack (dim: the pack's width,
    the empty array's when there are none)."""
    rows = conn.execute(
        "SELECT pp.person_id, pp.embedding FROM person_prototypes pp JOIN persons p"
        " ON p.id = pp.person_id WHERE pp.pack = %s AND p.status = 'active'"
        " AND pp.role = 'centroid' ORDER BY pp.person_id",
        (pack,),
    ).fetchall()
    if not rows:
        return [], np.zeros((0, dim), dtype=np.float32)
    return [int(r[0]) for r in rows], np.stack([vector_array(r[1]) for r in rows])


def photo_export_rows(conn: psycopg.Connection, pack: str, month: str | None, batch: int = 2000):
    """Embedded photo faces to export (forgotten faces are deleted, so never among them)."""
    last = 0
    while True:
        rows = conn.execute(
            "SELECT f.id, f.bbox, f.landmarks, COALESCE(f.quality, 0), e.embedding,"
            " f.thumb_path, i.rel_path, i.width, i.height, p.name FROM faces f"
            " JOIN face_embeddings e ON e.face_id = f.id JOIN images i ON i.id = f.image_id"
            " LEFT JOIN persons p ON p.id = f.person_id WHERE f.pack = %s AND f.id > %s"
            " AND (%s::text IS NULL OR f.month = %s) ORDER BY f.id LIMIT %s",
            (pack, last, month, month, batch),
        ).fetchall()
        if not rows:
            return
        yield from rows
        last = int(rows[-1][0])


def video_by_ref(conn: psycopg.Connection, video_id: int | None, rel_path: str | None):
    """(id, rel_path, month, status) of a clip by id, else by library path, or None. The id
    wins when both are given (an OR of the two would return whichever row came first)."""
    if video_id is not None:
        return conn.execute(
            "SELECT id, rel_path, month, status FROM videos WHERE id = %s", (video_id,)
        ).fetchone()
    return conn.execute(
        "SELECT id, rel_path, month, status FROM videos WHERE rel_path = %s", (rel_path,)
    ).fetchone()


def track_faces(conn: psycopg.Connection, track_id: int) -> list[tuple]:
    """(face id, frame_idx, time_s, bbox, quality) of one track, in frame order."""
    return conn.execute(
        "SELECT id, frame_idx, time_s, bbox, quality FROM video_faces WHERE track_id = %s"
        " ORDER BY frame_idx",
        (track_id,),
    ).fetchall()


def video_tracks(conn: psycopg.Connection, video_id: int) -> list[tuple]:
    """Each track of a clip with its best face: (track id, first, last, faces, person id, name,
    method, best face id, best frame, best time_s)."""
    return conn.execute(
        "SELECT t.id, t.first_frame, t.last_frame, t.face_count, t.person_id, p.name,"
        " t.assignment_method, b.id, b.frame_idx, b.time_s FROM video_tracks t"
        " LEFT JOIN persons p ON p.id = t.person_id"
        " JOIN LATERAL (SELECT id, frame_idx, time_s FROM video_faces f WHERE f.track_id = t.id"
        " ORDER BY quality DESC, frame_idx LIMIT 1) b ON true"
        " WHERE t.video_id = %s ORDER BY t.first_frame, t.id",
        (video_id,),
    ).fetchall()


def cooccurring_pairs(conn: psycopg.Connection, pack: str, after: int = 0) -> list[tuple[int, int]]:
    """Pairs of tracks (smaller id first) with kept faces in the same frame of one clip, both
    ids above `after` (a clip's tracks are written together, so a pair is all old or all new)."""
    rows = conn.execute(
        "SELECT DISTINCT a.track_id, b.track_id FROM video_faces a JOIN video_faces b"
        " ON a.video_id = b.video_id AND a.frame_idx = b.frame_idx AND a.track_id < b.track_id"
        " JOIN video_tracks t ON t.id = a.track_id WHERE t.pack = %s AND a.track_id > %s",
        (pack, after),
    ).fetchall()
    return [(int(a), int(b)) for a, b in rows]


def human_track_labels(conn: psycopg.Connection, pack: str) -> dict[int, int]:
    rows = conn.execute(
        "SELECT id, person_id FROM video_tracks WHERE pack = %s AND assignment_method = 'human'",
        (pack,),
    ).fetchall()
    return {int(r[0]): int(r[1]) for r in rows}


def release_auto(conn: psycopg.Connection, track_ids: list[int]) -> None:
    """Machine labels of these tracks cleared before they are assigned again."""
    conn.execute(
        "UPDATE video_tracks SET person_id = NULL, assignment_method = NULL"
        " WHERE id = ANY(%s) AND assignment_method = 'auto'",
        (track_ids,),
    )


def clusterable_tracks(
    conn: psycopg.Connection, pack: str, dim: int
) -> tuple[list[int], np.ndarray]:
    """(ids, embeddings) of the tracks no person holds: what clustering sees of videos (dim: the
    pack's width, the empty array's when there are none)."""
    rows = conn.execute(
        "SELECT id, embedding FROM video_tracks WHERE pack = %s AND person_id IS NULL ORDER BY id",
        (pack,),
    ).fetchall()
    if not rows:
        return [], np.zeros((0, dim), dtype=np.float32)
    return [int(r[0]) for r in rows], np.stack([vector_array(r[1]) for r in rows])


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
    rows = conn.execute(query, (int(k), list(track_ids), min_quality)).fetchall()
    return [r[0] for r in rows]


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


def cluster_tracks(conn: psycopg.Connection, cluster_id: str) -> list[int]:
    """Ids of the unassigned tracks in this cluster."""
    rows = conn.execute(
        "SELECT id FROM video_tracks WHERE cluster_id = %s AND person_id IS NULL ORDER BY id",
        (cluster_id,),
    ).fetchall()
    return [int(r[0]) for r in rows]


def label_tracks(conn: psycopg.Connection, track_ids: list[int], person_id: int) -> list[int]:
    """A human names these tracks (they leave their cluster), except any a human said is not
    this person; returns the tracks named."""
    rows = conn.execute(
        "UPDATE video_tracks t SET person_id = %s, assignment_method = 'human', cluster_id = NULL"
        " WHERE t.id = ANY(%s) AND NOT EXISTS (SELECT 1 FROM video_track_rejections r"
        " WHERE r.track_id = t.id AND r.person_id = %s) RETURNING t.id",
        (person_id, track_ids, person_id),
    ).fetchall()
    return sorted(int(r[0]) for r in rows)


_TRACK_CARD = (
    "SELECT t.id, t.video_id, v.rel_path, t.face_count, t.person_id, b.id, b.frame_idx, b.time_s"
    " FROM video_tracks t JOIN videos v ON v.id = t.video_id"
    " JOIN LATERAL (SELECT id, frame_idx, time_s FROM video_faces f WHERE f.track_id = t.id"
    " ORDER BY quality DESC, frame_idx LIMIT 1) b ON true"
)
TRACK_CARD_KEYS = (
    "track_id", "video_id", "video", "face_count", "person_id", "video_face_id", "frame_idx",
    "time_s",
)  # fmt: skip


def track_cards(conn: psycopg.Connection, cluster_id: str | None = None,
                person_id: int | None = None) -> list[dict]:  # fmt: skip
    """The tracks of a cluster (unassigned) or of a person, each as its best frame with the
    clip's path and the time in it, longest first."""
    where = (
        " WHERE t.cluster_id = %s AND t.person_id IS NULL"
        if cluster_id is not None
        else " WHERE t.person_id = %s"
    )
    rows = conn.execute(
        _TRACK_CARD + where + " ORDER BY t.face_count DESC, t.id",
        (cluster_id if cluster_id is not None else person_id,),
    ).fetchall()
    return [dict(zip(TRACK_CARD_KEYS, r, strict=True)) for r in rows]


def cluster_track_counts(conn: psycopg.Connection, pack: str) -> dict[str, int]:
    """Unassigned tracks per cluster (each one member of it)."""
    rows = conn.execute(
        "SELECT cluster_id, count(*) FROM video_tracks WHERE pack = %s"
        " AND cluster_id IS NOT NULL AND person_id IS NULL GROUP BY cluster_id",
        (pack,),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}
