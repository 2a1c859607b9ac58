"""Which new track continues which old one when a clip is re-harvested at another sampling:
the same face in the same place at the same time, whatever frames either run kept."""

from __future__ import annotations

import numpy as np

from face_assets.vision import harvest_carry as hc


def _track(key, times, x0, x1=None, size=100.0):
    """A face moving from x0 to x1 (pixels) over the given times."""
    times = list(times)
    x1 = x0 if x1 is None else x1
    xs = np.linspace(x0, x1, len(times)) if len(times) > 1 else [x0]
    return hc.TrackFaces(key, times, [[x, 100.0, x + size, 100.0 + size] for x in xs])


def test_a_coarser_and_a_finer_sampling_find_the_same_tracks():
    # Old run every 24th frame (1 s): A pans left to right, B stands on the right later.
    old = [_track(10, [0, 1, 2, 3], 0, 300), _track(11, [5, 6, 7, 8], 600)]
    # New run every 10th frame (0.417 s): no frame in common with the old one but 0 and 5.
    step = 10 / 24
    new_a = _track(0, [i * step for i in range(8)], 0, 300 * (7 * step) / 3)
    new_b = _track(1, [5 + i * step for i in range(8)], 600)
    assert hc.parents([new_a, new_b], old) == {0: 10, 1: 11}


def test_a_split_track_continues_the_old_one_twice_and_a_stranger_nothing():
    old = [_track(7, [0, 1, 2, 3, 4, 5], 200)]
    first, second = _track(0, [0, 0.5, 1, 1.5], 205), _track(1, [3.5, 4, 4.5, 5], 195)
    elsewhere = _track(2, [0, 1, 2, 3], 700)  # at the same time, in another place
    assert hc.parents([first, second, elsewhere], old) == {0: 7, 1: 7}


def _unit(i: int, dim: int = 8) -> np.ndarray:
    v = np.zeros(dim)
    v[i] = 1.0
    return v


def test_someone_else_in_the_same_place_after_a_cut_continues_nothing():
    # Old: A on the left 0-4 s; new: D on the left from 4.25 s (after a cut). D's first face
    # falls inside A's span (+0.5 s) and overlaps A's last box; only the embeddings tell.
    a = _track(3, [0, 1, 2, 3, 4], 100)
    a = hc.TrackFaces(a.key, a.times, a.boxes, _unit(0))
    d = _track(0, [4.25, 4.75, 5.25, 5.75], 100)
    assert hc.overlap(d, a) == (1, 1)
    assert hc.parents([hc.TrackFaces(0, d.times, d.boxes, _unit(1))], [a], 0.4) == {}
    # The same person back in the same place is the same face: it continues A.
    again = hc.TrackFaces(0, d.times, d.boxes, _unit(0))
    assert hc.parents([again], [a], 0.4) == {0: 3}
    # A track elsewhere most of the time it shares with the old one continues nothing.
    moving = _track(1, [0, 1, 2, 3, 4], 100, 800)
    inside, matched = hc.overlap(moving, a)
    assert 0 < matched < hc.CARRY_MIN_SHARE * inside
    assert hc.parents([moving], [a]) == {}


def test_decisions_are_carried_or_reported():
    parents = {0: 10, 1: 10, 2: 12}
    decisions = {
        10: hc.Decisions(person_id=5, rejected=frozenset({6}), cluster_id="clu_named"),
        11: hc.Decisions(person_id=7),  # no new track continues it
        12: hc.Decisions(cluster_id="clu_x", rejected=frozenset({8})),
        13: hc.Decisions(rejected=frozenset({9, 4})),  # neither
    }
    out, report = hc.carried(parents, decisions)
    assert out == {
        0: hc.Decisions(5, frozenset({6}), "clu_named"),  # the cluster it was named from
        1: hc.Decisions(5, frozenset({6}), "clu_named"),
        2: hc.Decisions(None, frozenset({8}), "clu_x"),
    }
    assert (report.labels_carried, report.rejections_carried, report.clusters_carried) == (2, 3, 1)
    assert report.labels_unmatched == [7] and report.rejections_unmatched == 2
