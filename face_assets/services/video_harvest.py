"""The faces harvest of clips (issue 20, seed 004): which clips a pack has not harvested as
they are on disk, and a month's harvest into tracks (gating, volume control, forgotten faces
dropped, the humans' decisions on old tracks carried to the new tracks that continue them).

A clip harvested with the same run config and unchanged on disk is not read again; a changed
one replaces its own tracks only. One path for the Dagster assets, the sensor and the benchmarks.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from face_assets import media
from face_assets.library import list_videos
from face_assets.services.harvest_progress import HarvestTracker
from face_assets.services.uploads import PendingFile, PendingScan
from face_assets.store import Store
from face_assets.store import video_harvests as harvest_store
from face_assets.store import videos as video_store
from face_assets.vision import harvest_carry
from face_assets.vision.harvest import harvest_video
from face_assets.vision.harvest_rules import HarvestConfig
from face_assets.vision.harvest_rules import (
    HarvestRules as HarvestRules,  # the run config extends it
)
from face_assets.vision.matching import iou_matrix
from face_assets.vision.packs import person_threshold
from face_assets.vision.video import VideoRejected, captured_at, probe_video

FORGOTTEN_IOU = 0.3  # a harvested face overlapping a nearby tombstone this much is forgotten
# Tombstones hold across sampling changes: a face within this many seconds of a forgotten face
# (and overlapping it) matches it, and the whole track it belongs to stays forgotten.
FORGOTTEN_WINDOW_S = 1.0


@dataclass
class VideoMonthStats:
    videos: int = 0
    harvested: int = 0
    unchanged: int = 0
    rejected_videos: Counter = dataclasses.field(default_factory=Counter)
    faces: int = 0
    tracks: int = 0
    rejection_reasons: Counter = dataclasses.field(default_factory=Counter)
    frames_read: int = 0
    forgotten_dropped: int = 0
    # A re-harvest (another run config, a changed file) carries the humans' decisions on the
    # old tracks to the new tracks that continue them; what none continues is counted here.
    labels_carried: int = 0
    rejections_carried: int = 0
    clusters_carried: int = 0
    labels_unmatched: Counter = dataclasses.field(default_factory=Counter)  # person -> tracks
    rejections_unmatched: int = 0

    def add(self, other: VideoMonthStats) -> None:
        """Add another month's figures to these (every field: counts sum, counters merge)."""
        for f in dataclasses.fields(self):
            mine = getattr(self, f.name)
            if isinstance(mine, Counter):
                mine.update(getattr(other, f.name))
            else:
                setattr(self, f.name, mine + getattr(other, f.name))


def pending_videos(
    store: Store, library_root: Path, pack: str, scan: PendingScan
) -> tuple[list[PendingFile], int]:
    """Clips the pack has not harvested as they are on disk: new, changed since their harvest,
    or registered and never harvested (another month's run registers every clip). A clip that
    cannot be used (its registered reason) is not pending until it changes.

    Months come from the store for registered clips, else from an earlier call (the scan's
    `known`, same size and mtime), else from probing the container; at most the scan's
    `max_reads` clips are probed, so one sensor tick is bounded. Returns the pending clips and
    how many were left for later."""
    with store.transaction() as conn:
        states = harvest_store.harvest_states(conn, pack)
    for entry in list_videos(library_root):
        state = states.get(entry.rel_path)
        if state is not None and (state.byte_size, state.mtime_ns) == (entry.size, entry.mtime_ns):
            if state.status != "ok" or (
                state.harvested and _same_file(state.harvested_file, entry)
            ):
                continue
            scan.pending.append(
                PendingFile(entry.rel_path, entry.size, entry.mtime_ns, state.month)
            )
            continue
        scan.add(entry, lambda entry=entry: _probed_month(library_root, entry, scan.month_of))
    return scan.pending, scan.deferred


