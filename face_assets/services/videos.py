"""Videos in the library (issue 20): register clips by month, harvest their faces into tracks,
name tracks from labelled persons, and export faces.jsonl / faces.npy / crops.

One path for the Dagster assets, the CLI and the benchmarks. A clip harvested with the same run
config and unchanged on disk is not read again; a changed one replaces its own tracks only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from face_assets import media
from face_assets.identity.track_units import resolve_track_assignments
from face_assets.library import list_videos
from face_assets.services import exports
from face_assets.services.progress import PROGRESS_LOG_SECONDS
from face_assets.services.uploads import PendingFile, PendingScan
from face_assets.store import Store
from face_assets.store import clusters as cluster_store
from face_assets.store import face_exports as export_store
from face_assets.store import prototypes as prototype_store
from face_assets.store import run_progress as progress_store
from face_assets.store import track_labels as track_label_store
from face_assets.store import tracks as track_store
from face_assets.store import video_harvests as harvest_store
from face_assets.store import videos as video_store
from face_assets.vision import harvest_carry
from face_assets.vision.harvest import harvest_video
from face_assets.vision.harvest_rules import HarvestConfig
from face_assets.vision.matching import iou_matrix
from face_assets.vision.packs import embedding_dim, person_threshold
from face_assets.vision.video import VideoRejected, captured_at, probe_video

ASSIGN_STAGE = "track_assignment"  # identity_watermarks row of assign_tracks
ASSIGN_SCOPE = "centroids"
FORGOTTEN_IOU = 0.3  # a harvested face overlapping a nearby tombstone this much is forgotten
# Tombstones hold across sampling changes: a face within this many seconds of a forgotten face
# (and overlapping it) matches it, and the whole track it belongs to stays forgotten.
FORGOTTEN_WINDOW_S = 1.0
PROGRESS_WRITE_SECONDS = 2.0  # a run's progress row is rewritten at most this often while
# frames are sampled (a sampled frame takes ~0.1 s on a CPU), and at every clip's end


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


def pending_videos(
    store: Store,
    library_root: Path,
    month_of: Callable,
    pack: str,
    known: dict[str, PendingFile],
    max_reads: int,
) -> tuple[list[PendingFile], int]:
    """Clips the pack has not harvested as they are on disk: new, changed since their harvest,
    or registered and never harvested (another month's run registers every clip). A clip that
    cannot be used (its registered reason) is not pending until it changes.

    Months come from the store for registered clips, else from an earlier call (`known`, same
    size and mtime), else from probing the container; at most `max_reads` clips are probed, so
    one sensor tick is bounded. Returns the pending clips and how many were left for later."""
    with store.transaction() as conn:
        states = harvest_store.harvest_states(conn, pack)
    scan = PendingScan(known, max_reads, month_of)
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
        scan.add(entry, lambda entry=entry: _probed_month(library_root, entry, month_of))
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


@dataclass
class HarvestProgress:
    """Where a run's harvest stands: what GET /jobs/{id} answers while and after it runs."""

    state: str = "running"  # "running", then "done" (a failed run keeps "running": see status)
    months: int = 0  # months the run harvests
    months_done: int = 0
    month: str | None = None  # the month being harvested
    clips: int = 0  # clips of the months begun so far
    clips_done: int = 0  # looked at: harvested, unchanged or unusable
    clips_harvested: int = 0
    clip: str | None = None  # the clip being harvested (library path)
    frames_sampled: int = 0
    faces_embedded: int = 0
    faces_kept: int = 0  # after volume control, of the clips done
    tracks: int = 0  # of the clips done


class HarvestTracker:
    """Tells the store (run_progress, by run id) where a harvest run stands: at most every
    PROGRESS_WRITE_SECONDS while frames are sampled, and at every clip's and month's end; and
    `log` (the run log) a line every PROGRESS_LOG_SECONDS, as the photo stages do."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        job_name: str,
        months: int,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store, self.run_id, self.job_name, self.clock = store, run_id, job_name, clock
        self.log = log
        self.progress = HarvestProgress(months=months)
        self._clip_base = (0, 0)  # frames sampled and faces embedded before this clip
        self._written = None
        self._logged = clock()
        self._write()

    def line(self) -> str:
        """A run-log line: 'harvest 2023-11: clip 2/5 (party.mp4), 120 frames sampled, ...'."""
        p = self.progress
        where = f" {p.month}" if p.month else ""
        clip = f" ({p.clip})" if p.clip else ""
        return (
            f"harvest{where}: clip {min(p.clips_done + 1, p.clips)}/{p.clips}{clip},"
            f" {p.frames_sampled} frames sampled, {p.faces_embedded} faces embedded,"
            f" {p.tracks} tracks"
        )

    def _write(self, force: bool = True) -> None:
        now = self.clock()
        if self.log is not None and now - self._logged >= PROGRESS_LOG_SECONDS:
            self._logged = now
            self.log(self.line())
        if not force and self._written is not None and now - self._written < PROGRESS_WRITE_SECONDS:
            return
        self._written = now
        with self.store.transaction() as conn:
            progress_store.write_progress(
                conn, self.run_id, self.job_name, dataclasses.asdict(self.progress)
            )

    def month(self, month: str, clips: int) -> None:
        self.progress.month = month
        self.progress.clips += clips
        self._write()

    def clip(self, rel_path: str) -> None:
        self.progress.clip = rel_path
        self._clip_base = (self.progress.frames_sampled, self.progress.faces_embedded)
        self._write(force=False)

    def frame(self, sampled: int, embedded: int) -> None:
        """harvest_video's on_frame: the clip's frames sampled and faces embedded so far."""
        self.progress.frames_sampled = self._clip_base[0] + sampled
        self.progress.faces_embedded = self._clip_base[1] + embedded
        self._write(force=False)

    def clip_done(self, harvested: bool = False, faces: int = 0, tracks: int = 0) -> None:
        self.progress.clips_done += 1
        self.progress.clips_harvested += harvested
        self.progress.faces_kept += faces
        self.progress.tracks += tracks
        self.progress.clip = None
        self._write(force=harvested)

    def month_done(self) -> None:
        self.progress.months_done += 1
        self._write()

    def done(self) -> None:
        self.progress.state, self.progress.month = "done", None
        self._write()


def run_progress(store: Store, run_id: str) -> dict | None:
    """A run's progress as it last wrote it (with `updated_at`), or None when it wrote none."""
    with store.transaction() as conn:
        found = progress_store.read_progress(conn, run_id)
    if found is None:
        return None
    progress, when = found
    return {**progress, "updated_at": when.isoformat()}


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
    config_params = {**dataclasses.asdict(config), "pack": models.pack}
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
                face.quality, face.blur_variance, face.yaw_deg,
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
            t.cluster_id if t.person_id is None else None,
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


def _assignment_inputs(person_ids, centroids, threshold, fixed, rejected) -> str:
    """Fingerprint of what every track's match depends on besides the track itself: the
    centroids, the bar, the humans' track labels (cannot-links refuse their persons) and
    rejections. While it holds, only tracks new since the last run need matching."""
    digest = hashlib.sha1(repr((person_ids, float(threshold))).encode())
    digest.update(np.ascontiguousarray(centroids, dtype=np.float32).tobytes())
    digest.update(repr((sorted(fixed.items()), sorted(rejected))).encode())
    return digest.hexdigest()[:16]


def assign_tracks(store: Store, pack: str, threshold: float | None = None) -> dict:
    """Name tracks from the persons' centroids: each track is one item (its quality-weighted
    mean), so one labelled photo names the whole track; a human's label or rejection is never
    replaced, and two tracks seen in the same frame never get the same person (the stronger
    match wins). Only tracks new since the last run are matched, all of them when the
    centroids, the bar or a human's track decision changed (a watermark, as clustering's);
    only tracks whose person changed are written."""
    threshold = person_threshold(pack) if threshold is None else threshold
    with store.transaction() as conn:
        person_ids, centroids = prototype_store.prototype_centroids(conn, pack, embedding_dim(pack))
        fixed = track_label_store.human_track_labels(conn, pack)
        rejected = track_label_store.track_rejections(conn, pack)
        inputs = _assignment_inputs(person_ids, centroids, threshold, fixed, rejected)
        last = cluster_store.watermark(conn, ASSIGN_STAGE, pack, ASSIGN_SCOPE)
        seen, _, since = (last or "").partition(":")
        after = int(since) if seen == inputs and since else 0
        tracks = track_label_store.unassigned_tracks(conn, pack, after)
        cannot = track_store.cooccurring_pairs(conn, pack, after)
    summary = {"tracks": len(tracks), "assigned": 0, "changed": 0, "threshold": threshold}
    if not person_ids:
        return summary
    rows: list[tuple[int, int]] = []
    if tracks:
        matrix = np.stack([emb for _, emb, _ in tracks]) @ centroids.T
        candidates = [
            (track_id, person_ids[j], float(matrix[i, j]))
            for i, (track_id, _, _) in enumerate(tracks)
            for j in np.flatnonzero(matrix[i] >= threshold)
            if (track_id, person_ids[j]) not in rejected  # a human's "not this person" holds
        ]
        rows = resolve_track_assignments(candidates, cannot, fixed)
    best, current = dict(rows), {t: p for t, _, p in tracks}
    changed = [(t, p) for t, p in rows if current[t] != p]
    released = [t for t, p in current.items() if p is not None and t not in best]
    newest = max([after, *(t for t, _, _ in tracks)])
    with store.transaction() as conn:
        track_label_store.release_auto(conn, released)
        track_label_store.assign_tracks(conn, changed)
        cluster_store.set_watermark(conn, ASSIGN_STAGE, pack, ASSIGN_SCOPE, f"{inputs}:{newest}")
    summary.update(assigned=len(rows), changed=len(changed) + len(released))
    return summary


def export_faces(
    store: Store,
    out_dir: Path,
    pack: str,
    video: str | None = None,
    month: str | None = None,
    save_crops: bool = False,
    with_names: bool = False,
    include_photos: bool = True,
) -> exports.ExportSummary:
    """faces.jsonl + faces.npy (+ crops) of one clip (--video), a month or the whole library.
    Photos export too (track_id null, frame_idx 0) unless one clip is asked for."""
    media_root = store.media_root

    def faces():
        with store.transaction() as conn:
            for row in export_store.export_rows(conn, pack, rel_path=video, month=month):
                yield exports.ExportFace(
                    face_id=row.face_id, track_id=row.track_id, frame_idx=row.frame_idx,
                    bbox=tuple(row.bbox), landmarks=np.asarray(row.landmarks).reshape(5, 2),
                    width=row.width, height=row.height, quality=row.quality,
                    embedding=row.embedding, source_path=row.rel_path, time_s=row.time_s,
                    name=row.person_name,
                    crop_jpeg=lambda p=row.thumb_path: media.read_media(media_root, p),
                )  # fmt: skip
            if video is not None or not include_photos:
                return
            for r in export_store.photo_export_rows(conn, pack, month):
                yield exports.ExportFace(
                    face_id=int(r[0]), track_id=None, frame_idx=0, bbox=tuple(r[1]),
                    landmarks=np.asarray(r[2]).reshape(5, 2), width=int(r[7] or 1),
                    height=int(r[8] or 1), quality=float(r[3]),
                    embedding=r[4], source_path=r[6], name=r[9],
                    crop_jpeg=None,
                )  # fmt: skip

    out_dir = Path(out_dir)
    if out_dir.exists() and (out_dir / exports.FACES_JSONL).exists():
        shutil.rmtree(out_dir / exports.CROPS_DIR, ignore_errors=True)
    return exports.write_export(
        out_dir, faces(), save_crops=save_crops, with_names=with_names, dim=embedding_dim(pack)
    )


def label_track(store: Store, track_id: int, name: str) -> dict:
    """A human names a whole track: every face of it is that person (the track is one unit)."""
    from face_assets.identity.names import normalise_name
    from face_assets.store import persons as person_store

    with store.transaction() as conn:
        person, created = person_store.person_by_name(conn, normalise_name(name))
        if person.status != "active":
            raise ValueError(f"{person.name!r} is {person.status}; it cannot take new faces")
        if not track_label_store.label_track(conn, track_id, person.id):
            raise LookupError(f"no track {track_id}")
        faces = len(track_store.track_faces(conn, track_id))
    return {"track_id": track_id, "person_id": person.id, "created": created, "faces": faces}


def reject_track(store: Store, track_id: int, person_ref: str | int) -> dict:
    """A human's "not this person" on a track: the whole track leaves that person (if it was
    theirs) and is never proposed to them again (assignment and cluster naming skip it)."""
    from face_assets.services.labels import person_ref as normalised_ref
    from face_assets.store import persons as person_store

    with store.transaction() as conn:
        person = person_store.find_person(conn, normalised_ref(person_ref))
        unassigned = track_label_store.reject_track(conn, track_id, person.id)
        if unassigned is None:
            raise LookupError(f"no track {track_id}")
    return {"track_id": track_id, "person_id": person.id, "unassigned": unassigned}


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
    with store.transaction() as conn:
        rows = track_store.track_faces(conn, track_id)
    if not rows:
        raise LookupError(f"no track {track_id}")
    return [
        {"face_id": r[0], "track_id": track_id, "frame_idx": r[1], "time_s": round(float(r[2]), 3),
         "bbox": [float(v) for v in r[3]], "quality": float(r[4])}
        for r in rows
    ]  # fmt: skip


def video_month(store: Store, video_id: int | None, rel_path: str | None) -> tuple[int, str]:
    with store.transaction() as conn:
        video = video_store.video_by_ref(conn, video_id, rel_path)
    if video is None:
        raise LookupError(f"no video {video_id if video_id is not None else rel_path!r}")
    return int(video[0]), video[2]
