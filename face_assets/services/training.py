"""Training, evaluating and gating projection heads on the labelled people in the store.

Training data: human-labelled faces (quality >= defaults.QUALITY_GATE) of active persons with
enough faces. Persons are split into training and held-out persons, so the gate measures how
the head separates people it has never seen; a share of each training person's faces is also
held out to report known-person accuracy. A head is promoted only if, on the held-out persons,
it beats the promoted head (or the raw ArcFace embeddings) by a margin.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from face_assets.defaults import QUALITY_GATE
from face_assets.identity import head_checkpoint, projection, verification
from face_assets.identity.devices import resolve_torch_device
from face_assets.identity.evaluation import (
    known_person_accuracy,
    matching_threshold,
    space_metrics,
)
from face_assets.store import Store, face_sets
from face_assets.store import heads as head_store
from face_assets.vision.packs import embedding_dim, person_threshold

GATE_METRIC = verification.DEFAULT_GATE_METRIC  # ROC AUC: defined even on small held-out sets
GATE_MIN_GAIN = verification.DEFAULT_MIN_GAIN
KNOWN_PERSON_SHARE = 0.2  # faces of each training person kept back for the known-person report

TrainingConfig = projection.TrainingConfig  # what train_candidate takes (seed defaults)
Log = Callable[[str], None]


@dataclass
class TrainingData:
    labels: np.ndarray  # person id per face
    embeddings: np.ndarray


def labelled_faces(store: Store, pack: str, min_quality: float) -> TrainingData:
    with store.transaction() as conn:
        grouped = face_sets.human_face_sets(conn, pack)
    labels, rows = [], []
    for person_id, faces in sorted(grouped.items()):
        keep = [i for i, q in enumerate(faces.qualities) if q >= min_quality]
        labels.extend([person_id] * len(keep))
        rows.extend(faces.embeddings[i] for i in keep)
    embeddings = np.vstack(rows) if rows else np.zeros((0, embedding_dim(pack)), dtype=np.float32)
    return TrainingData(np.asarray(labels), embeddings)


def _enough(labels: np.ndarray, min_faces: int) -> np.ndarray:
    persons, counts = np.unique(labels, return_counts=True)
    return persons[counts >= min_faces]


def _known_person_split(
    labels: np.ndarray, config: projection.TrainingConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Hold back faces only of persons who keep min_faces_per_person for training."""
    persons, counts = np.unique(labels, return_counts=True)
    roomy = np.isin(labels, persons[counts > config.min_faces_per_person])
    fit = np.flatnonzero(~roomy)
    if not roomy.any():
        return fit, np.zeros(0, dtype=np.int64)
    sub = np.flatnonzero(roomy)
    kept, held = projection.split_by_face(labels[sub], KNOWN_PERSON_SHARE, config.seed)
    still = np.unique(labels[sub][kept], return_counts=True)
    too_few = still[0][still[1] < config.min_faces_per_person]
    back = np.isin(labels[sub][held], too_few)  # never push a person below the minimum
    return (
        np.sort(np.concatenate([fit, sub[kept], sub[held][back]])),
        np.sort(sub[held][~back]),
    )


@dataclass
class TrainingOutcome:
    head_id: int
    checkpoint: Path
    persons_train: int
    persons_heldout: int
    faces: int
    metrics: dict
    history: list[dict]
    seconds_per_epoch: float
    threshold: float
    device: str
    training_faces: int = 0  # faces the head was fitted on
    validation_faces: int = 0  # faces of the held-out persons (the gate's evidence)


def training_fields(**given: float | int | None) -> dict:
    """The given TrainingConfig fields (None = the default), with the faces per person in a
    batch lowered to min_faces_per_person when a caller asks for fewer (seed 002 allows 2)."""
    fields = {k: v for k, v in given.items() if v is not None}
    k = TrainingConfig().faces_per_person_in_batch
    if fields.get("min_faces_per_person", k) < k:
        fields["faces_per_person_in_batch"] = fields["min_faces_per_person"]
    return fields


def train_and_gate(
    store: Store, pack: str, config: projection.TrainingConfig, device: str = "cpu"
) -> tuple[TrainingOutcome, verification.GateDecision]:
    """Train a candidate and let the gate decide it at once (the Dagster job's two steps,
    for foreground callers)."""
    outcome = train_candidate(store, pack, config, device)
    decided = gate_latest(store, pack)
    assert decided is not None and decided[1] == outcome.head_id
    return outcome, decided[0]


