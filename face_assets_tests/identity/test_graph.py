"""Exact expectations for face_assets.identity.graph on small synthetic data (no lfw cache)."""

from __future__ import annotations

import numpy as np
import pytest

from face_assets.identity import clustering, graph

DIM = 64


def _people(sizes: list[int], seed: int = 0, spread: float = 0.35) -> tuple[np.ndarray, np.ndarray]:
    """Unit embeddings of well separated people (same-person similarity ~0.9)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(sizes), DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    person = np.repeat(np.arange(len(sizes)), sizes)
    x = centres[person] + spread * rng.standard_normal((person.size, DIM)) / np.sqrt(DIM)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), person


def _partition(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered by first appearance (noise stays -1), to compare partitions."""
    return graph._final_labels(np.asarray(labels), 2)


def _own_photos(n: int) -> np.ndarray:
    return np.arange(n)


def test_people_become_clusters_and_stranger_is_noise():
    x, person = _people([5, 4, 3])
    stranger = np.random.default_rng(9).standard_normal((1, DIM)).astype(np.float32)
    stranger /= np.linalg.norm(stranger)
    x = np.vstack([x, stranger])
    labels = graph.cluster_graph(x, _own_photos(len(x)), k=10)
    assert labels.tolist() == [0] * 5 + [1] * 4 + [2] * 3 + [-1]


def test_single_group_is_one_cluster():
    x, _ = _people([6])
    labels = graph.cluster_graph(x, _own_photos(6), k=10)
    assert labels.tolist() == [0] * 6


@pytest.mark.parametrize("method", graph.GRAPH_METHODS)
def test_two_faces_of_one_photo_never_share_a_cluster(method):
    x, _ = _people([4])
    photos = np.array([0, 0, 1, 2])
    labels = graph.cluster_graph(x, photos, k=10, method=method)
    assert labels[0] == -1 or labels[0] != labels[1]
    assert (labels[2:] >= 0).all()


def test_cannot_link_is_respected():
    x, _ = _people([2, 3])
    labels = graph.cluster_graph(x, _own_photos(5), k=10, cannot_link=[(0, 1)])
    assert labels.tolist() == [-1, -1, 0, 0, 0]  # a 2-face person split in two: both noise
    labels = graph.cluster_graph(x, _own_photos(5), k=10, cannot_link=[(2, 3)])
    assert labels[2] != labels[3]


def test_min_cluster_size_makes_small_clusters_noise():
    x, _ = _people([2, 3])
    labels = graph.cluster_graph(x, _own_photos(5), k=10, min_cluster_size=3)
    assert labels.tolist() == [-1, -1, 0, 0, 0]
    with pytest.raises(ValueError):
        graph.cluster_graph(x, None, min_cluster_size=1)
    with pytest.raises(ValueError):
        graph.cluster_graph(x, None, method="nope")


def test_deterministic_and_empty():
    x, _ = _people([7, 5, 2, 1, 1, 9], seed=3, spread=0.9)
    photos = np.arange(len(x)) // 2
    first = graph.cluster_graph(x, photos, k=8)
    assert np.array_equal(first, graph.cluster_graph(x.copy(), photos.copy(), k=8))
    assert graph.cluster_graph(np.zeros((0, DIM), np.float32), []).shape == (0,)


def test_knn_graph_excludes_self_and_matches_exact():
    x, _ = _people([5, 5, 5], seed=1, spread=1.0)
    nb = graph.knn_graph(x, 4)
    assert nb.indices.shape == (15, 4) and nb.similarities.dtype == np.float32
    assert not (nb.indices == np.arange(15)[:, None]).any()
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    assert np.allclose(np.sort(sims, axis=1)[:, ::-1][:, :4], nb.similarities, atol=1e-5)
    # The IVF path gives the same neighbours on data this easy.
    ivf = graph.knn_graph(x, 4, exact_below=0)
    assert np.allclose(ivf.similarities, nb.similarities, atol=1e-5)


