"""Projection heads: a small MLP trained with triplet loss on top of frozen ArcFace embeddings.

ArcFace vectors are generic; a head trained on this library's confirmed identities can push
apart people that ArcFace confuses here (relatives, one camera's lighting) without
re-running the detector or the embedder. Everything in this module is pure: arrays in,
arrays and tensors out, no Dagster and no SQL, so it can be tested and benchmarked alone.

Batches are P x K: ``P = batch_size // faces_per_person_in_batch`` persons with K faces
each, so every face in a batch has positives and negatives, and triplets are mined inside
the batch with tensor ops (no per-sample Python loops). A trained head's file on disk is
head_checkpoint.py's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from face_assets.identity.devices import resolve_torch_device

# The input width is the pack's embedding width (vision/packs.py), read from the embeddings.
HIDDEN_DIM = 256  # seed architecture: Linear(512->256), ReLU
OUT_DIM = 128  # seed architecture: Linear(256->128), then L2 normalise

DEFAULT_MARGIN = 0.2  # seed value; squared distance between unit vectors, as in FaceNet
DEFAULT_BATCH_SIZE = 32  # seed value; faces per optimiser step (P x K)
DEFAULT_FACES_PER_PERSON_IN_BATCH = 4  # K: 32 = 8 persons x 4 faces, and 4 <= min faces
DEFAULT_EPOCHS = 20  # seed value
DEFAULT_LEARNING_RATE = 1e-4  # seed value (Adam)
DEFAULT_MIN_FACES_PER_PERSON = 5  # seed value: fewer faces give too few positives to learn from
DEFAULT_SEED = 0  # one fixed seed so a rerun reproduces the promoted head
DEFAULT_VALIDATION_SHARE = 0.25  # a quarter of persons held out: enough pairs to rank heads
DEFAULT_MINING = "semi-hard"  # seed value; avoids the collapse hardest-negative mining invites
MINING_STRATEGIES = ("semi-hard", "batch-all")  # the two miners triplet_loss implements
PROJECT_BATCH_SIZE = 8192  # rows per forward pass in project(): bounded memory, few calls


class ProjectionHead(nn.Module):
    """Linear(in_dim->256), ReLU, Linear(256->128), L2 normalise (in_dim: the pack's width).

    Output rows are unit vectors so downstream code keeps using cosine = dot product, exactly
    as with raw ArcFace embeddings.
    """

    def __init__(self, in_dim: int, hidden_dim: int = HIDDEN_DIM, out_dim: int = OUT_DIM):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, out_dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.layers(x), dim=1)


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters of one training run; stored in every checkpoint (head_checkpoint.py).

    ``batch_size`` is the number of faces per optimiser step, drawn as P x K: P =
    batch_size // faces_per_person_in_batch distinct persons, K faces of each (without
    repeats). Every face in the batch is an anchor. One epoch is ceil(training faces /
    batch_size) steps, i.e. each face is seen about once per epoch.

    ``validation_share`` is the share of PERSONS the caller holds out with
    ``split_by_person(labels, validation_share, seed)``; training itself does not split, so the
    caller knows exactly which persons the promotion gate is evaluated on.
    """

    margin: float = DEFAULT_MARGIN
    batch_size: int = DEFAULT_BATCH_SIZE
    faces_per_person_in_batch: int = DEFAULT_FACES_PER_PERSON_IN_BATCH
    epochs: int = DEFAULT_EPOCHS
    learning_rate: float = DEFAULT_LEARNING_RATE
    min_faces_per_person: int = DEFAULT_MIN_FACES_PER_PERSON
    seed: int = DEFAULT_SEED
    validation_share: float = DEFAULT_VALIDATION_SHARE
    mining: str = DEFAULT_MINING

    def __post_init__(self) -> None:
        k = self.faces_per_person_in_batch
        if self.mining not in MINING_STRATEGIES:
            raise ValueError(f"mining must be one of {MINING_STRATEGIES}, got {self.mining!r}")
        if self.margin <= 0:
            raise ValueError(f"margin must be > 0, got {self.margin}")
        if k < 2:
            raise ValueError(f"faces_per_person_in_batch must be >= 2 for positives, got {k}")
        if self.batch_size < 2 * k:
            raise ValueError(
                f"batch_size {self.batch_size} must hold >= 2 persons x {k} faces for negatives"
            )
        if self.min_faces_per_person < k:
            raise ValueError(
                f"min_faces_per_person ({self.min_faces_per_person}) must be >= "
                f"faces_per_person_in_batch ({k}) so every sampled person fills its slots"
            )
        if self.epochs < 0:
            raise ValueError(f"epochs must be >= 0, got {self.epochs}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0.0 <= self.validation_share < 1.0:
            raise ValueError(f"validation_share must be in [0, 1), got {self.validation_share}")

    @property
    def persons_per_batch(self) -> int:
        """P of P x K; batch_size is rounded down to a multiple of K."""
        return self.batch_size // self.faces_per_person_in_batch


@dataclass(frozen=True)
class EpochStats:
    """One point of the training curve; epoch 0 is the untrained head, the baseline."""

    epoch: int
    loss: float
    val_loss: float | None
    seconds: float


@dataclass
class TrainedHead:
    """The result of training: weights on the CPU plus what is needed to trust and reuse them."""

    state_dict: dict[str, torch.Tensor]
    config: TrainingConfig
    history: list[EpochStats]
    persons_used: list[Any]
    in_dim: int
    out_dim: int = OUT_DIM
    hidden_dim: int = HIDDEN_DIM

    def module(self, device: str = "cpu") -> ProjectionHead:
        """An eval-mode module carrying these weights, for callers that project tensors."""
        model = ProjectionHead(self.in_dim, self.hidden_dim, self.out_dim)
        model.load_state_dict(self.state_dict)
        return model.to(resolve_torch_device(device)).eval()

    def project(self, embeddings: np.ndarray, device: str = "cpu") -> np.ndarray:
        """Project in bounded-size batches so a whole library fits through without OOM."""
        x = _as_embedding_matrix(embeddings, self.in_dim)
        model = self.module(device)
        target = next(model.parameters()).device
        out = np.empty((x.shape[0], self.out_dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, x.shape[0], PROJECT_BATCH_SIZE):
                chunk = torch.from_numpy(x[start : start + PROJECT_BATCH_SIZE]).to(target)
                out[start : start + chunk.shape[0]] = model(chunk).cpu().numpy()
        return out


def _as_embedding_matrix(embeddings: np.ndarray, in_dim: int) -> np.ndarray:
    """Fail on shape or NaN here, where the message can say which input was wrong."""
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != in_dim:
        raise ValueError(f"embeddings must have shape (n, {in_dim}), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("embeddings contain NaN or infinite values")
    return x


def split_by_person(
    labels: Sequence[Any], validation_share: float, seed: int = DEFAULT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Return (train_idx, val_idx) with every person entirely on one side.

    Holding out whole persons makes validation measure what the head is for: separating
    people it never saw. At least one person lands on each side when 0 < share < 1.
    """
    if not 0.0 <= validation_share < 1.0:
        raise ValueError(f"validation_share must be in [0, 1), got {validation_share}")
    persons, codes = np.unique(np.asarray(labels), return_inverse=True)
    n_persons = len(persons)
    n_val = round(validation_share * n_persons)
    if validation_share > 0 and n_persons >= 2:
        n_val = min(max(n_val, 1), n_persons - 1)
    rng = np.random.default_rng(seed)
    held_out = np.zeros(n_persons, dtype=bool)
    held_out[rng.permutation(n_persons)[:n_val]] = True
    is_val = held_out[codes]
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def split_by_face(
    labels: Sequence[Any], validation_share: float, seed: int = DEFAULT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Return (train_idx, val_idx) holding out a share of each person's faces.

    This is the known-person report: how well the head recognises new photos of people it
    was trained on. Each person with >= 2 faces keeps at least one face on each side; a
    person with a single face stays in training.
    """
    if not 0.0 <= validation_share < 1.0:
        raise ValueError(f"validation_share must be in [0, 1), got {validation_share}")
    _, codes = np.unique(np.asarray(labels), return_inverse=True)
    counts = np.bincount(codes)
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(codes)), codes))  # faces grouped by person, shuffled
    first_of_person = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(len(codes)) - first_of_person[codes[order]]
    n_hold = np.round(validation_share * counts).astype(np.int64)
    if validation_share > 0:
        n_hold = np.maximum(n_hold, 1)
    n_hold = np.minimum(n_hold, counts - 1)
    is_val = np.zeros(len(codes), dtype=bool)
    is_val[order] = rank < n_hold[codes[order]]
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def triplet_loss(
    z: torch.Tensor, labels: torch.Tensor, margin: float, mining: str = DEFAULT_MINING
) -> torch.Tensor:
    """Mean of max(0, margin + d(a,p) - d(a,n)) over the triplets mined in this batch.

    d is the squared Euclidean distance between unit rows (2 - 2 cos, smooth everywhere,
    FaceNet's choice for margin 0.2). Every anchor-positive pair in the batch is used.

    - "semi-hard": per (a, p), the closest negative that is farther than p but within the
      margin (informative without the collapse hardest-negative mining causes early on);
      when none exists, the hardest (closest) negative, so hard cases still give gradient.
    - "batch-all": every valid (a, p, n); the mean includes the already-satisfied ones.
    """
    n = z.shape[0]
    d = (2.0 - 2.0 * z @ z.T).clamp_min(0.0)
    same = labels[:, None] == labels[None, :]
    positive = same & ~torch.eye(n, dtype=torch.bool, device=z.device)  # [a, p]
    negative = ~same  # [a, n]
    if not positive.any() or not negative.any():
        raise ValueError("a triplet batch needs >= 2 persons and >= 2 faces of some person")
    d_ap = d[:, :, None]  # [a, p, 1]
    d_an = d[:, None, :]  # [a, 1, n]
    if mining == "batch-all":
        valid = positive[:, :, None] & negative[:, None, :]
        return (margin + d_ap - d_an).clamp_min(0.0)[valid].mean()
    if mining != "semi-hard":
        raise ValueError(f"mining must be one of {MINING_STRATEGIES}, got {mining!r}")
    semi_hard = negative[:, None, :] & (d_an > d_ap) & (d_an < d_ap + margin)  # [a, p, n]
    semi_hard_d = d_an.expand_as(semi_hard).masked_fill(~semi_hard, math.inf).amin(dim=2)
    hardest_d = d.masked_fill(~negative, math.inf).amin(dim=1, keepdim=True)  # [a, 1]
    chosen = torch.where(semi_hard.any(dim=2), semi_hard_d, hardest_d)  # [a, p]
    return (margin + d - chosen).clamp_min(0.0)[positive].mean()


@dataclass
class _PersonIndex:
    """Faces grouped by person as a padded matrix, so P x K sampling is one argsort."""

    faces: np.ndarray  # [persons, max_faces] face indices, -1 padded
    counts: np.ndarray  # [persons]
    codes: np.ndarray  # [faces] person code of each face
    persons: list[Any] = field(default_factory=list)

    @classmethod
    def of(cls, labels: np.ndarray) -> _PersonIndex:
        persons, codes = np.unique(labels, return_inverse=True)
        counts = np.bincount(codes, minlength=len(persons))
        order = np.argsort(codes, kind="stable")
        rank = np.arange(len(codes)) - np.concatenate(([0], np.cumsum(counts)[:-1]))[codes[order]]
        faces = np.full((len(persons), int(counts.max())), -1, dtype=np.int64)
        faces[codes[order], rank] = order
        return cls(faces=faces, counts=counts, codes=codes, persons=persons.tolist())

    def pk_batches(self, rng: np.random.Generator, steps: int, p: int, k: int) -> np.ndarray:
        """[steps, p * k] face indices: p distinct persons per step, k distinct faces each."""
        n_persons, max_faces = self.faces.shape
        chosen = rng.random((steps, n_persons)).argsort(axis=1)[:, :p]  # [steps, p]
        keys = rng.random((steps, p, max_faces))
        keys[np.arange(max_faces) >= self.counts[chosen][:, :, None]] = np.inf  # skip padding
        slots = keys.argsort(axis=2)[:, :, :k]  # [steps, p, k]
        return self.faces[chosen[:, :, None], slots].reshape(steps, p * k)


def _persons_with_enough_faces(labels: np.ndarray, min_faces: int) -> np.ndarray:
    """Indices of faces whose person has >= min_faces faces."""
    _, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return np.flatnonzero(counts[codes] >= min_faces)


def _prepared(
    embeddings: np.ndarray,
    labels: Sequence[Any],
    min_faces: int,
    what: str,
    in_dim: int | None = None,
) -> tuple[np.ndarray, _PersonIndex]:
    """Filter to persons with enough faces, refusing sets too small to form triplets.
    in_dim None takes the embeddings' own width (any pack's)."""
    width = np.asarray(embeddings).shape[-1] if in_dim is None else in_dim
    x = _as_embedding_matrix(embeddings, width)
    y = np.asarray(labels)
    if y.shape != (x.shape[0],):
        raise ValueError(f"{what}: {x.shape[0]} embeddings but labels of shape {y.shape}")
    keep = _persons_with_enough_faces(y, min_faces)
    n_persons = len(np.unique(y[keep]))
    if n_persons < 2:
        raise ValueError(
            f"{what}: {n_persons} person(s) have >= {min_faces} faces "
            f"(min_faces_per_person), need >= 2 to form triplets"
        )
    return x[keep], _PersonIndex.of(y[keep])


class _TripletSet:
    """One filtered face set resident on the device, with its own sampling stream."""

    def __init__(
        self, x: np.ndarray, index: _PersonIndex, config: TrainingConfig, device: torch.device
    ):
        self.x = torch.from_numpy(x).to(device)
        self.y = torch.from_numpy(index.codes).to(device)
        self.index = index
        self.p = min(config.persons_per_batch, len(index.persons))
        self.k = config.faces_per_person_in_batch
        self.steps = max(1, math.ceil(x.shape[0] / (self.p * self.k)))
        self.device = device

    def batches(self, rng: np.random.Generator) -> torch.Tensor:
        return torch.from_numpy(self.index.pk_batches(rng, self.steps, self.p, self.k)).to(
            self.device
        )

    def loss(self, model: nn.Module, batches: torch.Tensor, config: TrainingConfig) -> float:
        """Mean loss over fixed batches without updating: comparable from epoch to epoch."""
        model.eval()
        with torch.no_grad():
            total = sum(
                triplet_loss(model(self.x[b]), self.y[b], config.margin, config.mining)
                for b in batches
            )
        model.train()
        return float(total) / len(batches)


def train_projection_head(
    embeddings: np.ndarray,
    labels: Sequence[Any],
    config: TrainingConfig | None = None,
    device: str = "cpu",
    val_embeddings: np.ndarray | None = None,
    val_labels: Sequence[Any] | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> TrainedHead:
    """Train a ProjectionHead with triplet loss; same inputs and seed give the same weights.

    Embeddings and labels are moved to the device once; each epoch only ships a small index
    tensor. history[0] is the untrained head (epoch 0) so every curve has its baseline.
    Validation loss uses the same mining over fixed, seeded batches of the validation
    persons, so its changes come from the weights and not from resampling.
    """
    config = config or TrainingConfig()
    target = resolve_torch_device(device)
    x, index = _prepared(embeddings, labels, config.min_faces_per_person, "training set")
    train = _TripletSet(x, index, config, target)
    val: _TripletSet | None = None
    if (val_embeddings is None) != (val_labels is None):
        raise ValueError("pass both val_embeddings and val_labels, or neither")
    if val_embeddings is not None and val_labels is not None:
        vx, vindex = _prepared(
            val_embeddings, val_labels, config.min_faces_per_person, "validation set", x.shape[1]
        )
        val = _TripletSet(vx, vindex, config, target)

    with torch.random.fork_rng(devices=[]):  # seed the init without touching global RNG state
        torch.manual_seed(config.seed)
        model = ProjectionHead(x.shape[1]).to(target)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    train_rng = np.random.default_rng([config.seed, 0])
    train_probe = train.batches(np.random.default_rng([config.seed, 1]))
    val_batches = val.batches(np.random.default_rng([config.seed, 2])) if val else None

    history: list[EpochStats] = []

    def record(epoch: int, loss: float, started: float) -> None:
        val_loss = val.loss(model, val_batches, config) if val and val_batches is not None else None
        stats = EpochStats(epoch, loss, val_loss, time.perf_counter() - started)
        history.append(stats)
        if on_epoch is not None:
            on_epoch(stats)

    started = time.perf_counter()
    record(0, train.loss(model, train_probe, config), started)
    model.train()
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        total = torch.zeros((), device=target)
        for batch in train.batches(train_rng):
            loss = triplet_loss(model(train.x[batch]), train.y[batch], config.margin, config.mining)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()  # stays on the device: one sync per epoch, not per step
        record(epoch, float(total) / train.steps, started)

    return TrainedHead(
        state_dict={k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        config=config,
        history=history,
        persons_used=index.persons,
        in_dim=x.shape[1],
    )
