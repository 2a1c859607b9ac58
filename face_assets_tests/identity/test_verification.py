"""Verification metrics and the promotion gate's decision rule."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from face_assets.identity.verification import gate_decision, tar_key, verification_metrics


def clustered(persons: int, faces: int, spread: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(persons, 64))
    labels = np.repeat(np.arange(persons), faces)
    x = centres[labels] + spread * rng.normal(size=(len(labels), 64))
    return x / np.linalg.norm(x, axis=1, keepdims=True), labels


def pair_scores(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.triu_indices(len(labels), k=1)
    return (x @ x.T)[rows, cols], labels[rows] == labels[cols]


def test_tar_keys_match_the_documented_names():
    assert tar_key(1e-3) == "tar_at_far_1e-3"
    assert tar_key(1e-2) == "tar_at_far_1e-2"


def test_pair_counts():
    x, labels = clustered(persons=10, faces=6, spread=0.5)
    m = verification_metrics(x, labels)
    assert m["faces"] == 60 and m["persons"] == 10
    assert m["genuine_pairs"] == 10 * (6 * 5 // 2)
    assert m["genuine_pairs"] + m["impostor_pairs"] == 60 * 59 // 2


def test_auc_matches_sklearn_on_overlapping_clusters():
    x, labels = clustered(persons=15, faces=8, spread=1.5)
    scores, genuine = pair_scores(x.astype(np.float32), labels)
    m = verification_metrics(x, labels)
    assert 0.5 < m["roc_auc"] < 1.0
    assert m["roc_auc"] == pytest.approx(roc_auc_score(genuine, scores), abs=1e-9)


def test_auc_counts_ties_as_half():
    x = np.ones((6, 4))  # every pair scores the same
    m = verification_metrics(x, [0, 0, 0, 1, 1, 1])
    assert m["roc_auc"] == pytest.approx(0.5)


def test_separated_clusters_score_perfectly():
    x, labels = clustered(persons=50, faces=4, spread=0.01)
    m = verification_metrics(x, labels)
    assert m["roc_auc"] == 1.0
    assert m["tar_at_far_1e-3"] == 1.0 and m["tar_at_far_1e-2"] == 1.0
    assert m["notes"] == []


def test_tar_at_far_against_a_brute_force_threshold_search():
    x, labels = clustered(persons=40, faces=5, spread=1.2, seed=1)
    scores, genuine = pair_scores(x.astype(np.float32), labels)
    impostor = scores[~genuine]
    m = verification_metrics(x, labels)
    for far in (1e-3, 1e-2):
        # the best TAR among thresholds whose false-accept rate stays <= far
        best = max(
            np.mean(scores[genuine] > t)
            for t in np.unique(impostor)
            if np.mean(impostor > t) <= far
        )
        assert m[tar_key(far)] == pytest.approx(best)


def test_tar_at_strict_far_is_none_below_a_thousand_impostor_pairs():
    x, labels = clustered(persons=5, faces=4, spread=0.5)  # 190 pairs, 160 impostor
    m = verification_metrics(x, labels)
    assert m["impostor_pairs"] == 160
    assert m["tar_at_far_1e-3"] is None and m["tar_at_far_1e-2"] is not None
    assert any("tar_at_far_1e-3" in n and "160 impostor pairs" in n for n in m["notes"])


def test_no_genuine_pairs_gives_no_metrics_and_says_why():
    m = verification_metrics(np.eye(4), [0, 1, 2, 3])
    assert m["roc_auc"] is None and m["genuine_pairs"] == 0
    assert "0 genuine" in m["notes"][0]


def metrics(auc: float | None, genuine: int = 100, impostor: int = 5000) -> dict:
    return {"roc_auc": auc, "genuine_pairs": genuine, "impostor_pairs": impostor}


def test_gate_promotes_a_clear_gain_and_reports_the_numbers():
    d = gate_decision(metrics(0.9300), metrics(0.9100))
    assert d.promote
    assert d.gain == pytest.approx(0.02)
    for number in ("0.9300", "0.9100", "+0.0200", "0.0050", "100 genuine", "5000 impostor"):
        assert number in d.reason


def test_gate_refuses_a_gain_below_the_minimum():
    d = gate_decision(metrics(0.9130), metrics(0.9100))
    assert not d.promote
    assert "0.9130" in d.reason and "+0.0030" in d.reason and "below" in d.reason


def test_gate_refuses_a_worse_candidate():
    d = gate_decision(metrics(0.80), metrics(0.91))
    assert not d.promote and "-0.1100" in d.reason


def test_gate_honours_metric_and_min_gain():
    candidate = {**metrics(0.90), "tar_at_far_1e-2": 0.70}
    incumbent = {**metrics(0.95), "tar_at_far_1e-2": 0.60}
    assert gate_decision(candidate, incumbent, metric="tar_at_far_1e-2").promote
    assert not gate_decision(candidate, incumbent, metric="tar_at_far_1e-2", min_gain=0.2).promote


def test_gate_refuses_undefined_metrics():
    d = gate_decision(metrics(None), metrics(0.9))
    assert not d.promote and "undefined" in d.reason


def test_gate_refuses_metrics_from_different_pairs():
    d = gate_decision(metrics(0.99, genuine=120), metrics(0.90, genuine=100))
    assert not d.promote and "not comparable" in d.reason
