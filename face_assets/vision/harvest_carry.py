"""Which new track of a re-harvested clip is which old one (issue 20): the same face in the
same place at the same time, so a human's decisions on the old tracks follow the new ones.

A re-harvest with another run config (sample_interval, min_quality, max_crops_per_track ...)
re-tracks the clip: other frames, other faces kept, other track numbers. Frames rarely line up
(every 24th frame against every 10th meet once in 120), and volume control leaves gaps inside
a track, so a new face is compared with where the old track's face was at that moment: the
box interpolated between the old track's two faces around that time. Two people are never in
one place at one moment, so a box overlap there is the same face (as repack carries labels by
box IoU, services/repack.py). Near a track's ends a cut can put someone else in the same
place, so the two tracks' mean embeddings must also agree (the pack's same-person bar).

Pure: no Dagster, no SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

CARRY_IOU = 0.3  # a new box overlapping the old track's box at that time this much is that face
# (repack's REPACK_IOU: boxes of one face from two detectors overlap 0.55-0.67; one detector at
# nearby frames overlaps more)
CARRY_WINDOW_S = 0.5  # an old track is "there" from this long before its first face to this
# long after its last: a coarser sampling sees a face start later and end earlier (the seed's
# every 24th frame is 1 s at 24 fps, so half of it either side)
CARRY_MIN_SHARE = 0.5  # of a new track's faces that fall inside an old track's time span, at
# least this share must overlap it (and at least one): chance overlaps of one frame carry nothing


@dataclass(frozen=True)
class TrackFaces:
    """One track of a clip: its faces' times (seconds) and boxes (x1, y1, x2, y2), time order."""

    key: int  # the old track's id, or the new track's index
    times: Sequence[float]
    boxes: Sequence[Sequence[float]]
    embedding: np.ndarray | None = None  # the track's unit mean embedding


def boxes_at(track: TrackFaces, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(boxes, there) of the track at these times: each box interpolated between the track's
    two faces around that time (its first or last box just outside its span), and whether the
    track is there at all (within CARRY_WINDOW_S of its span)."""
    own = np.asarray(track.times, dtype=np.float64)
    boxes = np.asarray(track.boxes, dtype=np.float64).reshape(-1, 4)
    times = np.asarray(times, dtype=np.float64)
    if len(own) == 0:
        return np.zeros((len(times), 4)), np.zeros(len(times), dtype=bool)
    there = (times >= own[0] - CARRY_WINDOW_S) & (times <= own[-1] + CARRY_WINDOW_S)
    at = np.stack([np.interp(times, own, boxes[:, k]) for k in range(4)], axis=1)
    return at, there


def _pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of a[i] with b[i] (x1, y1, x2, y2); degenerate boxes overlap nothing."""
    w = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = w * h

    def area(x):
        return np.clip(x[:, 2] - x[:, 0], 0, None) * np.clip(x[:, 3] - x[:, 1], 0, None)

    union = area(a) + area(b) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def overlap(new: TrackFaces, old: TrackFaces) -> tuple[int, int]:
    """(faces of the new track inside the old track's time span, of those the ones whose box
    overlaps the old track's box at that time by CARRY_IOU or more)."""
    at, there = boxes_at(old, np.asarray(new.times, dtype=np.float64))
    if not there.any():
        return 0, 0
    mine = np.asarray(new.boxes, dtype=np.float64).reshape(-1, 4)
    iou = _pairwise_iou(at[there], mine[there])
    return int(there.sum()), int((iou >= CARRY_IOU).sum())


def _same_person(new: TrackFaces, old: TrackFaces, min_similarity: float | None) -> bool:
    """Whether the two tracks' mean embeddings agree (true when there is nothing to compare)."""
    if min_similarity is None or new.embedding is None or old.embedding is None:
        return True
    return float(np.dot(new.embedding, old.embedding)) >= min_similarity


def _same_person(new: TrackFaces, old: TrackFaces, min_similarity: float | None) -> bool:
    """Whether the two tracks' mean embeddings agree (true when there is nothing to compare)."""
    if min_similarity is None or new.embedding is None or old.embedding is None:
        return True
    return float(np.dot(new.embedding, old.embedding)) >= min_similarity


def parents(
    new_tracks: list[TrackFaces], old_tracks: list[TrackFaces], min_similarity: float | None = None
) -> dict[int, int]:
    """new track key -> the old track key it continues: the old track its faces overlap most,
    where that is at least one face and CARRY_MIN_SHARE of its faces inside the old track's
    span, and (with `min_similarity` and both embeddings) whose mean embedding agrees with
    its own that much. An old track may continue as several new tracks (a finer sampling can
    split one); a new track continues at most one old track. New tracks with none are left out."""
    found: dict[int, int] = {}
    for new in new_tracks:
        best, best_matched = None, 0
        for old in old_tracks:
            inside, matched = overlap(new, old)
            if not matched or matched < CARRY_MIN_SHARE * inside or matched <= best_matched:
                continue
            if not _same_person(new, old, min_similarity):
                continue
            best, best_matched = old.key, matched
        if best is not None:
            found[new.key] = best
    return found


@dataclass(frozen=True)
class Decisions:
    """What humans (and clustering) decided about one old track, to be carried."""

    person_id: int | None = None  # a human's label (machine labels are redone, not carried)
    rejected: frozenset[int] = frozenset()  # persons a human said this track is not
    # its place among the clusters: an unassigned track's cluster; a named track's, the one it
    # was named from (where taking the name back returns it)
    cluster_id: str | None = None


@dataclass
class CarryReport:
    """What a re-harvest carried and what it could not: nothing a human decided goes silently."""

    labels_carried: int = 0  # new tracks given an old track's human label
    rejections_carried: int = 0  # (new track, person) rejections written
    clusters_carried: int = 0  # new tracks placed in their old track's cluster
    # persons of human-labelled old tracks that no new track continues
    labels_unmatched: list[int] = field(default_factory=list)
    rejections_unmatched: int = 0  # old rejections whose track no new track continues

    def add(self, other: CarryReport) -> None:
        """Another clip's report added to this one."""
        self.labels_carried += other.labels_carried
        self.rejections_carried += other.rejections_carried
        self.clusters_carried += other.clusters_carried
        self.labels_unmatched += other.labels_unmatched
        self.rejections_unmatched += other.rejections_unmatched


def carried(
    parents_of: dict[int, int], decisions: dict[int, Decisions]
) -> tuple[dict[int, Decisions], CarryReport]:
    """Each new track's carried decisions (those of the old track it continues) and the report.
    A new track carrying a human label is in no cluster: its carried cluster is the one it was
    named from (not counted in clusters_carried)."""
    report = CarryReport()
    out: dict[int, Decisions] = {}
    for new, old in sorted(parents_of.items()):
        d = decisions.get(old)
        if d is None or (d.person_id is None and not d.rejected and d.cluster_id is None):
            continue
        out[new] = d
        report.labels_carried += d.person_id is not None
        report.rejections_carried += len(d.rejected)
        report.clusters_carried += d.person_id is None and d.cluster_id is not None
    continued = set(parents_of.values())
    for old, d in sorted(decisions.items()):
        if old in continued:
            continue
        if d.person_id is not None:
            report.labels_unmatched.append(d.person_id)
        report.rejections_unmatched += len(d.rejected)
    return out, report