def _probed_month(library_root: Path, entry, month_of: Callable) -> str:
    """A clip's month from its container's creation time (the file time when it has none)."""
    path = Path(library_root) / entry.rel_path
    try:
        taken, _ = captured_at(probe_video(path), path)
    except VideoRejected:
        taken = entry.mtime  # registration records the reason; the file time files it
    return month_of(taken)


def _same_harvest(done: dict, params: dict) -> bool:
    """Whether a clip's recorded harvest is this one: the same run config of the same file (a
    harvest older than the file record counts as of the registered file)."""
    return {k: v for k, v in done.items() if k != "file"} == {
        k: v for k, v in params.items() if k != "file"
    } and done.get("file", params["file"]) == params["file"]


def _file_key(byte_size: int, mtime_ns: int) -> list[int]:
    """How a harvest remembers the file it read (its params' "file")."""
    return [int(byte_size), int(mtime_ns)]


def _same_file(harvested: list | None, entry) -> bool:
    """Whether a harvest read this file as it is now. A harvest that recorded no file (older
    than the record) counts as of the registered file, which matched the disk."""
    return harvested is None or list(harvested) == _file_key(entry.size, entry.mtime_ns)


def _media_name(pack: str, video_id: int, track: int, frame: int, kind: str) -> str:
    suffix = {"crop": "npy", "thumb": "jpg"}[kind]
    return f"videos/{pack}/{video_id}/track_{track:05d}/{kind}_{frame:06d}.{suffix}"


def harvest_month(
    store: Store,
    library_root: Path,
    month: str,
    models,
    config: HarvestConfig,
    tracker: HarvestTracker | None = None,
) -> VideoMonthStats:
    """Harvest every usable clip of a month (gating, tracks, volume control) into the store;
    `tracker` records where the run stands as it goes."""
    stats = VideoMonthStats()
    config_params = {**config.model_dump(), "pack": models.pack}
    with store.transaction() as conn:
        videos = video_store.videos_of_month(conn, month)
    if tracker is not None:
        tracker.month(month, len(videos))
    for video in videos:
        stats.videos += 1
        before = (stats.harvested, stats.faces, stats.tracks)
        _harvest_clip(store, library_root, video, models, config, config_params, stats, tracker)
        if tracker is not None:
            tracker.clip_done(
                stats.harvested > before[0], stats.faces - before[1], stats.tracks - before[2]
            )
    if tracker is not None:
        tracker.month_done()
    return stats


def _harvest_clip(store, library_root, video, models, config, config_params, stats, tracker):
    if video.status != "ok":
        stats.rejected_videos[video.status] += 1
        return
    with store.transaction() as conn:
        done = harvest_store.harvest_params(conn, video.video_id, models.pack)
        tombstones = harvest_store.forgotten_boxes(conn, video.video_id)
    params = {**config_params, "file": _file_key(video.byte_size, video.mtime_ns)}
    if done is not None and _same_harvest(done, params):
        stats.unchanged += 1
        return
    path = Path(library_root) / video.rel_path
    try:
        info = probe_video(path)
    except VideoRejected as exc:
        stats.rejected_videos[exc.reason] += 1
        return
    if tracker is not None:
        tracker.clip(video.rel_path)
    on_frame = tracker.frame if tracker is not None else None
    with tempfile.TemporaryDirectory(prefix="harvest-") as spool:
        result = harvest_video(path, info, models, config, Path(spool), on_frame=on_frame)
        _write_harvest(store, video.video_id, models.pack, params, result, tombstones, stats)
    stats.harvested += 1
    stats.frames_read += result.decode.frames_read
    stats.rejection_reasons.update(result.reasons)


