"""Face tracks across sampled frames: box overlap and ArcFace similarity, matched one to one.

Why not a packaged tracker: the maintained ones on PyPI (Roboflow's `trackers`, whose ByteTrack,
SORT and OC-SORT are motion-only; `supervision`'s ByteTrack) follow boxes with a Kalman filter
and IoU from one frame to the next. The harvest samples one frame in 24 (a second at 24 fps), so
a face that turns or a camera that pans moves farther than its own width between samples and
IoU alone loses it or, after a cut, hands the track to whoever stands in the same place. We
have an embedding of every gated face anyway; matching on it is what keeps one person one
track. `trackers` also requires the GUI `opencv-python` wheel, which would overwrite the
headless build this project ships (both install the `cv2` module).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from face_assets.vision.matching import iou_matrix

# Same person, one sample apart: buffalo_s gives cosine >= 0.36 across different photos of one
# person and <= 0.22 between people on faces_real (vision/packs.py); consecutive frames of one
# clip are far closer (0.6-0.9 measured by benchmarks/video.py). 0.35 links across a pose
# change and stays above every different-people pair measured.
LINK_COSINE = 0.35
# A lower cosine is accepted when the boxes overlap this much: the same place a second later.
OVERLAP_IOU = 0.3
OVERLAP_COSINE = 0.2
# How long a track may go unseen (detector miss, a face gated out) before it ends: 3 samples at
# the seed's interval and 24 fps; long enough for a turned head, short enough to end at a
# cut-away. In seconds, so a denser sampling does not shorten it.
MAX_GAP_SECONDS = 3.0
# A rejected (unembedded) face continues a track on overlap alone only when it is this close:
# one sample later at the seed's interval a face that moved less than a third of its width.
FOLLOW_IOU = 0.5
IOU_WEIGHT = 0.5  # how much overlap adds to the cosine when ranking candidate matches


@dataclass
class _Track:
    track_id: int
    box: np.ndarray
    embedding: np.ndarray  # running mean of its faces' embeddings, unit norm
    weight: float
    last_frame: int
    frames: list[int] = field(default_factory=list)


@dataclass
class FaceTracker:
    """Online tracker: feed each sampled frame's gated faces in order, get their track ids."""

    link_cosine: float = LINK_COSINE
    overlap_iou: float = OVERLAP_IOU
    overlap_cosine: float = OVERLAP_COSINE
    max_gap_frames: int = round(MAX_GAP_SECONDS * 24)  # harvest sets it from the clip's fps
    _active: list[_Track] = field(default_factory=list)
    _next_id: int = 1

    def update(self, frame_idx: int, boxes: np.ndarray, embeddings: np.ndarray) -> list[int]:
        """Track ids (1, 2, ...) for this frame's faces; at most one face per track per frame."""
        self._active = [t for t in self._active if frame_idx - t.last_frame <= self.max_gap_frames]
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        ids = [0] * len(boxes)
        if not len(boxes):
            return ids
        embeddings = np.asarray(embeddings, dtype=np.float32).reshape(len(boxes), -1)
        if len(boxes) and self._active:
            track_boxes = np.stack([t.box for t in self._active])
            track_embs = np.stack([t.embedding for t in self._active])
            cos = track_embs @ embeddings.T
            iou = iou_matrix(track_boxes, boxes)
            allowed = (cos >= self.link_cosine) | (
                (iou >= self.overlap_iou) & (cos >= self.overlap_cosine)
            )
            score = np.where(allowed, cos + IOU_WEIGHT * iou, -1e3)
            rows, cols = linear_sum_assignment(-score)
            for r, c in zip(rows, cols, strict=True):
                if allowed[r, c]:
                    ids[c] = self._extend(self._active[r], frame_idx, boxes[c], embeddings[c])
        for c in range(len(boxes)):
            if ids[c] == 0:
                track = _Track(self._next_id, boxes[c], embeddings[c].copy(), 1.0, frame_idx)
                track.frames.append(frame_idx)
                self._active.append(track)
                self._next_id += 1
                ids[c] = track.track_id
        return ids

    def follow(self, frame_idx: int, boxes: np.ndarray, taken: set[int]) -> list[int | None]:
        """Track ids for faces the gate rejected (not embedded): matched by box overlap alone,
        one to one, to tracks not seen in this frame (`taken`). A matched track stays alive
        through frames where its face was only blurred or scored low, so a gap in the gated
        faces does not split one appearance into two tracks; its embedding is unchanged."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        ids: list[int | None] = [None] * len(boxes)
        live = [
            t for t in self._active
            if t.track_id not in taken and frame_idx - t.last_frame <= self.max_gap_frames
        ]  # fmt: skip
        if not len(boxes) or not live:
            return ids
        iou = iou_matrix(np.stack([t.box for t in live]), boxes)
        rows, cols = linear_sum_assignment(-iou)
        for r, c in zip(rows, cols, strict=True):
            if iou[r, c] >= FOLLOW_IOU:
                live[r].box = boxes[c]
                live[r].last_frame = frame_idx
                ids[c] = live[r].track_id
        return ids

    def _extend(self, track: _Track, frame_idx: int, box: np.ndarray, emb: np.ndarray) -> int:
        mean = track.embedding * track.weight + emb
        track.weight += 1.0
        track.embedding = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
        track.box = box
        track.last_frame = frame_idx
        track.frames.append(frame_idx)
        return track.track_id


def track_embedding(embeddings: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """A track as one identity item: the quality-weighted mean of its faces, unit norm."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    weights = np.clip(np.asarray(quality, dtype=np.float64), 1e-3, None)
    mean = (embeddings * weights[:, None]).sum(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def cooccurring_tracks(frame_of: list[int], track_of: list[int]) -> set[tuple[int, int]]:
    """Pairs of tracks seen in the same frame: two people (cannot-link), smaller id first."""
    by_frame: dict[int, set[int]] = {}
    for frame, track in zip(frame_of, track_of, strict=True):
        by_frame.setdefault(frame, set()).add(track)
    pairs: set[tuple[int, int]] = set()
    for tracks in by_frame.values():
        ordered = sorted(tracks)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                pairs.add((a, b))
    return pairs
