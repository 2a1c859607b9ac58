"""Projection heads on real labelled faces: training through Dagster, the gate, assignment."""

from __future__ import annotations

import warnings

import pytest
from dagster import RunConfig, materialize

from face_assets.defs.assets.projection import TrainingRunConfig, projection_head_gate
from face_assets.defs.resources import FaceModelsResource, PhotoLibraryResource
from face_assets.identity import evaluation, head_checkpoint, verification
from face_assets.services import labels, training
from face_assets.store import heads as head_store
from face_assets_tests.defs.assets.helpers import store_resource
from face_assets_tests.defs.assets.test_identities import _labelled_faces, _materialize, _months

PACK = "buffalo_s"
SMALL = TrainingRunConfig(epochs=4, min_faces_per_person=3, faces_per_person_in_batch=3)


def _label_three_per_person(store):
    """A human labels up to three photos of every person; the rest are held back."""
    faces = _labelled_faces(store)
    by_person: dict[str, list[tuple[str, int]]] = {}
    for path, fid in sorted(faces.items()):
        by_person.setdefault(path.split("/")[0], []).append((path, fid))
    held_back = {}
    for person, items in by_person.items():
        labels.label_faces(store, [fid for _, fid in items[:3]], person, PACK)
        held_back.update({fid: person for _, fid in items[3:]})
    return held_back


def _train(store, library_root, config=SMALL, device="cpu"):
    resources = {
        "face_models": FaceModelsResource(training_device=device),
        "store": store_resource(store),
        "library": PhotoLibraryResource(root=str(library_root)),
    }
    from face_assets.definitions import build_definitions

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return materialize(
            [*build_definitions().assets, projection_head_gate],
            selection=["projection_head"],
            resources=resources,
            run_config=RunConfig({"projection_head": config}),
            raise_on_error=False,
        )


def test_training_through_dagster_records_a_gated_head(real_store, real_library):
    _label_three_per_person(real_store)
    result = _train(real_store, real_library.root)
    (event,) = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["persons_trained"] + meta["persons_held_out"] == 13  # persons with >= 3 photos
    assert meta["training_curve"].count("\n") == 1 + SMALL.epochs + 1  # header, rule, epochs 0..4
    assert "roc_auc" in meta["held_out_metrics"]

    (check,) = result.get_asset_check_evaluations()
    with real_store.transaction() as conn:
        record = head_store.head(conn, meta["head_id"])
    # The stored decision is the gate's verdict on the stored held-out metrics.
    expected = verification.gate_decision(record.metrics["projected"], record.metrics["raw"])
    assert check.passed == expected.promote
    assert result.success == expected.promote  # a refused head fails the run (blocking check)
    assert record.status == ("promoted" if expected.promote else "rejected")

    head, saved = head_checkpoint.load_checkpoint(real_store.home_path / record.checkpoint_path)
    assert saved["pack"] == PACK and len(head.history) == SMALL.epochs + 1


def test_gate_refuses_a_worse_head_and_keeps_the_previous_one(real_store, real_library):
    _label_three_per_person(real_store)
    _train(real_store, real_library.root)  # promoted or refused: a head row exists either way
    with real_store.transaction() as conn:
        (first_id,) = [r[0] for r in conn.execute("SELECT id FROM projection_heads")]
        first = head_store.head(conn, first_id)
        head_store.decide(conn, first_id, True, "promoted for the test")
        # A candidate whose held-out AUC is worse than the promoted head's.
        worse = dict(first.metrics)
        worse["gate"] = {"basis": f"head-{first_id}", "incumbent": first.metrics["projected"]}
        worse["gate"]["candidate"] = {
            **first.metrics["projected"],
            "roc_auc": first.metrics["projected"]["roc_auc"] - 0.05,
        }
        head_store.add_candidate(conn, PACK, first.checkpoint_path, "cpu", 1, 1, 0.5, worse, [], {})
    decision, candidate_id = training.gate_latest(real_store, PACK)
    assert not decision.promote and "refuse" in decision.reason
    assert f"{worse['gate']['candidate']['roc_auc']:.4f}" in decision.reason  # the numbers
    with real_store.transaction() as conn:
        assert head_store.promoted(conn, PACK).id == first_id
        assert head_store.head(conn, candidate_id).status == "rejected"
        better = dict(first.metrics)
        better["gate"] = {"basis": f"head-{first_id}", "incumbent": first.metrics["projected"]}
        better["gate"]["candidate"] = {
            **first.metrics["projected"],
            "roc_auc": first.metrics["projected"]["roc_auc"] + 0.01,
        }
        better_id = head_store.add_candidate(
            conn, PACK, first.checkpoint_path, "cpu", 1, 1, 0.5, better, [], {}
        )
    decision, _ = training.gate_latest(real_store, PACK)
    assert decision.promote
    with real_store.transaction() as conn:
        assert head_store.promoted(conn, PACK).id == better_id
        assert head_store.head(conn, first_id).status == "retired"


