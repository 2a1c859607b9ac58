import numpy as np
import pytest

from face_assets.identity import clustering
from face_assets.identity.cluster_ids import stable_cluster_ids
from face_assets.identity.clustering import (
    ALL_PAIRS_METHODS,
    cluster_labels,
    split_labels,
)
from face_assets.identity.metrics import bcubed_scores

DIM = 512


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _sphere_clusters(n_clusters, size, noise=0.02, seed=0):
    """Random unit centres in 512-d (nearly orthogonal) with small gaussian jitter, renormalised.

    noise=0.02 per dimension puts faces at cosine ~0.9 to their centre and ~0.83 to each other,
    similar to ArcFace same-person pairs; different centres sit at cosine ~0.
    """
    rng = np.random.default_rng(seed)
    centres = _unit(rng.normal(size=(n_clusters, DIM)))
    x = np.repeat(centres, size, axis=0) + rng.normal(scale=noise, size=(n_clusters * size, DIM))
    return _unit(x), np.repeat(np.arange(n_clusters), size), centres


def _clusters_as_sets(labels):
    return {
        frozenset(np.flatnonzero(labels == lab).tolist()) for lab in set(labels.tolist()) - {-1}
    }


# --- cluster_labels -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ALL_PAIRS_METHODS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_well_separated_clusters_recovered_exactly(method, seed):
    x, truth, _ = _sphere_clusters(4, 8, seed=seed)
    labels = cluster_labels(x, method=method)
    assert labels.dtype == np.int64
    assert sorted(set(labels.tolist())) == [0, 1, 2, 3]
    assert bcubed_scores(truth, labels) == (1.0, 1.0, 1.0)
    # Relabelled by first appearance, so the output is the ground truth itself here.
    assert labels.tolist() == truth.tolist()


def test_default_method_is_hdbscan_and_order_invariant():
    x, truth, _ = _sphere_clusters(4, 8, seed=3)
    perm = np.random.default_rng(7).permutation(len(x))
    labels = cluster_labels(x[perm])
    assert clustering.DEFAULT_ALL_PAIRS_METHOD == "hdbscan"
    assert bcubed_scores(truth[perm], labels)[2] == 1.0


def test_outlier_becomes_noise():
    x, truth, _ = _sphere_clusters(3, 8, seed=4)
    outlier = _unit(np.random.default_rng(99).normal(size=(1, DIM)))
    labels = cluster_labels(np.vstack([x, outlier]))
    assert labels[-1] == -1
    assert bcubed_scores(truth, labels[:-1])[2] == 1.0


@pytest.mark.parametrize("method", ALL_PAIRS_METHODS)
def test_fewer_points_than_min_cluster_size_are_all_noise(method):
    x, _, _ = _sphere_clusters(1, 4, seed=5)
    assert cluster_labels(x, method=method, min_cluster_size=5).tolist() == [-1] * 4
    assert cluster_labels(x[:1], method=method).tolist() == [-1]


@pytest.mark.parametrize("method", ALL_PAIRS_METHODS)
def test_empty_input_gives_empty_labels(method):
    out = cluster_labels(np.empty((0, DIM)), method=method)
    assert out.shape == (0,)
    assert cluster_labels([], method=method).shape == (0,)


def test_unknown_method_names_valid_ones():
    x, _, _ = _sphere_clusters(2, 5)
    with pytest.raises(ValueError, match="hdbscan.*dbscan.*agglomerative"):
        cluster_labels(x, method="kmeans")


def test_hdbscan_handles_min_samples_above_n():
    # 6 points, min_samples 10: sklearn would raise; we clamp instead of crashing.
    x, _, _ = _sphere_clusters(1, 6, seed=6)
    labels = cluster_labels(x, min_cluster_size=5, min_samples=10)
    assert labels.shape == (6,)


@pytest.mark.parametrize("method", ["dbscan", "agglomerative"])
def test_small_clusters_become_noise(method):
    big, _, _ = _sphere_clusters(1, 8, seed=7)
    small, _, _ = _sphere_clusters(1, 3, seed=8)
    labels = cluster_labels(np.vstack([big, small]), method=method, min_cluster_size=5)
    assert labels[:8].tolist() == [0] * 8
    assert labels[8:].tolist() == [-1] * 3
    # With a smaller minimum the same three faces do form a cluster (so the rule is what bit).
    labels = cluster_labels(np.vstack([big, small]), method=method, min_cluster_size=3)
    assert labels[8:].tolist() == [1] * 3


def test_eps_controls_dbscan_and_agglomerative():
    x, _, _ = _sphere_clusters(2, 6, seed=9)
    for method in ("dbscan", "agglomerative"):
        # Same-person cosine distance is ~0.17: an eps below it leaves nothing clustered.
        assert set(cluster_labels(x, method=method, eps=0.05).tolist()) == {-1}
        # An eps past 1.0 (cosine <= 0) merges the two near-orthogonal people.
        assert set(cluster_labels(x, method=method, eps=1.2).tolist()) == {0}


# --- one face per photo -----------------------------------------------------------------------


def _cluster_with_same_photo_pair(extra_closer: bool, seed=10):
    """8 faces of one person in photos 0..7 plus a 9th face that is in photo 0 too.

    The 9th face is either much closer to the centre than face 0 or much farther.
    """
    x, _, centres = _sphere_clusters(2, 8, seed=seed)
    rng = np.random.default_rng(seed + 1)
    spread = 0.005 if extra_closer else 0.035
    extra = _unit(centres[0] + rng.normal(scale=spread, size=DIM))
    if extra_closer:
        # Push face 0 outwards so the 9th face is unambiguously the better member.
        x[0] = _unit(centres[0] + rng.normal(scale=0.035, size=DIM))
    emb = np.vstack([x, extra[None, :]])
    photos = list(range(16)) + [0]
    return emb, photos


