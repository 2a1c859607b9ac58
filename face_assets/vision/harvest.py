"""The faces harvest of one clip (seed 004): sample, detect, align, gate, embed, track, limit.

Streamed: one decoded frame and one embedding batch in memory at a time. Aligned crops of the
faces that pass the gate are spooled to disk (the 224 px JPEG the export keeps and the 112 px
array review thumbnails and re-embedding use), so memory holds only boxes, scores and 512-d
vectors: ~2.5 KB a face, and at most max_crops_per_video faces survive the volume control.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from face_assets.vision.faces import aligned_crop, encode_crop, encode_jpeg, kept_faces
from face_assets.vision.harvest_rules import (
    DETECT_THRESHOLD,
    REJECT_TRACK_LIMIT,
    REJECT_VIDEO_LIMIT,
    HarvestConfig,
    faces_by_track,
    rejection_reason,
    track_selection,
    video_selection,
    yaw_degrees,
)
from face_assets.vision.quality import QualityParts, quality_parts
from face_assets.vision.tracking import (
    MAX_GAP_SECONDS,
    FaceTracker,
    cooccurring_tracks,
    track_embedding,
)
from face_assets.vision.video import DecodeStats, VideoInfo, frame_step, iter_frames

FRAMES_PER_EMBED_FLUSH = 8  # sampled frames whose gated faces are embedded in one batch


@dataclass
class HarvestedFace:
    """One detected face of one sampled frame, kept or with the reason it was not."""

    frame_idx: int
    time_s: float
    bbox: tuple[float, float, float, float]  # upright frame pixels
    landmarks: np.ndarray  # (5, 2) upright frame pixels
    det_score: float
    scores: QualityParts  # the quality score and its parts, as measured on the aligned crop
    yaw_deg: float
    rejection_reason: str | None = None
    track_id: int | None = None
    embedding: np.ndarray | None = None
    crop_file: Path | None = None  # spooled 112 px aligned crop (.npy)
    thumb_file: Path | None = None  # spooled thumb_size aligned crop (.jpg, jpeg_quality)

    @property
    def quality(self) -> float:
        """What the gate, the track's best face and the volume control rank faces by."""
        return self.scores.quality


@dataclass
class TrackSummary:
    track_id: int
    faces: int  # kept faces
    first_frame: int
    last_frame: int
    best_face: int  # index into HarvestResult.faces
    embedding: np.ndarray  # quality-weighted normalised mean of its kept faces


@dataclass
class HarvestResult:
    info: VideoInfo
    config: HarvestConfig
    faces: list[HarvestedFace]  # kept, in frame order
    rejected: list[HarvestedFace]
    tracks: dict[int, TrackSummary]
    cannot_link: set[tuple[int, int]]
    reasons: Counter
    decode: DecodeStats
    timings: dict[str, float]

    @property
    def frame_width(self) -> int:
        return self.info.width

    @property
    def frame_height(self) -> int:
        return self.info.height


def _measure(models, frame: np.ndarray, face, config: HarvestConfig, frame_idx: int, fps: float):
    crop = models.align(frame, face.landmarks)  # the pack's own alignment and crop size
    parts = quality_parts(face.det_score, face.width, face.height, crop, face.landmarks)
    yaw = yaw_degrees(face.landmarks)
    reason = rejection_reason(
        config, face.det_score, face.width, face.height, parts.blur_variance, yaw, parts.quality
    )
    harvested = HarvestedFace(
        frame_idx=frame_idx,
        time_s=frame_idx / fps if fps > 0 else 0.0,
        bbox=face.bbox,
        landmarks=face.landmarks,
        det_score=face.det_score,
        scores=parts,
        yaw_deg=yaw,
        rejection_reason=reason,
    )
    return harvested, crop


