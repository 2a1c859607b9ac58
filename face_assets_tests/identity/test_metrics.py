import itertools
import math

import numpy as np
import pytest

from face_assets.identity.metrics import bcubed_scores, pairwise_scores, verification_scores

DIM = 512


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _sphere_clusters(n_clusters, size, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    centres = _unit(rng.normal(size=(n_clusters, DIM)))
    x = np.repeat(centres, size, axis=0) + rng.normal(scale=noise, size=(n_clusters * size, DIM))
    return _unit(x), np.repeat(np.arange(n_clusters), size)


def _bcubed_reference(true, pred, noise=-1):
    """Per-item definition, O(n^2), noise as singletons: the thing the fast version must equal."""
    n = len(true)
    p_sum = r_sum = 0.0
    for i in range(n):
        cluster = [j for j in range(n) if j == i or (pred[i] != noise and pred[j] == pred[i])]
        klass = [j for j in range(n) if true[j] == true[i]]
        both = len(set(cluster) & set(klass))
        p_sum += both / len(cluster)
        r_sum += both / len(klass)
    p, r = p_sum / n, r_sum / n
    return p, r, 2 * p * r / (p + r)


def _pairwise_reference(true, pred, noise=-1):
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(true)), 2):
        same_pred = pred[i] == pred[j] != noise
        same_true = true[i] == true[j]
        tp += same_pred and same_true
        fp += same_pred and not same_true
        fn += same_true and not same_pred
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


# --- BCubed -----------------------------------------------------------------------------------


def test_bcubed_perfect_and_label_names_irrelevant():
    assert bcubed_scores(["a", "a", "b"], [7, 7, 3]) == (1.0, 1.0, 1.0)


def test_bcubed_hand_example_mixed_cluster():
    # true A A A B B, pred 0 0 1 1 1.
    # Precision per face: 1, 1 (cluster {A,A}); 1/3, 2/3, 2/3 (cluster {A,B,B}) -> mean 11/15.
    # Recall per face: 2/3, 2/3, 1/3 (class A split 2+1); 1, 1 (class B whole) -> mean 11/15.
    p, r, f = bcubed_scores(list("AAABB"), [0, 0, 1, 1, 1])
    assert p == pytest.approx(11 / 15)
    assert r == pytest.approx(11 / 15)
    assert f == pytest.approx(11 / 15)


def test_bcubed_amigo_all_in_one_cluster():
    # Amigo et al. 2009: one cluster holding everything has recall 1 and precision
    # sum_j (n_j / N)^2. Classes of 4, 2, 2 of N=8 -> 1/4 + 1/16 + 1/16 = 3/8.
    p, r, f = bcubed_scores(list("AAAABBCC"), [0] * 8)
    assert (p, r) == (pytest.approx(3 / 8), 1.0)
    assert f == pytest.approx(2 * (3 / 8) / (1 + 3 / 8))


def test_bcubed_noise_costs_recall_not_precision():
    # true A A A B, pred 0 0 -1 1: clusters are all pure -> P = 1.
    # Recall: 2/3, 2/3 (A split 2 + singleton), 1/3, 1 -> 8/3 / 4 = 2/3.  F1 = 2*(2/3)/(5/3) = 0.8
    p, r, f = bcubed_scores(list("AAAB"), [0, 0, -1, 1])
    assert p == 1.0
    assert r == pytest.approx(2 / 3)
    assert f == pytest.approx(0.8)


def test_bcubed_noise_points_are_not_one_cluster():
    # Two noise faces of different people: as singletons they are pure (P=1). Were -1 treated
    # as a cluster, P would drop to (1 + 1 + 1/2 + 1/2) / 4 = 0.75.
    assert bcubed_scores(list("AABC"), [0, 0, -1, -1]) == (1.0, 1.0, 1.0)
    # A custom noise label is honoured, and -1 is then an ordinary cluster.
    assert bcubed_scores(list("AABC"), [0, 0, 9, 9], noise_label=9) == (1.0, 1.0, 1.0)
    assert bcubed_scores(list("AABC"), [0, 0, -1, -1], noise_label=9)[0] == pytest.approx(0.75)


def test_bcubed_and_pairwise_scale_to_1e5_items():
    rng = np.random.default_rng(1)
    true = rng.integers(0, 20_000, size=100_000)
    pred = np.where(rng.random(100_000) < 0.3, -1, true)  # 30 % noise, otherwise exact
    p, r, _ = bcubed_scores(true, pred)
    assert p == 1.0 and 0 < r < 1
    p, r, _ = pairwise_scores(true, pred)
    assert p == 1.0 and 0 < r < 1


def test_metrics_reject_bad_input():
    for fn in (bcubed_scores, pairwise_scores):
        with pytest.raises(ValueError, match="length"):
            fn([1, 2], [0])
        with pytest.raises(ValueError, match="empty"):
            fn([], [])


# --- pairwise ---------------------------------------------------------------------------------


def test_pairwise_hand_example():
    # true A A A B B: true pairs C(3,2) + C(2,2) = 4. pred 0 0 1 1 1: pred pairs 1 + 3 = 4.
    # Correct pairs: {A,A} in cluster 0 (1) + {B,B} in cluster 1 (1) = 2 -> P = R = F1 = 0.5.
    assert pairwise_scores(list("AAABB"), [0, 0, 1, 1, 1]) == (0.5, 0.5, 0.5)


