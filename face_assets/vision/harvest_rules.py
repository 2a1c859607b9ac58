"""The faces-harvest rules of seed 004 (Screenalytics): quality gating and volume control.

Each default is the seed's `faces_embed_sampling.yaml` value, defined once in defaults.py; the
names are the seed's too, so run config, the REST job and the CLI all speak its vocabulary.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from face_assets import defaults
from face_assets.vision.quality import yaw_ratio

# Detector threshold for harvesting: at or below min_confidence, so that with a stricter run
# config (the seed's 0.8) faces between the two are counted as low_confidence instead of
# vanishing without a trace.
DETECT_THRESHOLD = 0.5  # insightface's SCRFD default

REJECT_LOW_CONFIDENCE = "low_confidence"
REJECT_TOO_SMALL = "too_small"
REJECT_BLURRY = "too_blurry"
REJECT_POSE = "pose_too_extreme"  # seed 004's example reason
REJECT_LOW_QUALITY = "low_quality"  # seed 004's example reason
REJECT_TRACK_LIMIT = "over_max_crops_per_track"
REJECT_VIDEO_LIMIT = "over_max_crops_per_video"
REJECTION_REASONS = (
    REJECT_LOW_CONFIDENCE,
    REJECT_TOO_SMALL,
    REJECT_BLURRY,
    REJECT_POSE,
    REJECT_LOW_QUALITY,
    REJECT_TRACK_LIMIT,
    REJECT_VIDEO_LIMIT,
)


class HarvestRules(BaseModel):
    """Seed 004's sampling config, with its names, defaults and bounds, declared once: the
    faces_embed run config (the Dagster Launchpad shows these descriptions), the harvest and
    the checks on a bad value all read this class."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sample_interval: int = Field(
        default=defaults.HARVEST_SAMPLE_INTERVAL, ge=1, description="sample every Nth frame"
    )
    sample_seconds: float | None = Field(
        default=None, gt=0, description="or one frame every so many seconds (overrides the above)"
    )
    min_quality: float = Field(
        default=defaults.HARVEST_MIN_QUALITY,
        ge=0,
        le=1,
        description="combined quality score threshold",
    )
    min_confidence: float = Field(
        default=defaults.HARVEST_MIN_CONFIDENCE,
        ge=0,
        le=1,
        description="detection confidence threshold (seed: 0.8, set for RetinaFace; 0.5 measured"
        " for SCRFD-500M, which scores clean faces 0.72-0.84)",
    )
    min_face_size: int = Field(
        default=defaults.HARVEST_MIN_FACE_SIZE, ge=1, description="minimum face size in pixels"
    )
    max_blur: float = Field(
        default=defaults.HARVEST_MAX_BLUR,
        ge=0,
        description="Laplacian variance threshold (lower = blur)",
    )
    check_pose_quality: bool = Field(
        default=defaults.HARVEST_CHECK_POSE_QUALITY, description="gate on yaw"
    )
    max_yaw_angle: float = Field(
        default=defaults.HARVEST_MAX_YAW_ANGLE,
        ge=0,
        le=90,
        description="max head yaw from landmarks, deg",
    )
    max_crops_per_track: int = Field(
        default=defaults.HARVEST_MAX_CROPS_PER_TRACK, ge=1, description="faces kept per track"
    )
    max_crops_per_video: int = Field(
        default=defaults.HARVEST_MAX_CROPS_PER_VIDEO,
        ge=1,
        description="faces kept per clip (seed: max_crops_per_episode); lowest quality dropped",
    )
    sampling_mode: str = Field(
        default=defaults.HARVEST_SAMPLING_MODE,
        description="uniform | quality-weighted | stratified",
    )
    thumb_size: int = Field(
        default=defaults.HARVEST_THUMB_SIZE, description="saved crop size, px (a multiple of 112)"
    )
    jpeg_quality: int = Field(
        default=defaults.HARVEST_JPEG_QUALITY, ge=1, le=100, description="crop JPEG"
    )

    @model_validator(mode="after")
    def _known_mode_and_size(self) -> HarvestRules:
        if self.sampling_mode not in defaults.HARVEST_SAMPLING_MODES:
            raise ValueError(
                f"sampling_mode {self.sampling_mode!r} is not one of"
                f" {list(defaults.HARVEST_SAMPLING_MODES)}"
            )
        if self.thumb_size % 112:
            raise ValueError("thumb_size must be a multiple of 112 (ArcFace's aligned template)")
        return self