def harvest_video(
    path: Path | str,
    info: VideoInfo,
    models,
    config: HarvestConfig,
    spool_dir: Path,
    on_frame: Callable[[int, int], None] | None = None,
) -> HarvestResult:
    """Harvest one clip; `spool_dir` receives the crops of kept faces (the caller owns it).
    `on_frame(frames sampled, faces embedded)` is told after every sampled frame (progress)."""
    spool_dir = Path(spool_dir)
    spool_dir.mkdir(parents=True, exist_ok=True)
    step = frame_step(info.fps, config.sample_interval, config.sample_seconds)
    stats = DecodeStats()
    tracker = FaceTracker(max_gap_frames=max(step, round(MAX_GAP_SECONDS * (info.fps or 24.0))))
    kept: list[HarvestedFace] = []
    rejected: list[HarvestedFace] = []
    timings = Counter()
    pending: list[tuple[HarvestedFace, np.ndarray]] = []  # gated faces awaiting embedding
    pending_frames: list[tuple[int, list[HarvestedFace], list[HarvestedFace]]] = []
    counts = {"sampled": 0, "embedded": 0}

    def flush() -> None:
        if not pending:
            pending_frames.clear()
            return
        t0 = time.perf_counter()
        embs = models.embed([crop for _, crop in pending], batch_size=config.embed_batch_size)
        timings["embed_s"] += time.perf_counter() - t0
        for (face, _), emb in zip(pending, embs, strict=True):
            face.embedding = emb
        counts["embedded"] += len(pending)
        for frame_idx, faces, refused in pending_frames:
            ids: list[int] = []
            if faces:
                boxes = np.array([f.bbox for f in faces])
                ids = tracker.update(frame_idx, boxes, np.stack([f.embedding for f in faces]))
                for face, track_id in zip(faces, ids, strict=True):
                    face.track_id = track_id
            if refused:
                followed = tracker.follow(frame_idx, np.array([f.bbox for f in refused]), set(ids))
                for face, track_id in zip(refused, followed, strict=True):
                    face.track_id = track_id
        pending.clear()
        pending_frames.clear()

    t_decode = time.perf_counter()
    frames = iter_frames(path, step, stats, info.frame_count)
    while True:
        t0 = time.perf_counter()
        item = next(frames, None)
        timings["decode_s"] += time.perf_counter() - t0
        if item is None:
            break
        frame_idx, frame = item
        t0 = time.perf_counter()
        boxes, kps = models.detect(frame, DETECT_THRESHOLD)
        timings["detect_s"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        gated: list[HarvestedFace] = []
        refused: list[HarvestedFace] = []
        for face in kept_faces(boxes, kps, min_confidence=DETECT_THRESHOLD, min_face_size=1):
            harvested, crop = _measure(models, frame, face, config, frame_idx, info.fps)
            if harvested.rejection_reason is not None:
                rejected.append(harvested)
                refused.append(harvested)
                continue
            number = len(kept)
            harvested.crop_file = spool_dir / f"face_{number:07d}.npy"
            harvested.crop_file.write_bytes(encode_crop(crop))
            thumb = aligned_crop(frame, face.landmarks, size=config.thumb_size)
            harvested.thumb_file = spool_dir / f"face_{number:07d}.jpg"
            harvested.thumb_file.write_bytes(encode_jpeg(thumb, config.jpeg_quality))
            kept.append(harvested)
            gated.append(harvested)
            pending.append((harvested, crop))
        pending_frames.append((frame_idx, gated, refused))
        timings["crops_s"] += time.perf_counter() - t0
        if len(pending_frames) >= FRAMES_PER_EMBED_FLUSH:
            flush()
        counts["sampled"] += 1
        if on_frame is not None:
            on_frame(counts["sampled"], counts["embedded"])
    flush()
    if on_frame is not None:
        on_frame(counts["sampled"], counts["embedded"])
    timings["total_s"] = time.perf_counter() - t_decode

    kept_final, dropped = volume_controlled(kept, config)
    for face in dropped:
        for spooled in (face.crop_file, face.thumb_file):
            if spooled is not None:
                spooled.unlink(missing_ok=True)
        face.crop_file = face.thumb_file = None
    rejected.extend(dropped)
    rejected.sort(key=lambda f: (f.frame_idx, f.bbox[0]))
    reasons = Counter(f.rejection_reason for f in rejected)
    tracks = _summaries(kept_final)
    cannot = cooccurring_tracks([f.frame_idx for f in kept_final], [f.track_id for f in kept_final])
    return HarvestResult(
        info, config, kept_final, rejected, tracks, cannot, reasons, stats, dict(timings)
    )


def volume_controlled(
    faces: list[HarvestedFace], config: HarvestConfig
) -> tuple[list[HarvestedFace], list[HarvestedFace]]:
    """(kept, dropped) under seed 004 section 8: max_crops_per_track by the sampling mode, then
    max_crops_per_video; each dropped face carries the limit that dropped it."""
    keep: set[int] = set()
    dropped: dict[int, str] = {}
    for members in faces_by_track([f.track_id for f in faces]).values():
        frames = [faces[i].frame_idx for i in members]
        quality = [faces[i].quality for i in members]
        chosen = track_selection(frames, quality, config.max_crops_per_track, config.sampling_mode)
        chosen_set = {members[j] for j in chosen}
        keep |= chosen_set
        dropped.update({i: REJECT_TRACK_LIMIT for i in members if i not in chosen_set})
    order = sorted(keep)
    survivors = video_selection(
        [faces[i].track_id for i in order],
        [faces[i].quality for i in order],
        config.max_crops_per_video,
    )
    final = {order[j] for j in survivors}
    dropped.update({i: REJECT_VIDEO_LIMIT for i in order if i not in final})
    out_dropped = []
    for i, reason in sorted(dropped.items()):
        faces[i].rejection_reason = reason
        out_dropped.append(faces[i])
    return [faces[i] for i in sorted(final)], out_dropped


def _summaries(faces: list[HarvestedFace]) -> dict[int, TrackSummary]:
    tracks: dict[int, TrackSummary] = {}
    for track_id, members in faces_by_track([f.track_id for f in faces]).items():
        embs = np.stack([faces[i].embedding for i in members])
        quality = np.array([faces[i].quality for i in members])
        best = max(members, key=lambda i: faces[i].quality)
        tracks[track_id] = TrackSummary(
            track_id,
            len(members),
            faces[members[0]].frame_idx,
            faces[members[-1]].frame_idx,
            best,
            track_embedding(embs, quality),
        )
    return tracks


def thumb_at_size(path: Path, size: int) -> np.ndarray:
    """A spooled thumbnail read back (export and review)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(path)
    return image if image.shape[0] == size else cv2.resize(image, (size, size))