def test_assignment_uses_the_promoted_head(real_store, real_library):
    held_back = _label_three_per_person(real_store)
    _train(real_store, real_library.root)
    with real_store.transaction() as conn:
        (head_id,) = [r[0] for r in conn.execute("SELECT id FROM projection_heads")]
        head_store.decide(conn, head_id, True, "promoted for the test")
    _materialize(real_store, real_library.root, ["person_prototypes"])
    for month in _months(real_store):
        _materialize(real_store, real_library.root, ["face_assignments"], month)
    with real_store.transaction() as conn:
        rows = conn.execute(
            "SELECT f.id, p.name, f.assignment_head FROM faces f JOIN persons p"
            " ON p.id = f.person_id WHERE f.assignment_method = 'auto'"
        ).fetchall()
    assert rows, "the promoted head assigned nothing"
    assert {r[2] for r in rows} == {f"head-{head_id}"}
    on_held_back = [(fid, name) for fid, name, _ in rows if fid in held_back]
    assert on_held_back and all(held_back[fid] == name for fid, name in on_held_back)


def test_cuda_request_fails_clearly_without_cuda(real_store, real_library):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the error path is for machines without it")
    _label_three_per_person(real_store)
    result = _train(real_store, real_library.root, device="cuda")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    error = failure.event_specific_data.error
    assert "DeviceUnavailableError" in (error.cause or error).cls_name
    assert "torch.cuda.is_available() is False" in (error.cause or error).message
    with real_store.transaction() as conn:
        assert conn.execute("SELECT count(*) FROM projection_heads").fetchone()[0] == 0


def test_too_few_labelled_people_is_a_clear_error(real_store, real_library):
    faces = _labelled_faces(real_store)
    labels.label_faces(real_store, [faces["person_09/1.jpg"]], "Nine", PACK)
    result = _train(real_store, real_library.root)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    error = failure.event_specific_data.error
    assert "at least 4 persons" in (error.cause or error).message


def test_projected_threshold_keeps_the_raw_thresholds_buffer():
    import numpy as np

    # Two persons: raw same-person similarity 0.6, cross-person 0.1 (raw gap 0.1 .. 0.6).
    a, b = np.eye(4)[0], np.eye(4)[1]
    other = np.eye(4)[2]
    raw = np.vstack([a, 0.6 * a + 0.8 * other, b, 0.6 * b + 0.8 * np.eye(4)[3]])
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    labels = np.array([0, 0, 1, 1])
    squashed = 0.2 * raw + np.array([0.0, 0.0, 0.0, 3.0])  # a head that squashes everything
    squashed /= np.linalg.norm(squashed, axis=1, keepdims=True)
    threshold = evaluation.matching_threshold(raw, squashed, labels, raw_threshold=0.35)
    sims = squashed @ squashed.T
    top_impostor = max(sims[0, 2], sims[0, 3], sims[1, 2], sims[1, 3])
    lowest_same = min(sims[0, 1], sims[2, 3])
    assert top_impostor < threshold < lowest_same
    raw_top = max((raw @ raw.T)[i, j] for i in (0, 1) for j in (2, 3))
    raw_position = (0.35 - raw_top) / (0.6 - raw_top)
    assert (threshold - top_impostor) / (lowest_same - top_impostor) == pytest.approx(
        raw_position, abs=1e-6
    )
