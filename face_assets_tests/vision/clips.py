"""Real video files built from real photos (faces_real) for the video tests.

Frames are piped into the ffmpeg binary of imageio-ffmpeg (a test dependency) and encoded as
H.264, like a phone's; ffmpeg also sets a phone's display-rotation flag without touching the
pixels, which OpenCV's writer cannot do.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

FPS = 24
SIZE = (960, 540)  # width, height
BACKGROUND = 96

# Three faces_real people whose photos show one large frontal face.
# SCRFD-500M scores them 0.86-0.89 (the seed's min_confidence is 0.8).
PERSON_A = ("person_10", "3.jpg")
PERSON_B = ("angelina_jolie", "3.jpg")
PERSON_C = ("person_02", "3.jpg")
CRF = 18  # H.264 quality of the test clips: a phone's, visually lossless


@dataclass(frozen=True)
class ClipTruth:
    """When each person is on screen: (person, first frame, last frame, side)."""

    appearances: tuple[tuple[str, int, int, str], ...]
    frames: int


def _photo(faces_real: Path, person: tuple[str, str]) -> np.ndarray:
    image = cv2.imread(str(faces_real / person[0] / person[1]), cv2.IMREAD_COLOR)
    assert image is not None, person
    return image


def _place(canvas: np.ndarray, photo: np.ndarray, height: int, cx: int, cy: int) -> None:
    scale = height / photo.shape[0]
    resized = cv2.resize(photo, (max(1, round(photo.shape[1] * scale)), height))
    h, w = resized.shape[:2]
    x0, y0 = cx - w // 2, cy - h // 2
    xs, ys = max(0, x0), max(0, y0)
    xe, ye = min(canvas.shape[1], x0 + w), min(canvas.shape[0], y0 + h)
    canvas[ys:ye, xs:xe] = resized[ys - y0 : ye - y0, xs - x0 : xe - x0]


class _Writer:
    """Raw BGR frames piped into ffmpeg's libx264, as a phone would encode them."""

    def __init__(self, path: Path, size: tuple[int, int], extra: tuple[str, ...] = ()) -> None:
        width, height = size
        self.process = subprocess.Popen(
            [
                ffmpeg_exe(),
                "-y",
                "-loglevel",
                "error",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "bgr24",
                "-s",
                f"{width}x{height}",
                "-r",
                str(FPS),
                "-i",
                "-",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                str(CRF),
                "-pix_fmt",
                "yuv420p",
                *extra,
                str(path),
            ],
            stdin=subprocess.PIPE,
        )

    def write(self, frame: np.ndarray) -> None:
        self.process.stdin.write(np.ascontiguousarray(frame).tobytes())

    def release(self) -> None:
        self.process.stdin.close()
        assert self.process.wait() == 0


def _writer(path: Path, size: tuple[int, int], extra: tuple[str, ...] = ()) -> _Writer:
    return _Writer(path, size, extra)


def scene_clip(path: Path, faces_real: Path, seconds_a: float = 4.0, seconds_bc: float = 6.0):
    """Person A pans and zooms alone for `seconds_a`, a cut, then B and C side by side."""
    width, height = SIZE
    writer = _writer(path, SIZE)
    a, b, c = (_photo(faces_real, p) for p in (PERSON_A, PERSON_B, PERSON_C))
    n_a, n_bc = round(seconds_a * FPS), round(seconds_bc * FPS)
    for i in range(n_a):
        t = i / max(1, n_a - 1)
        canvas = np.full((height, width, 3), BACKGROUND, np.uint8)
        _place(
            canvas,
            a,
            round(height * (0.85 + 0.3 * t)),
            round(width * (0.35 + 0.3 * t)),
            height // 2,
        )
        writer.write(canvas)
    for i in range(n_bc):
        t = i / max(1, n_bc - 1)
        canvas = np.full((height, width, 3), BACKGROUND, np.uint8)
        _place(canvas, b, round(height * 0.95), round(width * 0.27 + 10 * t), height // 2)
        _place(canvas, c, round(height * 0.95), round(width * 0.73 - 10 * t), height // 2)
        writer.write(canvas)
    writer.release()
    truth = ClipTruth(
        (
            (PERSON_A[0], 0, n_a - 1, "centre"),
            (PERSON_B[0], n_a, n_a + n_bc - 1, "left"),
            (PERSON_C[0], n_a, n_a + n_bc - 1, "right"),
        ),
        n_a + n_bc,
    )
    return truth


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def portrait_clip(path: Path, faces_real: Path, seconds: float = 2.0) -> None:
    """A phone's portrait clip: stored as landscape pixels with a 90-degree display rotation
    flag (H.264), so only a player that honours the flag shows the face upright."""
    upright_w, upright_h = 360, 640
    raw = path.with_suffix(".raw.mp4")
    writer = _writer(raw, (upright_h, upright_w))  # stored sideways
    photo = _photo(faces_real, PERSON_A)
    for _ in range(round(seconds * FPS)):
        canvas = np.full((upright_h, upright_w, 3), BACKGROUND, np.uint8)
        _place(canvas, photo, 330, upright_w // 2, upright_h // 2)
        writer.write(cv2.rotate(canvas, cv2.ROTATE_90_CLOCKWISE))
    writer.release()
    # ffmpeg's display_rotation is counter-clockwise: it undoes the clockwise storage.
    subprocess.run(
        [
            ffmpeg_exe(),
            "-y",
            "-loglevel",
            "error",
            "-display_rotation",
            "90",
            "-i",
            str(raw),
            "-c",
            "copy",
            str(path),
        ],
        check=True,
    )
    raw.unlink()


def truncated_copy(source: Path, path: Path, fraction: float = 0.5) -> None:
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def segments_clip(
    path: Path,
    faces_real: Path,
    segments: list[tuple[float, list[tuple[str, str]]]],
    size: tuple[int, int] = SIZE,
) -> ClipTruth:
    """Cuts between shots of (seconds, [people side by side]); each person pans and zooms a
    little within the shot. Returns when each person appears (one appearance per shot)."""
    width, height = size
    writer = _writer(path, size)
    photos: dict[tuple[str, str], np.ndarray] = {}
    appearances = []
    start = 0
    for seconds, people in segments:
        n = round(seconds * FPS)
        for p in people:
            photos.setdefault(p, _photo(faces_real, p))
        for i in range(n):
            t = i / max(1, n - 1)
            canvas = np.full((height, width, 3), BACKGROUND, np.uint8)
            for k, p in enumerate(people):
                slot = width / len(people)
                cx = round(slot * (k + 0.5) + (t - 0.5) * 0.15 * slot)
                zoom = 0.8 + 0.15 * t if len(people) == 1 else 0.9
                _place(canvas, photos[p], round(height * zoom), cx, height // 2)
            writer.write(canvas)
        sides = ["centre"] if len(people) == 1 else [f"slot{k}" for k in range(len(people))]
        appearances.extend(
            (p[0], start, start + n - 1, s) for p, s in zip(people, sides, strict=True)
        )
        start += n
    writer.release()
    return ClipTruth(tuple(appearances), start)


def segments_truth(segments: list[tuple[float, list[tuple[str, str]]]]) -> ClipTruth:
    """The ClipTruth segments_clip returns, without building the clip again."""
    appearances, start = [], 0
    for seconds, people in segments:
        n = round(seconds * FPS)
        sides = ["centre"] if len(people) == 1 else [f"slot{k}" for k in range(len(people))]
        appearances.extend(
            (p[0], start, start + n - 1, s) for p, s in zip(people, sides, strict=True)
        )
        start += n
    return ClipTruth(tuple(appearances), start)
