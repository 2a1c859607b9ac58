"""SQL that reads video tracks: a clip's tracks, a track's faces, track cards for the review
pages, and the tracks seen together in one frame (never the same person)."""

from __future__ import annotations

import psycopg

from face_assets.store.rows import dicts


def tracks_of_video(conn: psycopg.Connection, rel_path: str, pack: str) -> list[tuple]:
    return conn.execute(
        "SELECT t.id, t.track_index, t.first_frame, t.last_frame, t.face_count, p.name"
        " FROM video_tracks t JOIN videos v ON v.id = t.video_id"
        " LEFT JOIN persons p ON p.id = t.person_id WHERE v.rel_path = %s AND t.pack = %s"
        " ORDER BY t.first_frame, t.id",
        (rel_path, pack),
    ).fetchall()


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
                person_id: int | None = None, limit: int | None = None) -> list[dict]:  # fmt: skip
    """The tracks of a cluster (unassigned) or of a person, each as its best frame with the
    clip's path and the time in it, longest first (the first `limit`; None: all)."""
    where = (
        " WHERE t.cluster_id = %s AND t.person_id IS NULL"
        if cluster_id is not None
        else " WHERE t.person_id = %s"
    )
    return dicts(
        conn,
        _TRACK_CARD + where + " ORDER BY t.face_count DESC, t.id LIMIT %s",
        (cluster_id if cluster_id is not None else person_id, limit),
        TRACK_CARD_KEYS,
    )
