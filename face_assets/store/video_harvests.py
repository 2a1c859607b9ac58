"""SQL for a clip's harvest per pack: its parameters, tombstones it honours, and the
replacement of its tracks and kept faces in one transaction (the humans' decisions on the old
tracks carried to the new ones that continue them)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import psycopg

from face_assets.store.faces import vector_array


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


@dataclass(frozen=True)
class OldTrack:
    """A clip's track as a re-harvest finds it: where its faces were and what was decided."""

    track_id: int
    person_id: int | None
    assignment_method: str | None
    cluster_id: str | None  # its cluster; a human-named track's, the one it was named from
    rejected: list[int]  # persons a human said it is not
    times: list[float]  # its faces' times in the clip, in frame order
    boxes: list[list[float]]  # and their boxes
    embedding: np.ndarray  # its quality-weighted mean


def old_tracks(conn: psycopg.Connection, video_id: int, pack: str) -> list[OldTrack]:
    """The clip's tracks for a pack, locked until the caller's transaction ends: a human's
    label or rejection of one of them waits for the re-harvest that replaces them (and then
    finds no track) instead of landing on a track that is being deleted."""
    conn.execute(
        "SELECT id FROM video_tracks WHERE video_id = %s AND pack = %s ORDER BY id FOR UPDATE",
        (video_id, pack),
    )
    rows = conn.execute(
        "SELECT t.id, t.person_id, t.assignment_method,"
        " coalesce(t.cluster_id, t.labelled_from_cluster),"
        " ARRAY(SELECT r.person_id FROM video_track_rejections r WHERE r.track_id = t.id"
        "  ORDER BY r.person_id),"
        " array_agg(f.time_s ORDER BY f.frame_idx), array_agg(f.bbox ORDER BY f.frame_idx),"
        " t.embedding FROM video_tracks t JOIN video_faces f ON f.track_id = t.id"
        " WHERE t.video_id = %s AND t.pack = %s GROUP BY t.id ORDER BY t.id",
        (video_id, pack),
    ).fetchall()
    return [
        OldTrack(int(r[0]), r[1], r[2], r[3], [int(p) for p in r[4]],
                 [float(t) for t in r[5]], [list(b) for b in r[6]], vector_array(r[7]))
        for r in rows
    ]  # fmt: skip


@dataclass(frozen=True)
class CarriedDecisions:
    """What a new track inherits from the old track it continues (services/video_harvest.py
    decides which one, by overlap)."""

    person_id: int | None  # a human's label
    rejected: list[int]  # persons a human said it is not
    cluster_id: str | None  # its place among the clusters (a named track's: it was named from)


def _track_row(video_id: int, pack: str, track: TrackWrite, keep: CarriedDecisions | None) -> tuple:
    """A new track's video_tracks values: a carried human label names it (as the human's, the
    cluster it was named from kept with the label), else it keeps the old track's cluster."""
    person = keep.person_id if keep is not None else None
    cluster = keep.cluster_id if keep is not None else None
    in_cluster, named_from = (cluster, None) if person is None else (None, cluster)
    return (video_id, pack, track.track_index, track.first_frame, track.last_frame,
            len(track.faces), np.asarray(track.embedding, dtype=np.float32), person,
            "human" if person is not None else None, in_cluster, named_from)  # fmt: skip


def replace_harvest(
    conn: psycopg.Connection,
    video_id: int,
    pack: str,
    params: dict,
    tracks: list[TrackWrite],
    rejected: dict[str, int],
    frames_read: int,
    truncated: bool,
    carried: dict[int, CarriedDecisions] | None = None,
) -> dict[int, int]:
    """Replace one clip's tracks and faces for a pack, in the caller's transaction (which read
    old_tracks, so the tracks replaced are the ones the carried decisions came from).

    `carried` (track_index -> decisions) gives new tracks the human labels, rejections and
    cluster places of the old tracks they continue. Returns track_index -> track id.
    """
    carried = carried or {}
    conn.execute("DELETE FROM video_tracks WHERE video_id = %s AND pack = %s", (video_id, pack))
    ids: dict[int, int] = {}
    if tracks:
        with conn.cursor() as cur:  # one round trip per table, not per track
            cur.executemany(
                "INSERT INTO video_tracks (video_id, pack, track_index, first_frame, last_frame,"
                " face_count, embedding, person_id, assignment_method, cluster_id,"
                " labelled_from_cluster)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                [_track_row(video_id, pack, t, carried.get(t.track_index)) for t in tracks],
                returning=True,
            )
            for track in tracks:  # one result set per row, in order
                ids[track.track_index] = int(cur.fetchone()[0])
                cur.nextset()
            cur.executemany(
                "INSERT INTO video_faces (track_id, video_id, frame_idx, time_s, bbox, landmarks,"
                " det_score, quality, blur_variance, yaw_deg, embedding, crop_path, thumb_path)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(ids[t.track_index], video_id, *face) for t in tracks for face in t.faces],
            )
            rejections = [
                (ids[t.track_index], p)
                for t in tracks
                if t.track_index in carried
                for p in carried[t.track_index].rejected
            ]
            if rejections:
                cur.executemany(
                    "INSERT INTO video_track_rejections (track_id, person_id) VALUES (%s, %s)"
                    " ON CONFLICT DO NOTHING",
                    rejections,
                )
    n_faces = sum(len(t.faces) for t in tracks)
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
