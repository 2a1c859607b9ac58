"""Tracks as clustering items: one item per track, cannot-links between tracks seen together."""

from __future__ import annotations

import numpy as np

from face_assets.identity.track_units import track_clusters


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _noise(rng: np.random.Generator, shape, size: float) -> np.ndarray:
    """Noise of about this norm per 512-d row."""
    return size * rng.normal(size=shape) / np.sqrt(512)


def test_tracks_join_photo_clusters_or_group_among_themselves():
    rng = np.random.default_rng(3)
    people = _unit(rng.normal(size=(4, 512)))
    # Photo clusters of persons 0 and 1: sums of 5 noisy faces each.
    faces = _unit(people[[0] * 5 + [1] * 5] + _noise(rng, (10, 512), 0.5))
    sums = np.stack([faces[:5].sum(0), faces[5:].sum(0)])
    sizes = np.array([5, 5])
    tracks = _unit(people[[0, 1, 2, 2, 3]] + _noise(rng, (5, 512), 0.4))
    joined, group = track_clusters(tracks, sums, sizes, cannot_link=[], min_similarity=0.375)
    assert joined.tolist() == [0, 1, -1, -1, -1]
    # Tracks 2 and 3 (person 2, two clips) group; track 4 alone is a group of its own.
    assert group[2] == group[3] != group[4] and group[4] >= 0 and (group[:2] == -1).all()


def test_tracks_seen_together_never_share_a_cluster():
    rng = np.random.default_rng(4)
    person = _unit(rng.normal(size=512))
    faces = _unit(person + _noise(rng, (4, 512), 0.5))
    # Two tracks in one frame, both close to one photo cluster: the stronger one joins it.
    tracks = _unit(person + np.array([[0.2], [0.6]]) * _noise(rng, (2, 512), 1.0))
    joined, group = track_clusters(tracks, faces.sum(0)[None], np.array([4]), [(0, 1)])
    assert joined.tolist() == [0, -1] and group[1] >= 0
    # Without any photo cluster, the two still never group.
    joined, group = track_clusters(tracks, np.zeros((0, 512)), np.zeros(0), [(0, 1)])
    assert (joined == -1).all() and group[0] != group[1]
    joined, group = track_clusters(tracks, np.zeros((0, 512)), np.zeros(0), [])
    assert group[0] == group[1]
