"""Projection-head training core: learning, reproducibility, checkpoints, gate, devices."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime

import numpy as np
import pytest
import torch

from face_assets.identity.devices import DeviceUnavailableError, resolve_torch_device
from face_assets.identity.head_checkpoint import load_checkpoint, save_checkpoint
from face_assets.identity.projection import (
    EpochStats,
    TrainedHead,
    TrainingConfig,
    _PersonIndex,
    split_by_face,
    split_by_person,
    train_projection_head,
    triplet_loss,
)
from face_assets.identity.verification import gate_decision, verification_metrics

IDENTITY_DIMS = 32  # identity lives in a small subspace of the 512-d sphere
NUISANCE_DIMS = 4  # shared directions (pose, lighting) every person varies along
NUISANCE_SCALE = 1.5  # large enough that raw cosine confuses people
NOISE = 0.15  # isotropic jitter, total norm before normalising


def subspaces() -> tuple[np.ndarray, np.ndarray]:
    """Fixed (seed 123) identity and nuisance bases, shared by every synthetic person."""
    basis = np.linalg.qr(
        np.random.default_rng(123).normal(size=(512, IDENTITY_DIMS + NUISANCE_DIMS))
    )[0]
    return basis[:, :IDENTITY_DIMS], basis[:, IDENTITY_DIMS:]


def synthetic_faces(
    persons: int, faces: int, seed: int, first_label: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Unit 512-d embeddings whose identity is a subspace and whose nuisance is shared.

    Train and held-out persons share the subspaces, so a head can only generalise by
    learning to ignore the nuisance directions, not by memorising people.
    """
    identity, nuisance = subspaces()
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(persons, IDENTITY_DIMS))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(persons), faces)
    x = (
        centres[labels] @ identity.T
        + NUISANCE_SCALE * rng.normal(size=(len(labels), NUISANCE_DIMS)) @ nuisance.T
        + NOISE / np.sqrt(512) * rng.normal(size=(len(labels), 512))
    )
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), labels + first_label


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    x, y = synthetic_faces(20, 10, seed=1)
    vx, vy = synthetic_faces(10, 10, seed=2, first_label=100)
    return {"x": x, "y": y, "vx": vx, "vy": vy}


@pytest.fixture(scope="module")
def trained(data) -> TrainedHead:
    """Seed defaults throughout (margin 0.2, batch 32, 20 epochs, lr 1e-4, semi-hard)."""
    return train_projection_head(
        data["x"], data["y"], TrainingConfig(), val_embeddings=data["vx"], val_labels=data["vy"]
    )


# --- learning ------------------------------------------------------------------------------


def test_history_has_untrained_baseline_and_every_epoch(trained):
    assert [e.epoch for e in trained.history] == list(range(TrainingConfig().epochs + 1))
    assert all(e.val_loss is not None and e.seconds >= 0 for e in trained.history)


def test_training_reduces_validation_triplet_loss(trained):
    first, last = trained.history[0], trained.history[-1]
    assert last.loss < 0.5 * first.loss
    assert last.val_loss < 0.5 * first.val_loss


def test_head_improves_verification_of_unseen_persons(trained, data):
    raw = verification_metrics(data["vx"], data["vy"])
    head = verification_metrics(trained.project(data["vx"]), data["vy"])
    assert head["roc_auc"] > raw["roc_auc"] + 0.1


def test_on_epoch_sees_every_epoch(data):
    seen: list[EpochStats] = []
    head = train_projection_head(
        data["x"], data["y"], TrainingConfig(epochs=3), on_epoch=seen.append
    )
    assert seen == head.history
    assert [e.epoch for e in seen] == [0, 1, 2, 3]
    assert all(e.val_loss is None for e in seen)  # no validation set given


def test_project_returns_unit_float32_rows(trained, data):
    out = trained.project(data["vx"])
    assert out.dtype == np.float32 and out.shape == (len(data["vx"]), 128)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_project_rejects_wrong_width(trained):
    with pytest.raises(ValueError, match=r"shape \(n, 512\)"):
        trained.project(np.zeros((3, 128), dtype=np.float32))


# --- reproducibility -----------------------------------------------------------------------


def test_same_seed_gives_identical_weights(data):
    config = TrainingConfig(epochs=3)
    a = train_projection_head(data["x"], data["y"], config)
    b = train_projection_head(data["x"], data["y"], config)
    assert a.state_dict.keys() == b.state_dict.keys()
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    assert [e.loss for e in a.history] == [e.loss for e in b.history]


def test_different_seed_gives_different_weights(data):
    a = train_projection_head(data["x"], data["y"], TrainingConfig(epochs=1, seed=0))
    b = train_projection_head(data["x"], data["y"], TrainingConfig(epochs=1, seed=1))
    assert not torch.equal(a.state_dict["layers.0.weight"], b.state_dict["layers.0.weight"])


def test_training_leaves_global_rng_alone(data):
    torch.manual_seed(42)
    expected = torch.rand(3)
    torch.manual_seed(42)
    train_projection_head(data["x"], data["y"], TrainingConfig(epochs=1))
    assert torch.equal(torch.rand(3), expected)