def train_candidate(
    store: Store,
    pack: str,
    config: projection.TrainingConfig,
    device: str,
    raw_threshold: float | None = None,
    log: Log | None = None,
) -> TrainingOutcome:
    """Train a head on the store's labels and record it as a candidate with its metrics. Its
    threshold is calibrated to the false-accept rate of `raw_threshold` (default: the pack's)."""
    resolve_torch_device(device)  # fail before any work when the device is not there
    raw_threshold = person_threshold(pack) if raw_threshold is None else raw_threshold
    data = labelled_faces(store, pack, QUALITY_GATE)
    eligible = _enough(data.labels, config.min_faces_per_person)
    if len(eligible) < 4:
        raise ValueError(
            f"training needs at least 4 persons with >= {config.min_faces_per_person} labelled"
            f" faces of quality >= {QUALITY_GATE} (2 to train, 2 to hold out); the store has"
            f" {len(eligible)}. Label more clusters, or lower min_faces_per_person."
        )
    mask = np.isin(data.labels, eligible)
    x, y = data.embeddings[mask], data.labels[mask]
    train_idx, heldout_idx = projection.split_by_person(y, config.validation_share, config.seed)
    fit_idx, known_idx = _known_person_split(y[train_idx], config)
    fit_x, fit_y = x[train_idx][fit_idx], y[train_idx][fit_idx]
    known_x, known_y = x[train_idx][known_idx], y[train_idx][known_idx]
    held_x, held_y = x[heldout_idx], y[heldout_idx]

    def on_epoch(stats: projection.EpochStats) -> None:
        if log:
            val = "-" if stats.val_loss is None else f"{stats.val_loss:.4f}"
            log(
                f"epoch {stats.epoch}/{config.epochs}: loss={stats.loss:.4f} val_loss={val}"
                f" ({stats.seconds:.2f}s)"
            )

    started = time.perf_counter()
    head = projection.train_projection_head(
        fit_x,
        fit_y,
        config,
        device=device,
        val_embeddings=held_x,
        val_labels=held_y,
        on_epoch=on_epoch,
    )
    train_seconds = time.perf_counter() - started
    projected_held = head.project(held_x)
    found = {
        "raw": space_metrics(held_x, held_y),
        "projected": space_metrics(projected_held, held_y),
        "known_person_accuracy_raw": known_person_accuracy(fit_x, fit_y, known_x, known_y),
        "known_person_accuracy_projected": known_person_accuracy(
            head.project(fit_x), fit_y, head.project(known_x), known_y
        ),
    }
    found["gate"] = _gate_inputs(store, pack, head, held_x, held_y, found)
    threshold = matching_threshold(held_x, projected_held, held_y, raw_threshold)
    history = [asdict(s) for s in head.history]
    rel_path = f"models/projection_{pack}_{int(time.time() * 1000)}.pt"
    checkpoint = store.home_path / rel_path
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    head_checkpoint.save_checkpoint(
        head, checkpoint, {"pack": pack, "device": device, "threshold": threshold}
    )
    with store.transaction() as conn:
        head_id = head_store.add_candidate(
            conn,
            pack,
            rel_path,
            device,
            len(np.unique(fit_y)),
            len(fit_y),
            threshold,
            _plain(found),
            history,
            _plain(asdict(config)),
            # Every person whose faces trained, validated or calibrated it: forgetting any of
            # them retires the head (services/labels.py).
            person_ids=[int(v) for v in np.unique(y)],
        )
    epochs = max(config.epochs, 1)
    return TrainingOutcome(
        head_id,
        checkpoint,
        len(np.unique(fit_y)),
        len(np.unique(held_y)),
        len(y),
        found,
        history,
        train_seconds / epochs,
        threshold,
        device,
        len(fit_y),
        len(held_y),
    )


def _gate_inputs(
    store: Store,
    pack: str,
    head: projection.TrainedHead,
    held_x: np.ndarray,
    held_y: np.ndarray,
    found: dict,
) -> dict:
    """What the gate compares: the candidate against the promoted head on held-out persons
    the promoted head never trained on (else it would be judged on its own training data),
    or against raw ArcFace on all held-out persons when there is no usable incumbent."""
    with store.transaction() as conn:
        incumbent = head_store.promoted(conn, pack)
    if incumbent is not None:
        previous, _ = head_checkpoint.load_checkpoint(store.home_path / incumbent.checkpoint_path)
        unseen = ~np.isin(held_y, np.asarray(previous.persons_used))
        if len(np.unique(held_y[unseen])) >= 2:
            x, y = held_x[unseen], held_y[unseen]
            return {
                "basis": f"head-{incumbent.id}",
                "candidate": space_metrics(head.project(x), y),
                "incumbent": space_metrics(previous.project(x), y),
            }
    return {"basis": "raw", "candidate": found["projected"], "incumbent": found["raw"]}


def _plain(value):
    """JSON-safe copy (numpy scalars, float keys) for jsonb columns."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def gate_latest(
    store: Store, pack: str, metric: str = GATE_METRIC, min_gain: float = GATE_MIN_GAIN
) -> tuple[verification.GateDecision, int] | None:
    """Decide the newest candidate: promote it if it beats the incumbent (or raw) on held-out
    persons by min_gain; otherwise reject it and keep the previous head."""
    with store.transaction() as conn:
        candidate = head_store.latest_candidate(conn, pack)
        if candidate is None:
            return None
        gate = candidate.metrics["gate"]
        decision = verification.gate_decision(
            gate["candidate"], gate["incumbent"], metric, min_gain
        )
        head_store.decide(conn, candidate.id, decision.promote, decision.reason)
    return decision, candidate.id
