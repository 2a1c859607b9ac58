"""Safe video probing and streamed frame decoding: every clip becomes upright BGR frames, one at
a time, or a named reason.

OpenCV's FFmpeg backend (bundled in opencv-python-headless) decodes H.264, HEVC, MPEG-4, VP8/9
and AV1 here. It applies a phone's display-rotation flag itself (CAP_PROP_ORIENTATION_AUTO, on by
default) and reports the flag in CAP_PROP_ORIENTATION_META, so frames come out upright and the
reported size is the upright size. What OpenCV does not tell (the container's creation time, why
a file cannot be opened) is read from the ISO-BMFF box structure (mp4, mov, m4v, 3gp) here.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from face_assets import defaults
from face_assets.vision.decode import ImageRejected

# Registered as videos (issue 20): phones, cameras (mts), the web (webm), old phones (3gp).
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".3gp", ".mts"})
# Policy (ours): a family clip is minutes long; a 3-hour file is a film or a stuck recorder.
MAX_VIDEO_SECONDS = 3 * 3600.0
# Policy (ours): 3 hours of 4K phone video at ~50 Mbit/s is ~66 GB; 16 GiB covers 1080p clips of
# any sane length and stops a disk image renamed .mp4 from being walked frame by frame.
MAX_VIDEO_BYTES = 16 * 1024**3
# Policy (ours): 8K. Larger frames cost > 100 MB each to decode and are not family clips.
MAX_VIDEO_PIXELS = 7680 * 4320
# A stream that ends this far before its declared frame count is cut short (a copy that did not
# finish, a phone that died mid-recording). 2%: container counts are exact for mp4; estimates
# for mkv/avi can be a frame or two off.
TRUNCATED_FRACTION = 0.98
SAMPLE_INTERVAL = defaults.HARVEST_SAMPLE_INTERVAL  # seed 004: every Nth frame

REASON_TRUNCATED = "truncated"
REASON_NO_VIDEO_STREAM = "no_video_stream"
REASON_UNSUPPORTED_CODEC = "unsupported_codec"
REASON_ZERO_FRAMES = "zero_frames"
REASON_TOO_LONG = "video_too_long"
REASON_TOO_LARGE = "video_too_large"
REASON_TOO_MANY_PIXELS = "too_many_pixels"
REASON_EMPTY = "empty_file"
REASON_UNREADABLE = "unreadable"
VIDEO_REASONS = (
    REASON_TRUNCATED,
    REASON_NO_VIDEO_STREAM,
    REASON_UNSUPPORTED_CODEC,
    REASON_ZERO_FRAMES,
    REASON_TOO_LONG,
    REASON_TOO_LARGE,
    REASON_TOO_MANY_PIXELS,
    REASON_EMPTY,
    REASON_UNREADABLE,
)

_MP4_EPOCH = datetime(1904, 1, 1)  # ISO-BMFF times count seconds from 1904-01-01 UTC
_BMFF_BRANDS_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid"})
_BMFF_ALL_BOXES = _BMFF_BRANDS_BOXES | {b"meta", b"pnot", b"moof", b"mfra", b"sidx", b"styp"}
_VIDEO_HANDLERS = (b"vide",)


class VideoRejected(ImageRejected):
    """A clip refused: a stable reason code and the human detail, shaped as a photo's refusal
    (one mechanism, not a copy); callers catch it by this name, apart from photos'."""


@dataclass(frozen=True)
class VideoInfo:
    """What registering a clip records: enough to plan sampling and show it to a user."""

    duration_s: float
    fps: float
    frame_count: int
    width: int  # upright (after the rotation flag), as a user sees the clip
    height: int
    codec: str  # FourCC as FFmpeg reports it, e.g. 'h264', 'hevc', 'FMP4'
    rotation: int  # display rotation flag in degrees (0, 90, 180, 270)
    created_at: datetime | None  # container creation time (UTC, naive), None when absent
    byte_size: int


