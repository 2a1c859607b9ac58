"""Read-only views of a clip's tracks for the HTTP API and the track review page: the tracks
of a clip, each by its best face, and the faces of one track."""

from __future__ import annotations

from face_assets.store import Store
from face_assets.store import tracks as track_store
from face_assets.store import videos as video_store


def clip_tracks(store: Store, video_id: int | None = None, rel_path: str | None = None) -> dict:
    """A clip and its tracks, each shown by its best face with its frame and time."""
    with store.transaction() as conn:
        video = video_store.video_by_ref(conn, video_id, rel_path)
        if video is None:
            raise LookupError(f"no video {video_id if video_id is not None else rel_path!r}")
        rows = track_store.video_tracks(conn, video[0])
    return {
        "video_id": video[0],
        "path": video[1],
        "month": video[2],
        "status": video[3],
        "tracks": [
            {"track_id": r[0], "first_frame": r[1], "last_frame": r[2], "faces": r[3],
             "person_id": r[4], "person_name": r[5], "assignment": r[6], "best_face_id": r[7],
             "frame_idx": r[8], "time_s": round(float(r[9]), 3)}
            for r in rows
        ],
    }  # fmt: skip


def track_detail(store: Store, track_id: int) -> list[dict]:
    """The faces of one track in frame order, with their boxes and quality."""
    with store.transaction() as conn:
        rows = track_store.track_faces(conn, track_id)
    if not rows:
        raise LookupError(f"no track {track_id}")
    return [
        {"face_id": r[0], "track_id": track_id, "frame_idx": r[1], "time_s": round(float(r[2]), 3),
         "bbox": [float(v) for v in r[3]], "quality": float(r[4])}
        for r in rows
    ]  # fmt: skip