def _refresh(x, photos, previous, new, k=10, **kwargs) -> graph.Refresh:
    """graph.refresh_labels over in-memory arrays: exact neighbours of the new faces."""
    new_rows = np.flatnonzero(new)
    nb = graph.knn_graph(x, k)
    new_nb = graph.Neighbours(nb.indices[new_rows], nb.similarities[new_rows])

    def sums_of(labels):
        return np.stack([x[previous == lab].astype(np.float64).sum(axis=0) for lab in labels])

    return graph.refresh_labels(
        previous, new, photos, new_nb, lambda rows: x[rows], sums_of, **kwargs
    )


def _clustered_before(x, photos, new, k=10):
    old_rows = np.flatnonzero(~new)
    previous = np.full(len(x), -1)
    previous[old_rows] = graph.cluster_graph(x[old_rows], photos[old_rows], k=k)
    return previous


def test_refresh_without_new_faces_changes_nothing():
    x, _ = _people([5, 4, 3, 1], seed=2)
    photos = _own_photos(len(x))
    full = graph.cluster_graph(x, photos, k=10)
    out = _refresh(x, photos, full, np.zeros(len(x), bool))
    assert np.array_equal(out.labels, full)
    assert not out.touched.any() and out.nodes == 0


def test_refresh_new_faces_join_their_people_and_form_new_clusters():
    x, person = _people([6, 5, 4, 3, 3], seed=4)
    new = np.isin(np.arange(len(x)), [0, 1, 11, 12, 13]) | (person == 4)
    photos = _own_photos(len(x))
    previous = _clustered_before(x, photos, new)
    out = _refresh(x, photos, previous, new)
    full = graph.cluster_graph(x, photos, k=10)
    assert np.array_equal(_partition(out.labels), _partition(full))
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
    photos = _own_photos(len(x))
    previous = _clustered_before(x, photos, new)
    assert previous[:7].tolist() == [0] * 4 + [1] * 3
    out = _refresh(x, photos, previous, new)
    # (4 x 0.2 + 6 x 0.775) / 10 on average between the larger cluster and the rest: one
    # cluster, the label of the larger previous cluster, as a full run would find.
    assert out.labels.tolist() == [0] * len(x)
    assert np.array_equal(_partition(out.labels), _partition(graph.cluster_graph(x, photos)))
    assert out.touched.tolist() == [False] * 4 + [True] * (len(x) - 4)
    assert out.grown.tolist() == [0]


def test_refresh_never_merges_across_a_photo():
    x, new = _bridge(6)
    photos = _own_photos(len(x))
    photos[4] = photos[0]  # a face of each previous cluster in one photo
    previous = _clustered_before(x, photos, new)
    out = _refresh(x, photos, previous, new)
    assert out.labels[0] != out.labels[4]
    assert set(out.labels[:4].tolist()) == {0} and set(out.labels[4:7].tolist()) == {1}
    # A cannot-link given by row pairs (a human's "not this person") blocks a merge as well.
    photos = _own_photos(len(x))
    out = _refresh(x, photos, previous, new, cannot_link=[(1, 5)])
    assert out.labels[1] != out.labels[5]


def test_refresh_leaves_lonely_new_faces_as_noise():
    x, person = _people([4, 3], seed=3)
    stranger = np.random.default_rng(5).standard_normal((1, DIM)).astype(np.float32)
    x = np.vstack([x, stranger / np.linalg.norm(stranger)])
    new = np.zeros(len(x), bool)
    new[-1] = True
    photos = _own_photos(len(x))
    previous = _clustered_before(x, photos, new)
    out = _refresh(x, photos, previous, new)
    assert out.labels[-1] == -1 and out.touched.tolist() == new.tolist()
    assert np.array_equal(out.labels[:-1], previous[:-1])