@pytest.mark.parametrize("method", ALL_PAIRS_METHODS)
def test_same_photo_faces_never_share_a_cluster_farther_one_dropped(method):
    emb, photos = _cluster_with_same_photo_pair(extra_closer=False)
    unconstrained = cluster_labels(emb, method=method)
    assert unconstrained[0] == unconstrained[16] != -1  # without the rule they would merge
    labels = cluster_labels(emb, method=method, photo_ids=photos)
    assert labels[0] != -1
    assert labels[16] == -1
    assert labels[:16].tolist() == unconstrained[:16].tolist()


@pytest.mark.parametrize("method", ALL_PAIRS_METHODS)
def test_same_photo_closer_face_is_kept(method):
    emb, photos = _cluster_with_same_photo_pair(extra_closer=True)
    labels = cluster_labels(emb, method=method, photo_ids=photos)
    assert labels[16] != -1
    assert labels[0] == -1
    assert (labels[1:8] == labels[16]).all()


def test_photo_rule_holds_on_random_photo_assignment():
    x, _, _ = _sphere_clusters(4, 10, seed=12)
    photos = np.random.default_rng(3).integers(0, 12, size=len(x)).tolist()
    unconstrained = cluster_labels(x)
    labels = cluster_labels(x, photo_ids=photos)

    def has_duplicate_photo(lab):
        return any(
            len({photos[i] for i in members}) < len(members) for members in _clusters_as_sets(lab)
        )

    assert has_duplicate_photo(unconstrained)  # the data really does contain conflicts
    assert not has_duplicate_photo(labels)
    assert (labels != -1).sum() > 0


def test_cluster_shrunk_below_min_size_by_photo_rule_becomes_noise():
    big, _, _ = _sphere_clusters(1, 8, seed=13)
    five, _, _ = _sphere_clusters(1, 5, seed=14)
    emb = np.vstack([big, five])
    photos = list(range(8)) + [100, 100, 101, 102, 103]
    assert cluster_labels(emb, method="agglomerative", min_cluster_size=5)[8:].tolist() == [1] * 5
    labels = cluster_labels(emb, method="agglomerative", min_cluster_size=5, photo_ids=photos)
    assert labels[:8].tolist() == [0] * 8
    assert labels[8:].tolist() == [-1] * 5


def test_photo_ids_length_checked():
    x, _, _ = _sphere_clusters(1, 6)
    with pytest.raises(ValueError, match="photo ids"):
        cluster_labels(x, photo_ids=[1, 2])


# --- split_labels -----------------------------------------------------------------------------


def test_split_separates_two_people_in_one_cluster():
    x, truth, _ = _sphere_clusters(2, 6, seed=20)
    labels = split_labels(x)
    assert bcubed_scores(truth, labels)[2] == 1.0


def test_split_falls_back_to_agglomerative_when_hdbscan_finds_one(monkeypatch):
    class OneClusterHDBSCAN:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

        def fit_predict(self, x):
            return np.zeros(len(x), dtype=np.int64)

    monkeypatch.setattr(clustering, "HDBSCAN", OneClusterHDBSCAN)
    x, truth, _ = _sphere_clusters(2, 4, seed=21)
    labels = split_labels(x)
    assert bcubed_scores(truth, labels)[2] == 1.0
    # A single tight person: the fallback finds no split either, so the HDBSCAN answer stands.
    one, _, _ = _sphere_clusters(1, 6, seed=22)
    assert split_labels(one).tolist() == [0] * 6


def test_split_fallback_eps_is_tighter_than_unknown_eps():
    assert clustering.SPLIT_EPS < clustering.UNKNOWN_EPS
    assert clustering.SPLIT_MIN_CLUSTER_SIZE < clustering.MIN_CLUSTER_SIZE


def test_split_respects_photo_rule():
    x, _, _ = _sphere_clusters(2, 6, seed=23)
    photos = [0, 0, 1, 2, 3, 4] + [5, 6, 7, 8, 9, 10]
    labels = split_labels(x, photo_ids=photos)
    assert not (labels[0] != -1 and labels[0] == labels[1])


def test_end_to_end_rerun_keeps_ids():
    x, _, _ = _sphere_clusters(3, 8, seed=30)
    faces = list(range(100, 124))
    first = cluster_labels(x)
    first_ids = stable_cluster_ids({}, faces, first)
    previous = {
        cid: {faces[i] for i in np.flatnonzero(first == lab)} for lab, cid in first_ids.items()
    }
    # Re-run with the faces shuffled and one face of the first person dropped.
    perm = np.random.default_rng(1).permutation(24)
    perm = perm[perm != 0]
    second = cluster_labels(x[perm])
    second_ids = stable_cluster_ids(previous, [faces[i] for i in perm], second)
    assert set(second_ids.values()) == set(first_ids.values())


def test_diameter_guard_splits_a_cluster_that_mixes_people():
    """HDBSCAN has no absolute distance limit; the guard separates unrelated people."""
    two, truth, _ = _sphere_clusters(2, 4, seed=21)
    mixed = np.zeros(len(two), dtype=np.int64)  # as if HDBSCAN had joined both people
    split = clustering._within_diameter(two, mixed, clustering.MAX_MEAN_DISTANCE)
    assert len(set(split.tolist())) == 2
    assert all(len(set(split[np.asarray(truth) == t].tolist())) == 1 for t in set(truth))
    one, _, _ = _sphere_clusters(1, 6, seed=22)
    whole = clustering._within_diameter(one, np.zeros(6, dtype=np.int64), 0.7)
    assert set(whole.tolist()) == {0}  # a pure cluster stays whole