# --- checkpoints ---------------------------------------------------------------------------


def test_checkpoint_round_trip_is_exact(trained, data, tmp_path):
    path = tmp_path / "heads" / "head.pt"
    metrics = verification_metrics(trained.project(data["vx"]), data["vy"])
    save_checkpoint(trained, path, {"embedding_pack": "buffalo_l", "metrics": metrics})
    loaded, meta = load_checkpoint(path)

    assert loaded.state_dict.keys() == trained.state_dict.keys()
    assert all(torch.equal(loaded.state_dict[k], trained.state_dict[k]) for k in loaded.state_dict)
    assert loaded.config == trained.config
    assert loaded.history == trained.history
    assert loaded.persons_used == trained.persons_used == list(range(20))
    assert (loaded.in_dim, loaded.out_dim) == (512, 128)
    np.testing.assert_array_equal(loaded.project(data["vx"]), trained.project(data["vx"]))

    assert meta["embedding_pack"] == "buffalo_l"
    assert meta["metrics"] == metrics
    assert meta["epoch"] == TrainingConfig().epochs
    assert meta["losses"] == [e.loss for e in trained.history]
    assert meta["val_losses"] == [e.val_loss for e in trained.history]
    assert meta["persons_used"] == trained.persons_used
    assert datetime.fromisoformat(meta["created_at"]).tzinfo is not None
    assert not list(tmp_path.glob("heads/*.partial"))


def test_checkpoint_refuses_metadata_weights_only_cannot_load(trained, tmp_path):
    with pytest.raises(TypeError, match="metadata"):
        save_checkpoint(trained, tmp_path / "h.pt", {"created_at": datetime.now()})
    assert not (tmp_path / "h.pt").exists()