def test_extend_neighbours_matches_a_full_search():
    x, _ = _people([8, 8, 8], seed=5, spread=1.0)
    old = 20
    index = graph.FaceIndex.build(x[:old])
    nb_old = graph.knn_graph(x[:old], 5, index=index)
    extended = graph.extend_neighbours(nb_old, index, x[old:])
    full = graph.knn_graph(x, 5)
    # New faces: exact. Old faces take in the new faces that listed them, so their lists are
    # never better than the exact ones and almost always equal (see extend_neighbours).
    assert np.allclose(extended.similarities[old:], full.similarities[old:], atol=1e-5)
    assert (extended.similarities[:old] <= full.similarities[:old] + 1e-5).all()
    same = np.isclose(extended.similarities[:old], full.similarities[:old], atol=1e-5)
    assert same.mean() >= 0.9


def _random_case(rng: np.random.Generator):
    n = int(rng.integers(5, 40))
    faces = rng.choice(1000, size=n, replace=False)
    labels = rng.integers(-1, int(rng.integers(1, 8)), size=n)
    previous: dict[str, set[int]] = {}
    pool = np.concatenate([faces, rng.choice(np.arange(1000, 1100), 10, replace=False)])
    owner = rng.integers(0, int(rng.integers(1, 8)), size=pool.size)
    keep = rng.random(pool.size) < 0.8
    for p in np.unique(owner[keep]).tolist():
        previous[f"clu_prev{p}"] = set(pool[keep & (owner == p)].tolist())
    return previous, faces.tolist(), labels


@pytest.mark.parametrize("min_overlap", [0.34, 0.5, 0.6, 0.9])
def test_stable_ids_sparse_agrees_with_dense(min_overlap):
    rng = np.random.default_rng(int(min_overlap * 100))
    for _ in range(200):
        previous, faces, labels = _random_case(rng)
        dense = clustering.stable_cluster_ids(previous, faces, labels, min_overlap=min_overlap)
        sparse_ids = graph.stable_ids_sparse(previous, faces, labels, min_overlap=min_overlap)
        if min_overlap > 0.5:
            assert sparse_ids == dense
        else:  # ties may be broken differently; the matched total Jaccard is the same
            assert set(sparse_ids) == set(dense)
            assert _matched_jaccard(previous, faces, labels, sparse_ids) == pytest.approx(
                _matched_jaccard(previous, faces, labels, dense)
            )


def _matched_jaccard(previous, faces, labels, ids) -> float:
    present = set(faces)
    total = 0.0
    for lab, cid in ids.items():
        if cid in previous:
            new = {f for f, lab2 in zip(faces, labels.tolist(), strict=True) if lab2 == lab}
            old = previous[cid] & present
            total += len(new & old) / len(new | old)
    return total


@pytest.mark.parametrize("seed", range(5))
def test_refresh_on_well_separated_people_equals_a_full_run(seed):
    x, person = _people([9, 7, 6, 4, 2, 1, 1], seed=seed)
    rng = np.random.default_rng(seed)
    new = rng.random(len(x)) < 0.3
    # Group photos of different people (never the same person twice in a photo).
    photos = _own_photos(len(x))
    photos[person == 1] = photos[person == 0][:7]
    previous = _clustered_before(x, photos, new, k=3)
    out = _refresh(x, photos, previous, new, k=3)
    full = graph.cluster_graph(x, photos, k=3)
    assert np.array_equal(_partition(out.labels), _partition(full))
    kept = ~out.touched
    assert np.array_equal(out.labels[kept], previous[kept])


def test_refresh_new_clusters_take_labels_from_first_new_label():
    # The faces of previous cluster 1 were all re-embedded (new again): the cluster they form
    # must not reuse label 1, which the caller still knows as an id in use.
    x, person = _people([3, 3], seed=6)
    new = person == 1
    previous = np.where(person == 0, 0, 1)
    out = _refresh(x, _own_photos(len(x)), previous, new, first_new_label=2)
    assert out.labels[person == 0].tolist() == [0, 0, 0]
    assert out.labels[person == 1].tolist() == [2, 2, 2]