def _write_harvest(store, video_id, pack, params, result, tombstones, stats) -> None:
    window = FORGOTTEN_WINDOW_S * (result.info.fps or 24.0)
    forgotten_tracks = {
        face.track_id
        for face in result.faces
        if any(
            abs(frame - face.frame_idx) <= window
            and iou_matrix([box], [face.bbox])[0, 0] >= FORGOTTEN_IOU
            for frame, box in tombstones
        )
    }
    by_track: dict[int, list] = {}
    for face in result.faces:
        if face.track_id in forgotten_tracks:
            stats.forgotten_dropped += 1
            continue
        by_track.setdefault(face.track_id, []).append(face)
    tracks, written = [], []
    for track_index, faces in sorted(by_track.items()):
        rows = []
        for face in faces:
            crop = _media_name(pack, video_id, track_index, face.frame_idx, "crop")
            thumb = _media_name(pack, video_id, track_index, face.frame_idx, "thumb")
            media.write_media(store.media_root, crop, face.crop_file.read_bytes())
            media.write_media(store.media_root, thumb, face.thumb_file.read_bytes())
            written += [crop, thumb]
            rows.append((
                face.frame_idx, face.time_s, [float(v) for v in face.bbox],
                [float(v) for v in np.asarray(face.landmarks).reshape(-1)], face.det_score,
                face.quality, face.scores.blur_variance, face.yaw_deg,
                np.asarray(face.embedding, dtype=np.float32), crop, thumb,
            ))  # fmt: skip
        summary = result.tracks[track_index]
        embedding = summary.embedding
        if len(faces) != summary.faces:  # some faces were forgotten: the mean of the rest
            from face_assets.vision.tracking import track_embedding

            embedding = track_embedding(
                np.stack([f.embedding for f in faces]), np.array([f.quality for f in faces])
            )
        tracks.append(
            harvest_store.TrackWrite(
                track_index, faces[0].frame_idx, faces[-1].frame_idx, embedding, rows
            )
        )
    new_faces = [
        harvest_carry.TrackFaces(
            t.track_index, [f[1] for f in t.faces], [f[2] for f in t.faces], t.embedding
        )
        for t in tracks
    ]
    with store.transaction() as conn:
        # Read, matched and replaced in one transaction, the old tracks locked: a human's
        # decision made meanwhile waits and then finds its track gone, never lost in between.
        previous = harvest_store.old_tracks(conn, video_id, pack)
        carried, report = _carried_decisions(new_faces, previous, person_threshold(pack))
        old = set(harvest_store.old_media(conn, video_id, pack))
        harvest_store.replace_harvest(
            conn, video_id, pack, params, tracks, dict(result.reasons),
            result.decode.frames_read, result.decode.truncated, carried,
        )  # fmt: skip
    media.delete_media(store.media_root, sorted(old - set(written)))
    stats.labels_carried += report.labels_carried
    stats.rejections_carried += report.rejections_carried
    stats.clusters_carried += report.clusters_carried
    stats.labels_unmatched.update(report.labels_unmatched)
    stats.rejections_unmatched += report.rejections_unmatched
    stats.faces += sum(len(t.faces) for t in tracks)
    stats.tracks += len(tracks)


def _carried_decisions(
    new_faces: list[harvest_carry.TrackFaces],
    previous: list[harvest_store.OldTrack],
    min_similarity: float,
) -> tuple[dict[int, harvest_store.CarriedDecisions], harvest_carry.CarryReport]:
    """What each new track of a re-harvested clip inherits from the old track it continues
    (the same face in the same place at the same time, and the same person by the pack's
    bar), and what found no continuation."""
    decisions = {
        t.track_id: harvest_carry.Decisions(
            t.person_id if t.assignment_method == "human" else None,
            frozenset(t.rejected),
            t.cluster_id if t.person_id is None or t.assignment_method == "human" else None,
        )
        for t in previous
    }
    old_faces = [
        harvest_carry.TrackFaces(t.track_id, t.times, t.boxes, t.embedding) for t in previous
    ]
    parents = harvest_carry.parents(new_faces, old_faces, min_similarity) if previous else {}
    inherited, report = harvest_carry.carried(parents, decisions)
    return {
        index: harvest_store.CarriedDecisions(d.person_id, sorted(d.rejected), d.cluster_id)
        for index, d in inherited.items()
    }, report
