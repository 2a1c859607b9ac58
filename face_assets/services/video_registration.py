"""Clips in the library (issue 20): probe new or changed clips and file each under its month,
and find a registered clip's month. Kept apart from the harvest: registering reads only the
container, never a frame, so every month's run registers every clip cheaply."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from face_assets.library import list_videos
from face_assets.store import Store
from face_assets.store import videos as video_store
from face_assets.vision.video import VideoRejected, captured_at, probe_video


def register_videos(store: Store, library_root: Path, month_of: Callable) -> dict[str, int]:
    """Probe new or changed clips and file each under its month; returns clips per month."""
    with store.transaction() as conn:
        known = video_store.known_videos(conn)
    months: Counter = Counter()
    for entry in list_videos(library_root):
        cached = known.get(entry.rel_path)
        if cached and (cached.byte_size, cached.mtime_ns) == (entry.size, entry.mtime_ns):
            months[cached.month] += 1
            continue
        path = Path(library_root) / entry.rel_path
        info, status, detail = None, "ok", ""
        if entry.problem is not None:
            status, detail = entry.problem, entry.detail
            taken, source = entry.mtime, "mtime"
        else:
            try:
                info = probe_video(path)
                taken, source = captured_at(info, path)
            except VideoRejected as exc:
                status, detail = exc.reason, exc.detail
                taken, source = entry.mtime, "mtime"
        month = month_of(taken)
        with store.transaction() as conn:
            video_store.register_video(
                conn, entry.rel_path, entry.size, entry.mtime_ns, taken, source, month, status,
                detail, info,
            )  # fmt: skip
        months[month] += 1
    return dict(months)


def video_month(store: Store, video_id: int | None, rel_path: str | None) -> tuple[int, str]:
    """A registered clip's id and month, by id or library path (the month its run harvests)."""
    with store.transaction() as conn:
        video = video_store.video_by_ref(conn, video_id, rel_path)
    if video is None:
        raise LookupError(f"no video {video_id if video_id is not None else rel_path!r}")
    return int(video[0]), video[2]
