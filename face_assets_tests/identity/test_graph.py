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


def test_refresh_on_unchanged_data_changes_nothing():
    x, _ = _people([5, 4, 3, 1], seed=2)
    photos = _own_photos(len(x))
    full = graph.cluster_graph(x, photos, k=10)
    out = graph.refresh_labels(x, photos, full, np.zeros(len(x), bool), k=10)
    assert np.array_equal(out.labels, full)
    assert not out.touched.any()


def test_refresh_after_adding_faces_equals_full_and_keeps_untouched_labels():
    x, person = _people([6, 5, 4, 3, 3], seed=4)
    new = np.isin(np.arange(len(x)), [0, 1, 11, 12, 13]) | (person == 4)
    old_rows = np.flatnonzero(~new)
    photos = _own_photos(len(x))
    old_nb = graph.knn_graph(x[old_rows], 10)
    before = graph.cluster_graph(x[old_rows], photos[old_rows], neighbours=old_nb)
    previous = np.full(len(x), -1)
    previous[old_rows] = before
    nb = graph.knn_graph(x, 10)
    out = graph.refresh_labels(x, photos, previous, new, neighbours=nb, previous_neighbours=old_nb)
    full = graph.cluster_graph(x, photos, neighbours=nb)
    assert np.array_equal(_partition(out.labels), _partition(full))
    # Persons 0 and 2 got new faces, person 4 is new; persons 1 and 3 keep their labels.
    untouched = np.isin(person, [1, 3])
    assert not out.touched[untouched].any()
    assert np.array_equal(out.labels[untouched], previous[untouched])
    assert out.touched[np.isin(person, [0, 2, 4])].all()


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
def test_refresh_equals_full_when_new_faces_displace_neighbours(seed):
    # k smaller than the people: new faces push old neighbours out of old faces' lists.
    x, person = _people([9, 7, 6, 4, 2, 1, 1], seed=seed, spread=0.8)
    rng = np.random.default_rng(seed)
    new = rng.random(len(x)) < 0.3
    old_rows = np.flatnonzero(~new)
    photos = np.arange(len(x)) // 3
    old_nb = graph.knn_graph(x[old_rows], 3)
    previous = np.full(len(x), -1)
    previous[old_rows] = graph.cluster_graph(x[old_rows], photos[old_rows], neighbours=old_nb)
    nb = graph.knn_graph(x, 3)
    out = graph.refresh_labels(x, photos, previous, new, neighbours=nb, previous_neighbours=old_nb)
    full = graph.cluster_graph(x, photos, neighbours=nb)
    assert np.array_equal(_partition(out.labels), _partition(full))
    kept = ~out.touched
    assert np.array_equal(out.labels[kept], previous[kept])
