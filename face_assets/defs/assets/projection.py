"""projection_head: a triplet-loss head over frozen ArcFace embeddings, and its gate."""

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)
from pydantic import Field, NonNegativeInt, PositiveFloat

from face_assets.defs.assets.faces import face_embeddings, face_quality
from face_assets.defs.assets.identities import person_labels
from face_assets.defs.deployment import MODEL_OP_TAGS, TRAINING_RUN_TAG
from face_assets.defs.resources import FaceModelsResource, FaceStoreResource
from face_assets.services import training

_TRAINING = training.TrainingConfig()  # the service's defaults (the seed's), in the Launchpad


class TrainingRunConfig(Config):
    epochs: NonNegativeInt = Field(
        default=_TRAINING.epochs, description="passes over the labelled faces"
    )
    margin: PositiveFloat = Field(
        default=_TRAINING.margin,
        description="triplet margin (squared distance between unit vectors)",
    )
    batch_size: int = Field(
        default=_TRAINING.batch_size, ge=4, description="faces per optimiser step"
    )
    faces_per_person_in_batch: int = Field(
        default=_TRAINING.faces_per_person_in_batch,
        description="faces of each person in a batch (batch_size / this = persons per batch)",
    )
    learning_rate: PositiveFloat = Field(
        default=_TRAINING.learning_rate, description="Adam's learning rate"
    )
    min_faces_per_person: int = Field(
        default=_TRAINING.min_faces_per_person,
        ge=2,
        description="human-labelled faces a person needs to be trained on",
    )
    validation_share: float = Field(
        default=_TRAINING.validation_share,
        gt=0.0,
        lt=1.0,
        description="share of persons held out to judge the head (the gate's figures)",
    )
    mining: str = Field(default=_TRAINING.mining, description="semi-hard or batch-all")
    seed: int = Field(
        default=_TRAINING.seed, description="random seed: a rerun gives the same head"
    )

    def training_config(self) -> training.TrainingConfig:
        # The same fields by name: a field added here but not there fails loudly.
        return training.TrainingConfig(**self.model_dump())


def _metrics_table(found: dict) -> str:
    spaces = [s for s in ("raw", "projected") if s in found]
    keys = ("roc_auc", "tar_at_far_1e-3", "tar_at_far_1e-2", "bcubed_f1")
    lines = ["| metric | " + " | ".join(spaces) + " |", "| --- |" + " ---: |" * len(spaces)]
    for key in keys:
        cells = []
        for space in spaces:
            value = found[space].get(key)
            cells.append("n/a" if value is None else f"{value:.4f}")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _curve_table(history: list[dict]) -> str:
    lines = ["| epoch | loss | val_loss | seconds |", "| ---: | ---: | ---: | ---: |"]
    for h in history:
        val = "-" if h["val_loss"] is None else f"{h['val_loss']:.4f}"
        lines.append(f"| {h['epoch']} | {h['loss']:.4f} | {val} | {h['seconds']:.3f} |")
    return "\n".join(lines)


@asset(
    deps=[person_labels, face_embeddings, face_quality],
    group_name="models",
    kinds={"pytorch"},
    op_tags={**MODEL_OP_TAGS, TRAINING_RUN_TAG: "true"},
    description="A d->256->128 MLP (d: the pack's width) trained with triplet loss on labelled"
    " people (the pack's embeddings frozen), split by person; saved as a versioned checkpoint."
    " The blocking gate check promotes it only if it beats the current head (or raw"
    " embeddings) on held-out people.",
)
def projection_head(
    context: AssetExecutionContext,
    config: TrainingRunConfig,
    face_models: FaceModelsResource,
    store: FaceStoreResource,
) -> MaterializeResult:
    outcome = training.train_candidate(
        store.get(),
        face_models.pack,
        config.training_config(),
        face_models.torch_device(),
        log=context.log.info,
    )
    found = outcome.metrics
    return MaterializeResult(
        metadata={
            "head_id": outcome.head_id,
            "checkpoint": MetadataValue.path(str(outcome.checkpoint)),
            "device": outcome.device,
            "persons_trained": outcome.persons_train,
            "persons_held_out": outcome.persons_heldout,
            "faces": outcome.faces,
            "held_out_metrics": MetadataValue.md(_metrics_table(found)),
            "gate_basis": found["gate"]["basis"],
            "known_person_accuracy_raw": found["known_person_accuracy_raw"],
            "known_person_accuracy_projected": found["known_person_accuracy_projected"],
            "training_curve": MetadataValue.md(_curve_table(outcome.history)),
            "final_loss": outcome.history[-1]["loss"],
            "seconds_per_epoch": round(outcome.seconds_per_epoch, 4),
            "calibrated_threshold": round(outcome.threshold, 4),
            "model_pack": face_models.pack,
        }
    )


@asset_check(
    asset=projection_head,
    blocking=True,
    description="Promote the new head only if it beats the promoted head (or the raw"
    " embeddings) on held-out persons by the minimum gain; otherwise keep the previous one.",
)
def projection_head_gate(
    face_models: FaceModelsResource, store: FaceStoreResource
) -> AssetCheckResult:
    decided = training.gate_latest(store.get(), face_models.pack)
    if decided is None:
        return AssetCheckResult(passed=False, metadata={"reason": "no candidate head to judge"})
    decision, head_id = decided
    return AssetCheckResult(
        passed=decision.promote,
        description=decision.reason,
        metadata={
            "head_id": head_id,
            "promoted": decision.promote,
            "reason": decision.reason,
            "metric": decision.metric,
            "candidate": decision.candidate_value,
            "incumbent": decision.incumbent_value,
            "gain": decision.gain,
            "min_gain": decision.min_gain,
        },
    )


ASSETS = [projection_head]
CHECKS = [projection_head_gate]