def test_load_refuses_foreign_file(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a face_assets.projection_head"):
        load_checkpoint(tmp_path / "other.pt")


# --- promotion gate on real heads ----------------------------------------------------------


def pose_trained(x: np.ndarray) -> TrainedHead:
    """A head trained on the wrong signal: groups of similar pose instead of identities."""
    pose = x @ subspaces()[1][:, 0]
    groups = np.searchsorted(np.quantile(pose, np.linspace(0, 1, 11)[1:-1]), pose)
    return train_projection_head(x, groups, TrainingConfig())


def collapsed(head: TrainedHead) -> TrainedHead:
    """The triplet-loss failure mode: every face mapped to the same point."""
    state = {
        **head.state_dict,
        "layers.0.weight": torch.zeros_like(head.state_dict["layers.0.weight"]),
    }
    return replace(head, state_dict=state)


def test_gate_accepts_trained_head_and_refuses_worse_ones(trained, data):
    raw = verification_metrics(data["vx"], data["vy"])
    good = verification_metrics(trained.project(data["vx"]), data["vy"])

    accepted = gate_decision(good, raw)
    assert accepted.promote, accepted.reason
    assert (
        f"{good['roc_auc']:.4f}" in accepted.reason and f"{raw['roc_auc']:.4f}" in accepted.reason
    )

    for bad_head in (pose_trained(data["x"]), collapsed(trained)):
        bad = verification_metrics(bad_head.project(data["vx"]), data["vy"])
        refused = gate_decision(bad, raw)
        assert not refused.promote, refused.reason
        assert f"{bad['roc_auc']:.4f}" in refused.reason
        assert not gate_decision(bad, good).promote  # nor over a promoted incumbent
    assert not gate_decision(good, good).promote  # no gain, no promotion


# --- filtering and splits ------------------------------------------------------------------


def test_persons_with_too_few_faces_are_not_trained_on(data):
    x = np.concatenate([data["x"], data["vx"][:4]])
    y = np.concatenate([data["y"], np.full(4, 999)])  # person 999 has 4 < 5 faces
    head = train_projection_head(x, y, TrainingConfig(epochs=1))
    assert 999 not in head.persons_used
    assert head.persons_used == list(range(20))


def test_fewer_than_two_eligible_persons_is_refused(data):
    x, y = data["x"][:14], data["y"][:14]  # person 0: 10 faces, person 1: 4 faces
    with pytest.raises(ValueError, match=r"training set: 1 person\(s\) have >= 5 faces"):
        train_projection_head(x, y, TrainingConfig(epochs=1))


def test_too_small_validation_set_is_refused(data):
    with pytest.raises(ValueError, match="validation set"):
        train_projection_head(
            data["x"], data["y"], TrainingConfig(epochs=1),
            val_embeddings=data["vx"][:10], val_labels=data["vy"][:10],
        )  # fmt: skip


def test_labels_may_be_strings(data):
    names = np.array([f"person-{i:02d}" for i in data["y"]])
    head = train_projection_head(data["x"], names, TrainingConfig(epochs=1))
    assert head.persons_used[:2] == ["person-00", "person-01"]


def test_split_by_person_keeps_each_person_on_one_side():
    labels = np.repeat(np.arange(20), 7)
    train_idx, val_idx = split_by_person(labels, 0.25, seed=3)
    assert set(labels[train_idx]).isdisjoint(labels[val_idx])
    assert len(set(labels[val_idx])) == 5
    assert sorted(np.concatenate([train_idx, val_idx]).tolist()) == list(range(len(labels)))
    again = split_by_person(labels, 0.25, seed=3)
    assert np.array_equal(again[0], train_idx) and np.array_equal(again[1], val_idx)


def test_split_by_face_holds_out_a_share_of_each_person():
    labels = np.array([0] * 8 + [1] * 4 + [2] * 2 + [3])
    train_idx, val_idx = split_by_face(labels, 0.25, seed=3)
    assert np.bincount(labels[val_idx], minlength=4).tolist() == [2, 1, 1, 0]
    assert set(labels[train_idx]) == {0, 1, 2, 3}
    assert sorted(np.concatenate([train_idx, val_idx]).tolist()) == list(range(len(labels)))


def test_pk_batches_hold_distinct_persons_and_faces():
    labels = np.repeat(np.arange(12), [5, 6, 7, 8, 9, 10, 5, 6, 7, 8, 9, 10])
    index = _PersonIndex.of(labels)
    batches = index.pk_batches(np.random.default_rng(0), steps=50, p=8, k=4)
    assert batches.shape == (50, 32)
    for row in batches:
        assert len(set(row.tolist())) == 32
        persons, counts = np.unique(labels[row], return_counts=True)
        assert len(persons) == 8 and set(counts.tolist()) == {4}


# --- triplet mining ------------------------------------------------------------------------


def looped_triplet_loss(z: torch.Tensor, labels: torch.Tensor, margin: float, mining: str):
    """The definition, one triplet at a time, to check the vectorised miner against."""
    d = (2 - 2 * z @ z.T).clamp_min(0)
    n, losses = len(labels), []
    for a, p in itertools.permutations(range(n), 2):
        if labels[a] != labels[p]:
            continue
        negatives = [m for m in range(n) if labels[m] != labels[a]]
        if mining == "batch-all":
            losses += [max(0.0, margin + d[a, p] - d[a, m]) for m in negatives]
            continue
        semi = [d[a, m] for m in negatives if d[a, p] < d[a, m] < d[a, p] + margin]
        chosen = min(semi) if semi else min(d[a, m] for m in negatives)
        losses.append(max(0.0, margin + d[a, p] - chosen))
    return sum(float(v) for v in losses) / len(losses)


@pytest.mark.parametrize("mining", ["semi-hard", "batch-all"])
def test_vectorised_mining_matches_definition(mining):
    gen = torch.Generator().manual_seed(0)
    z = torch.nn.functional.normalize(torch.randn(16, 8, generator=gen), dim=1)
    labels = torch.arange(4).repeat_interleave(4)
    expected = looped_triplet_loss(z, labels, 0.5, mining)
    assert float(triplet_loss(z, labels, 0.5, mining)) == pytest.approx(expected, rel=1e-5)


def test_triplet_loss_is_zero_when_persons_are_separated_by_the_margin():
    z = torch.eye(4).repeat_interleave(3, dim=0)  # 4 persons, identical faces, orthogonal
    labels = torch.arange(4).repeat_interleave(3)
    assert float(triplet_loss(z, labels, 0.2)) == 0.0


def test_config_rejects_unknown_mining_and_impossible_batches():
    with pytest.raises(ValueError, match="mining"):
        TrainingConfig(mining="hardest")
    with pytest.raises(ValueError, match="batch_size"):
        TrainingConfig(batch_size=4)
    with pytest.raises(ValueError, match="min_faces_per_person"):
        TrainingConfig(min_faces_per_person=3)


# --- devices -------------------------------------------------------------------------------


def test_cpu_resolves():
    assert resolve_torch_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "cuda:7"])
def test_cuda_without_cuda_names_what_was_asked_and_what_exists(spec):
    with pytest.raises(DeviceUnavailableError) as raised:
        resolve_torch_device(spec)
    message = str(raised.value)
    assert repr(spec) in message
    assert "torch.cuda.is_available() is False" in message
    assert torch.__version__ in message


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA path")
def test_training_on_missing_cuda_fails_instead_of_using_cpu(data):
    with pytest.raises(DeviceUnavailableError):
        train_projection_head(data["x"], data["y"], TrainingConfig(epochs=1), device="cuda")


def test_out_of_range_cuda_index_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(DeviceUnavailableError, match=r"'cuda:7' requested but only 1 CUDA device"):
        resolve_torch_device("cuda:7")
    assert resolve_torch_device("cuda:0") == torch.device("cuda", 0)


@pytest.mark.parametrize("spec", ["tpu", "gpu", "cuda:x", "cpu:1", "mps", ""])
def test_other_device_strings_are_value_errors(spec):
    with pytest.raises(ValueError, match="unsupported device"):
        resolve_torch_device(spec)