@dataclass(frozen=True)
class _BmffFacts:
    created_at: datetime | None
    has_video_track: bool | None  # None: not an ISO-BMFF file, or no moov box was read
    truncated: bool


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int, bool]]:
    """(type, payload start, payload end, complete) for each box between start and end."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos + header, min(pos + size, end), pos + size <= end
        pos += size


def _bmff_time(seconds: int) -> datetime | None:
    if seconds <= 0:
        return None  # 0 = "not set": many encoders leave it
    moment = _MP4_EPOCH + timedelta(seconds=seconds)
    return moment if 1970 <= moment.year <= 2200 else None


def _bmff_facts(path: Path) -> _BmffFacts | None:
    """Creation time, video track presence and truncation from an mp4/mov box walk.

    Only the top-level box headers and the moov box are read (moov is small: the sample tables of
    an hour of video are a few MB), never the media data.
    """
    file_size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(16)
        if len(head) < 8 or head[4:8] not in _BMFF_BRANDS_BOXES:
            return None
        pos, moov, truncated = 0, None, False
        while pos + 8 <= file_size:
            handle.seek(pos)
            header = handle.read(16)
            size, kind = struct.unpack(">I4s", header[:8])
            hdr = 8
            if size == 1 and len(header) >= 16:
                size, hdr = struct.unpack(">Q", header[8:16])[0], 16
            elif size == 0:
                size = file_size - pos
            if size < hdr or kind not in _BMFF_ALL_BOXES:
                break
            if pos + size > file_size:
                truncated = True
            if kind == b"moov" and not truncated:
                handle.seek(pos + hdr)
                moov = handle.read(min(size - hdr, 64 * 1024 * 1024))
            pos += size
    if moov is None:
        return _BmffFacts(None, None, truncated)
    created, has_video = None, False
    for kind, start, end, _ in _boxes(moov, 0, len(moov)):
        if kind == b"mvhd" and end - start >= 12:
            version = moov[start]
            if version == 1 and end - start >= 20:
                created = _bmff_time(struct.unpack(">Q", moov[start + 4 : start + 12])[0])
            else:
                created = _bmff_time(struct.unpack(">I", moov[start + 4 : start + 8])[0])
        elif kind == b"trak":
            for sub, s2, e2, _ in _boxes(moov, start, end):
                if sub != b"mdia":
                    continue
                for sub3, s3, e3, _ in _boxes(moov, s2, e2):
                    if (
                        sub3 == b"hdlr"
                        and e3 - s3 >= 12
                        and moov[s3 + 8 : s3 + 12] in _VIDEO_HANDLERS
                    ):
                        has_video = True
    return _BmffFacts(created, has_video, truncated)


def _codec(capture: cv2.VideoCapture) -> str:
    code = int(capture.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
    text = code.to_bytes(4, "little").decode("ascii", errors="replace").strip("\x00 ")
    return text or "unknown"


def probe_video(
    path: Path | str,
    max_seconds: float = MAX_VIDEO_SECONDS,
    max_bytes: int = MAX_VIDEO_BYTES,
    max_pixels: int = MAX_VIDEO_PIXELS,
) -> VideoInfo:
    """Register a clip without decoding it whole, or raise VideoRejected with a stable reason.

    One frame is decoded: a container can name a codec this build cannot decode, and only
    decoding tells. A stream cut short is noticed later, while decoding (see iter_frames).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise VideoRejected(REASON_UNREADABLE, exc.strerror or str(exc)) from exc
    if size == 0:
        raise VideoRejected(REASON_EMPTY, "zero-byte file")
    if size > max_bytes:
        raise VideoRejected(REASON_TOO_LARGE, f"{size} bytes exceeds the policy of {max_bytes}")
    try:
        facts = _bmff_facts(path)
    except OSError as exc:
        raise VideoRejected(REASON_UNREADABLE, exc.strerror or str(exc)) from exc
    if facts is not None and facts.truncated and facts.has_video_track is None:
        raise VideoRejected(REASON_TRUNCATED, "the file ends inside a box; its index is missing")
    if facts is not None and facts.has_video_track is False:
        raise VideoRejected(REASON_NO_VIDEO_STREAM, "the container has no video track")
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        if not capture.isOpened():
            if facts is not None and facts.truncated:
                raise VideoRejected(REASON_TRUNCATED, "the file ends before its index")
            raise VideoRejected(REASON_NO_VIDEO_STREAM, "FFmpeg finds no decodable video stream")
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = int(max(0.0, capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0))
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        rotation = int(capture.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
        codec = _codec(capture)
        if width * height > max_pixels:
            raise VideoRejected(
                REASON_TOO_MANY_PIXELS, f"{width}x{height} exceeds the policy of {max_pixels}"
            )
        duration = frames / fps if fps > 0 else 0.0
        if duration > max_seconds:
            raise VideoRejected(
                REASON_TOO_LONG, f"{duration:.0f} s exceeds the policy of {max_seconds:.0f} s"
            )
        ok, frame = capture.read()
        if not ok or frame is None:
            if frames == 0:
                raise VideoRejected(REASON_ZERO_FRAMES, "the video stream holds no frame")
            if facts is not None and facts.truncated:
                raise VideoRejected(REASON_TRUNCATED, "the first frame's data is missing")
            raise VideoRejected(REASON_UNSUPPORTED_CODEC, f"codec {codec!r} cannot be decoded")
        if frames == 0:
            raise VideoRejected(REASON_ZERO_FRAMES, "the container declares no frame")
        height, width = frame.shape[:2]  # upright: OpenCV applied the rotation flag
    finally:
        capture.release()
    return VideoInfo(
        duration_s=float(duration),
        fps=fps,
        frame_count=frames,
        width=int(width),
        height=int(height),
        codec=codec,
        rotation=rotation,
        created_at=facts.created_at if facts is not None else None,
        byte_size=size,
    )


def file_time(path: Path | str) -> datetime:
    """The file's modification time (UTC, naive): a clip's month when its container has none."""
    return datetime.fromtimestamp(os.stat(path).st_mtime, tz=UTC).replace(tzinfo=None)


def captured_at(info: VideoInfo, path: Path | str) -> tuple[datetime, str]:
    """When the clip was recorded and where that came from: 'container' or 'mtime'."""
    if info.created_at is not None:
        return info.created_at, "container"
    return file_time(path), "mtime"


def frame_step(fps: float, sample_interval: int, sample_seconds: float | None) -> int:
    """Frames between samples: the seed's every-Nth-frame, or a time interval at this fps."""
    if sample_seconds is not None and sample_seconds > 0:
        return max(1, round(sample_seconds * (fps if fps > 0 else 24.0)))
    return max(1, int(sample_interval))


@dataclass
class DecodeStats:
    """What decoding saw: frames read (decoded or skipped) and whether the stream ended early."""

    frames_read: int = 0
    frames_sampled: int = 0
    truncated: bool = False


def iter_frames(
    path: Path | str,
    step: int = SAMPLE_INTERVAL,
    stats: DecodeStats | None = None,
    expected_frames: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """(frame_idx, upright BGR frame) for every `step`-th frame, streamed: one frame in memory.

    Frames between samples are only grabbed (demuxed and decoded, never converted to BGR), which
    is most of the saving a sparse sample can get from a codec with inter-frame prediction.
    """
    stats = stats if stats is not None else DecodeStats()
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        raise VideoRejected(REASON_NO_VIDEO_STREAM, "FFmpeg cannot open the file")
    if expected_frames is None:
        expected_frames = int(max(0.0, capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0))
    try:
        index = 0
        while True:
            if index % step == 0:
                ok, frame = capture.read()
                if not ok or frame is None:
                    break
                stats.frames_read += 1
                stats.frames_sampled += 1
                yield index, frame
            else:
                if not capture.grab():
                    break
                stats.frames_read += 1
            index += 1
    finally:
        capture.release()
    if expected_frames and stats.frames_read < TRUNCATED_FRACTION * expected_frames:
        stats.truncated = True