def test_pairwise_hand_example_with_noise():
    # true A A A A B: 6 true pairs. pred 0 0 1 1 -1: 2 pred pairs, both correct.
    # P = 1, R = 2/6, F1 = 2 * (1/3) / (4/3) = 0.5
    p, r, f = pairwise_scores(list("AAAAB"), [0, 0, 1, 1, -1])
    assert p == 1.0
    assert r == pytest.approx(1 / 3)
    assert f == pytest.approx(0.5)


def test_pairwise_all_noise_is_vacuously_precise_but_recalls_nothing():
    assert pairwise_scores(list("AA"), [-1, -1]) == (1.0, 0.0, 0.0)
    assert pairwise_scores(list("AB"), [-1, -1]) == (1.0, 1.0, 1.0)


@pytest.mark.parametrize(
    ("scores", "reference", "seed", "people", "items"),
    [
        (bcubed_scores, _bcubed_reference, 0, 5, 40),
        (pairwise_scores, _pairwise_reference, 2, 4, 30),
    ],
    ids=["bcubed", "pairwise"],
)
def test_fast_scores_match_their_definition_on_random_labellings(
    scores, reference, seed, people, items
):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        true = rng.integers(0, people, size=items).tolist()
        pred = rng.integers(-1, people + 1, size=items).tolist()
        assert scores(true, pred) == pytest.approx(reference(true, pred))


# --- verification -----------------------------------------------------------------------------


def test_verification_separable_set():
    x, labels = _sphere_clusters(5, 6, seed=3)
    out = verification_scores(x, labels, far_targets=(1e-3, 1e-2, 0.1))
    assert out["roc_auc"] == 1.0
    assert out["tar_at_far"] == {1e-3: 1.0, 1e-2: 1.0, 0.1: 1.0}
    assert out["genuine_pairs"] == 5 * math.comb(6, 2)
    assert out["impostor_pairs"] == math.comb(30, 2) - 5 * math.comb(6, 2)
    assert out["mean_genuine"] > 0.7 > 0.2 > out["mean_impostor"]
    # Fewer than 1000 impostor pairs: FAR=1e-3 can only be met above the highest impostor.
    assert out["impostor_pairs"] < 1000
    assert out["threshold_at_far"][1e-3] == pytest.approx(
        max(
            float(x[i] @ x[j])
            for i, j in itertools.combinations(range(30), 2)
            if labels[i] != labels[j]
        )
    )


def _four_points_on_a_circle():
    """a1 at 0 deg, a2 at 60 deg (person a); b1 at 90 deg, b2 at 180 deg (person b).

    Genuine cosines: a1a2 = 0.5, b1b2 = 0.
    Impostor cosines: a1b1 = 0, a1b2 = -1, a2b1 = sqrt(3)/2, a2b2 = -0.5.
    AUC = P(genuine > impostor) + P(tie)/2 = (3 + 2 + 0.5) / 8 = 0.6875.
    """
    emb = np.array([[1.0, 0.0], [0.5, math.sqrt(3) / 2], [0.0, 1.0], [-1.0, 0.0]])
    return emb, ["a", "a", "b", "b"]


def test_verification_overlapping_set_known_values():
    emb, labels = _four_points_on_a_circle()
    out = verification_scores(emb, labels, far_targets=(0.01, 0.25, 0.5, 1.0))
    assert out["roc_auc"] == pytest.approx(0.6875)
    assert (out["genuine_pairs"], out["impostor_pairs"]) == (2, 4)
    assert out["mean_genuine"] == pytest.approx(0.25)
    assert out["mean_impostor"] == pytest.approx((math.sqrt(3) / 2 - 1.5) / 4)
    # Impostors high to low: 0.866, 0, -0.5, -1 (accept = strictly above threshold).
    # FAR 0.01 -> no false accept allowed -> threshold 0.866 -> neither genuine pair passes.
    # FAR 0.25 -> one allowed -> threshold 0 -> only 0.5 passes (the genuine 0 ties, rejected).
    # FAR 0.5 -> two allowed -> threshold -0.5 -> both pass.
    assert out["tar_at_far"] == {0.01: 0.0, 0.25: 0.5, 0.5: 1.0, 1.0: 1.0}
    assert out["threshold_at_far"][0.25] == pytest.approx(0.0)


def test_verification_renormalises_raw_embeddings():
    emb, labels = _four_points_on_a_circle()
    scaled = emb * np.array([[3.0], [0.5], [2.0], [7.0]])
    assert verification_scores(scaled, labels)["roc_auc"] == pytest.approx(0.6875)


def test_verification_degenerate_inputs():
    emb, _ = _four_points_on_a_circle()
    with pytest.raises(ValueError, match="no genuine pairs"):
        verification_scores(emb, ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="no impostor pairs"):
        verification_scores(emb, ["a"] * 4)
    with pytest.raises(ValueError, match="labels"):
        verification_scores(emb, ["a", "a"])
    with pytest.raises(ValueError, match="two faces"):
        verification_scores(emb[:1], ["a"])
    with pytest.raises(ValueError, match="FAR"):
        verification_scores(emb, ["a", "a", "b", "b"], far_targets=(2.0,))
