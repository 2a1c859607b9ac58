"""SQL for video clips (migration 0010): one row per clip by library path, with what probing
it learned; the clip's tracks and faces are in tracks, video_harvests and track_labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg


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
