"""face_assets.identity.refresh: new faces continue average linkage from last run's clusters."""

from __future__ import annotations

import numpy as np
import pytest

from face_assets.identity import knn, linkage, refresh
from face_assets_tests.identity.separated import DIM, own_photos, partition, people


def _refresh(x, photos, previous, new, k=10, **kwargs) -> refresh.Refresh:
    """refresh.refresh_labels over in-memory arrays: exact neighbours of the new faces."""
    new_rows = np.flatnonzero(new)
    nb = knn.knn_graph(x, k)
    new_nb = knn.Neighbours(nb.indices[new_rows], nb.similarities[new_rows])

    def sums_of(labels):
        return np.stack([x[previous == lab].astype(np.float64).sum(axis=0) for lab in labels])

    return refresh.refresh_labels(
        previous, new, photos, new_nb, lambda rows: x[rows], sums_of, **kwargs
    )


def _clustered_before(x, photos, new, k=10):
    old_rows = np.flatnonzero(~new)
    previous = np.full(len(x), -1)
    previous[old_rows] = linkage.cluster_graph(x[old_rows], photos[old_rows], k=k)
    return previous


def test_refresh_without_new_faces_changes_nothing():
    x, _ = people([5, 4, 3, 1], seed=2)
    photos = own_photos(len(x))
    full = linkage.cluster_graph(x, photos, k=10)
    out = _refresh(x, photos, full, np.zeros(len(x), bool))
    assert np.array_equal(out.labels, full)
    assert not out.touched.any() and out.nodes == 0


def test_refresh_new_faces_join_their_people_and_form_new_clusters():
    x, person = people([6, 5, 4, 3, 3], seed=4)
    new = np.isin(np.arange(len(x)), [0, 1, 11, 12, 13]) | (person == 4)
    photos = own_photos(len(x))
    previous = _clustered_before(x, photos, new)
    out = _refresh(x, photos, previous, new)
    full = linkage.cluster_graph(x, photos, k=10)
    assert np.array_equal(partition(out.labels), partition(full))
    # Person 0 keeps its label and takes in its new faces; persons 1 and 3 are untouched;
    # person 2 (one old face, noise until now) and person 4 (all new) become new clusters,
    # labelled above every previous label.
    for p in (0, 1, 3):
        old_label = previous[(person == p) & ~new][0]
        assert old_label >= 0 and (out.labels[person == p] == old_label).all()
    assert previous[(person == 2) & ~new].tolist() == [-1]
    fresh = {int(out.labels[person == p][0]) for p in (2, 4)}
    assert len(fresh) == 2 and min(fresh) > previous.max()
    assert out.touched.tolist() == (new | (person == 2)).tolist()
    assert out.grown.tolist() == [previous[person == 0][-1]]


def _bridge(n_new: int):
    """Two clusters 0.2 apart (never merged) and new faces between them (0.775 to each)."""
    a, b = np.zeros(DIM), np.zeros(DIM)
    a[0], b[0], b[1] = 1.0, 0.2, np.sqrt(1 - 0.04)
    mid = (a + b) / np.linalg.norm(a + b)
    rng = np.random.default_rng(0)
    rows = [a] * 4 + [b] * 3 + [mid] * n_new
    x = np.asarray(rows) + 0.01 * rng.standard_normal((len(rows), DIM))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    new = np.arange(len(rows)) >= 7
    return x.astype(np.float32), new


def test_refresh_merges_clusters_the_new_faces_bring_together():
    x, new = _bridge(6)
    photos = own_photos(len(x))
    previous = _clustered_before(x, photos, new)
    assert previous[:7].tolist() == [0] * 4 + [1] * 3
    out = _refresh(x, photos, previous, new)
    # (4 x 0.2 + 6 x 0.775) / 10 on average between the larger cluster and the rest: one
    # cluster, the label of the larger previous cluster, as a full run would find.
    assert out.labels.tolist() == [0] * len(x)
    assert np.array_equal(partition(out.labels), partition(linkage.cluster_graph(x, photos)))
    assert out.touched.tolist() == [False] * 4 + [True] * (len(x) - 4)
    assert out.grown.tolist() == [0]


def test_refresh_never_merges_across_a_photo():
    x, new = _bridge(6)
    photos = own_photos(len(x))
    photos[4] = photos[0]  # a face of each previous cluster in one photo
    previous = _clustered_before(x, photos, new)
    out = _refresh(x, photos, previous, new)
    assert out.labels[0] != out.labels[4]
    assert set(out.labels[:4].tolist()) == {0} and set(out.labels[4:7].tolist()) == {1}
    # A cannot-link given by row pairs (a human's "not this person") blocks a merge as well.
    photos = own_photos(len(x))
    out = _refresh(x, photos, previous, new, cannot_link=[(1, 5)])
    assert out.labels[1] != out.labels[5]


def test_refresh_leaves_lonely_new_faces_as_noise():
    x, person = people([4, 3], seed=3)
    stranger = np.random.default_rng(5).standard_normal((1, DIM)).astype(np.float32)
    x = np.vstack([x, stranger / np.linalg.norm(stranger)])
    new = np.zeros(len(x), bool)
    new[-1] = True
    photos = own_photos(len(x))
    previous = _clustered_before(x, photos, new)
    out = _refresh(x, photos, previous, new)
    assert out.labels[-1] == -1 and out.touched.tolist() == new.tolist()
    assert np.array_equal(out.labels[:-1], previous[:-1])


@pytest.mark.parametrize("seed", range(5))
def test_refresh_on_well_separated_people_equals_a_full_run(seed):
    x, person = people([9, 7, 6, 4, 2, 1, 1], seed=seed)
    rng = np.random.default_rng(seed)
    new = rng.random(len(x)) < 0.3
    # Group photos of different people (never the same person twice in a photo).
    photos = own_photos(len(x))
    photos[person == 1] = photos[person == 0][:7]
    previous = _clustered_before(x, photos, new, k=3)
    out = _refresh(x, photos, previous, new, k=3)
    full = linkage.cluster_graph(x, photos, k=3)
    assert np.array_equal(partition(out.labels), partition(full))
    kept = ~out.touched
    assert np.array_equal(out.labels[kept], previous[kept])


def test_refresh_new_clusters_take_labels_from_first_new_label():
    # The faces of previous cluster 1 were all re-embedded (new again): the cluster they form
    # must not reuse label 1, which the caller still knows as an id in use.
    x, person = people([3, 3], seed=6)
    new = person == 1
    previous = np.where(person == 0, 0, 1)
    out = _refresh(x, own_photos(len(x)), previous, new, first_new_label=2)
    assert out.labels[person == 0].tolist() == [0, 0, 0]
    assert out.labels[person == 1].tolist() == [2, 2, 2]
