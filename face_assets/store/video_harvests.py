"""SQL for a clip's harvest per pack: its parameters, tombstones it honours, and the
replacement of its tracks and kept faces in one transaction (human track labels carried over)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import psycopg


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
class HarvestState:
    byte_size: int
    mtime_ns: int
    month: str
    status: str
    harvested_file: list[int] | None  # the (size, mtime_ns) the pack's harvest read, if it said
    harvested: bool


def harvest_states(conn: psycopg.Connection, pack: str) -> dict[str, HarvestState]:
    """Every registered clip by library path, with what the pack's harvest of it read (what the
    new-clips sensor compares with the disk)."""
    rows = conn.execute(
        "SELECT v.rel_path, v.byte_size, v.mtime_ns, v.month, v.status, h.params -> 'file',"
        " h.video_id IS NOT NULL FROM videos v LEFT JOIN video_harvests h"
        " ON h.video_id = v.id AND h.pack = %s",
        (pack,),
    ).fetchall()
    return {r[0]: HarvestState(int(r[1]), int(r[2]), r[3], r[4], r[5], bool(r[6])) for r in rows}