class HarvestConfig(HarvestRules):
    """One harvest's rules plus how it runs the recogniser (the models resource's batch)."""

    embed_batch_size: int = Field(default=defaults.RECOGNITION_BATCH, ge=1)


def yaw_degrees(landmarks: np.ndarray) -> float:
    """Head yaw from the 5 landmarks, in degrees (0 frontal, 90 full profile).

    The nose tip's offset from the eyes' midpoint, along the eye line and in units of half the
    eye distance (vision/quality.yaw_ratio), grows as sin(yaw) under a rigid head model in
    which the nose tip reaches the eye's position at profile: yaw = asin(ratio).
    """
    ratio = max(-1.0, min(1.0, yaw_ratio(landmarks)))
    return math.degrees(math.asin(abs(ratio)))


def rejection_reason(
    config: HarvestConfig,
    det_score: float,
    width: float,
    height: float,
    blur_variance: float,
    yaw: float,
    quality: float,
) -> str | None:
    """The first gate a face fails (seed 004, section 7.2), or None when it passes them all."""
    if det_score < config.min_confidence:
        return REJECT_LOW_CONFIDENCE
    if min(width, height) < config.min_face_size:
        return REJECT_TOO_SMALL
    if blur_variance < config.max_blur:
        return REJECT_BLURRY
    if config.check_pose_quality and yaw > config.max_yaw_angle:
        return REJECT_POSE
    if quality < config.min_quality:
        return REJECT_LOW_QUALITY
    return None


def _pick_uniform(frames: Sequence[int], quality: Sequence[float], k: int) -> list[int]:
    positions = np.linspace(0, len(frames) - 1, k)
    return sorted({int(round(p)) for p in positions})


def _pick_quality(frames: Sequence[int], quality: Sequence[float], k: int) -> list[int]:
    order = sorted(range(len(frames)), key=lambda i: (-quality[i], frames[i]))
    return sorted(order[:k])


def _pick_stratified(frames: Sequence[int], quality: Sequence[float], k: int) -> list[int]:
    """k equal time bins over the track's span, the best face of each; bins left empty by a
    gap in the track are made up from the best of the rest."""
    first, last = frames[0], frames[-1]
    span = max(1, last - first + 1)
    best: dict[int, int] = {}
    for i, frame in enumerate(frames):
        b = min(k - 1, (frame - first) * k // span)
        if b not in best or quality[i] > quality[best[b]]:
            best[b] = i
    chosen = set(best.values())
    if len(chosen) < k:
        rest = sorted((i for i in range(len(frames)) if i not in chosen), key=lambda i: -quality[i])
        chosen.update(rest[: k - len(chosen)])
    return sorted(chosen)


_PICKERS = {
    "uniform": _pick_uniform,
    "quality-weighted": _pick_quality,
    "stratified": _pick_stratified,
}


def track_selection(
    frames: Sequence[int], quality: Sequence[float], limit: int, mode: str
) -> list[int]:
    """Indices (into one track's faces, in frame order) kept under max_crops_per_track."""
    if len(frames) <= limit:
        return list(range(len(frames)))
    picked = _PICKERS[mode](frames, quality, limit)
    # linspace rounding can merge two positions on short tracks: top up by quality.
    if len(picked) < limit:
        rest = sorted(
            (i for i in range(len(frames)) if i not in set(picked)), key=lambda i: -quality[i]
        )
        picked = sorted(set(picked) | set(rest[: limit - len(picked)]))
    return picked


def video_selection(track_ids: Sequence[int], quality: Sequence[float], limit: int) -> set[int]:
    """Indices kept under max_crops_per_video: lowest quality dropped first (seed 004, 8.2),
    except that each track keeps its best face while there is room, so no person in the clip
    disappears because others were seen longer."""
    if len(quality) <= limit:
        return set(range(len(quality)))
    best_of: dict[int, int] = {}
    for i, track in enumerate(track_ids):
        if track not in best_of or quality[i] > quality[best_of[track]]:
            best_of[track] = i
    protected = sorted(best_of.values(), key=lambda i: -quality[i])[:limit]
    kept = set(protected)
    rest = sorted((i for i in range(len(quality)) if i not in kept), key=lambda i: -quality[i])
    kept.update(rest[: limit - len(kept)])
    return kept


def faces_by_track(track_ids: Sequence[int]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for i, track in enumerate(track_ids):
        groups[track].append(i)
    return dict(groups)
