"""Exact expectations for face_assets.identity.linkage.cluster_graph on small synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from face_assets.identity import linkage
from face_assets_tests.identity.separated import DIM, own_photos, people


def test_people_become_clusters_and_stranger_is_noise():
    x, person = people([5, 4, 3])
    stranger = np.random.default_rng(9).standard_normal((1, DIM)).astype(np.float32)
    stranger /= np.linalg.norm(stranger)
    x = np.vstack([x, stranger])
    labels = linkage.cluster_graph(x, own_photos(len(x)), k=10)
    assert labels.tolist() == [0] * 5 + [1] * 4 + [2] * 3 + [-1]


def test_single_group_is_one_cluster():
    x, _ = people([6])
    labels = linkage.cluster_graph(x, own_photos(6), k=10)
    assert labels.tolist() == [0] * 6


@pytest.mark.parametrize("method", linkage.GRAPH_METHODS)
def test_two_faces_of_one_photo_never_share_a_cluster(method):
    x, _ = people([4])
    photos = np.array([0, 0, 1, 2])
    labels = linkage.cluster_graph(x, photos, k=10, method=method)
    assert labels[0] == -1 or labels[0] != labels[1]
    assert (labels[2:] >= 0).all()


def test_cannot_link_is_respected():
    x, _ = people([2, 3])
    labels = linkage.cluster_graph(x, own_photos(5), k=10, cannot_link=[(0, 1)])
    assert labels.tolist() == [-1, -1, 0, 0, 0]  # a 2-face person split in two: both noise
    labels = linkage.cluster_graph(x, own_photos(5), k=10, cannot_link=[(2, 3)])
    assert labels[2] != labels[3]


def test_min_cluster_size_makes_small_clusters_noise():
    x, _ = people([2, 3])
    labels = linkage.cluster_graph(x, own_photos(5), k=10, min_cluster_size=3)
    assert labels.tolist() == [-1, -1, 0, 0, 0]
    with pytest.raises(ValueError):
        linkage.cluster_graph(x, None, min_cluster_size=1)
    with pytest.raises(ValueError):
        linkage.cluster_graph(x, None, method="nope")


def test_deterministic_and_empty():
    x, _ = people([7, 5, 2, 1, 1, 9], seed=3, spread=0.9)
    photos = np.arange(len(x)) // 2
    first = linkage.cluster_graph(x, photos, k=8)
    assert np.array_equal(first, linkage.cluster_graph(x.copy(), photos.copy(), k=8))
    assert linkage.cluster_graph(np.zeros((0, DIM), np.float32), []).shape == (0,)
