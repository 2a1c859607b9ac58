"""One matching rule for every caller: the assignment asset, the review queue, the CLI and the
HTTP app. With a promoted projection head the "Is this X?" queue measures its near misses
against the head's calibrated threshold, in the head's space (not the pack's raw threshold)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from face_assets.identity import head_checkpoint, projection
from face_assets.services import identities, labels, review_queue
from face_assets.store import heads as head_store
from face_assets_tests.defs.assets.test_identities import _labelled_faces

PACK = "buffalo_s"
GATE = 0.5  # the clustering quality gate the queue probes with (asserted in the test below)


def _label_one_photo_per_person(store) -> dict[str, int]:
    first: dict[str, int] = {}
    for path, face_id in sorted(_labelled_faces(store).items()):
        first.setdefault(path.split("/")[0], face_id)
    for person, face_id in first.items():
        labels.label_faces(store, [face_id], person, PACK)
    identities.refresh_prototypes(store, PACK)
    return first


def _random_head() -> projection.TrainedHead:
    torch.manual_seed(7)
    width = 512  # buffalo_s's embeddings (the head's input width is the pack's)
    state = {k: v.clone() for k, v in projection.ProjectionHead(width).state_dict().items()}
    return projection.TrainedHead(
        state, projection.TrainingConfig(), [], persons_used=[], in_dim=width
    )


def _vector(value) -> np.ndarray:
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, np.float32)


def _unclaimed(store) -> tuple[list[int], np.ndarray]:
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT f.id, e.embedding FROM faces f JOIN face_embeddings e ON e.face_id = f.id"
            " WHERE f.pack = %s AND f.person_id IS NULL AND f.quality >= %s ORDER BY f.id",
            (PACK, GATE),
        ).fetchall()
    return [r[0] for r in rows], np.vstack([_vector(r[1]) for r in rows])


def _promote(store, head: projection.TrainedHead, threshold: float) -> str:
    rel = "models/test_head.pt"
    head_checkpoint.save_checkpoint(head, store.home_path / rel, {"pack": PACK})
    with store.transaction() as conn:
        head_id = head_store.add_candidate(conn, PACK, rel, "cpu", 1, 1, threshold, {}, [], {})
        head_store.decide(conn, head_id, True, "promoted for the test")
    return f"head-{head_id}"


def test_queue_near_misses_use_the_promoted_heads_threshold_and_space(real_store):
    from face_assets.defaults import QUALITY_GATE

    assert QUALITY_GATE == GATE
    labelled = _label_one_photo_per_person(real_store)
    head = _random_head()
    face_ids, raw = _unclaimed(real_store)
    with real_store.transaction() as conn:
        refs = conn.execute(
            "SELECT p.id, e.embedding FROM persons p JOIN faces f ON f.person_id = p.id"
            " JOIN face_embeddings e ON e.face_id = f.id WHERE f.id = ANY(%s) ORDER BY p.id",
            (list(labelled.values()),),
        ).fetchall()
    person_ids = np.asarray([r[0] for r in refs])
    # One labelled face per person: centroid and exemplar are that face's embedding.
    sims = head.project(raw) @ head.project(np.vstack([_vector(r[1]) for r in refs])).T
    best = sims.max(axis=1)
    best_person = person_ids[sims.argmax(axis=1)]
    # A calibrated threshold with head-space near misses below it, far from the raw 0.40.
    threshold = float(np.quantile(best, 0.6))
    band = review_queue.UNSURE_BAND
    expected = {
        face: (int(person), float(sim))
        for face, person, sim in zip(face_ids, best_person, best, strict=True)
        if threshold - band <= sim < threshold + band  # unassigned: the whole unsure band
    }
    assert expected and abs(threshold - 0.40) > band
    head_name = _promote(real_store, head, threshold)

    found = review_queue.questions(real_store, PACK, limit=500)
    near = {q.face_id: q for q in found if q.kind == "face" and not q.assigned}
    assert set(near) == set(expected)
    for face, (person, sim) in expected.items():
        assert near[face].person_id == person
        assert abs(near[face].similarity - sim) < 1e-4
        assert abs(near[face].uncertainty - abs(threshold - sim)) < 1e-4

    from face_assets.services import matching

    rule = matching.matching_rule(real_store, PACK)
    assert (rule.head, rule.source) == (head_name, "promoted head")
    assert rule.threshold == pytest.approx(threshold, abs=1e-6)  # stored as a real


def test_the_rule_prefers_an_override_then_the_head_then_the_pack_default(real_store):
    from face_assets.services import matching
    from face_assets.vision.packs import person_threshold

    rule = matching.matching_rule(real_store, PACK)
    assert (rule.threshold, rule.head, rule.source) == (person_threshold(PACK), None, "pack")
    raw = np.eye(2, 512, dtype=np.float32)
    assert rule.vectors(raw) is raw
    head_name = _promote(real_store, _random_head(), 0.83)
    rule = matching.matching_rule(real_store, PACK)
    assert (rule.threshold, rule.head) == (pytest.approx(0.83), head_name)
    assert rule.vectors(raw).shape == (2, projection.OUT_DIM)
    # An override replaces the threshold only: faces are still compared in the head's space.
    rule = matching.matching_rule(real_store, PACK, override=0.9)
    assert (rule.threshold, rule.head, rule.source) == (0.9, head_name, "override")


def test_the_promoted_head_is_read_once_however_many_times_the_rule_is_asked(
    real_store, monkeypatch
):
    """Each review-queue request asks for the rule anew: the checkpoint is not re-read."""
    from face_assets.services import matching

    reads = []
    load = head_checkpoint.load_checkpoint
    monkeypatch.setattr(head_checkpoint, "load_checkpoint", lambda p: reads.append(p) or load(p))
    _promote(real_store, _random_head(), 0.5)
    raw = np.eye(2, 512, dtype=np.float32)
    first = matching.matching_rule(real_store, PACK).vectors(raw)
    again = matching.matching_rule(real_store, PACK).vectors(raw)
    assert len(reads) == 1
    np.testing.assert_array_equal(first, again)
    other = _random_head()
    other.state_dict = {k: v + 1 for k, v in other.state_dict.items()}
    _promote(real_store, other, 0.5)  # a new checkpoint file: read afresh
    changed = matching.matching_rule(real_store, PACK).vectors(raw)
    assert len(reads) == 2
    assert not np.allclose(changed, first)


def test_undoing_a_faces_yes_leaves_it_unassigned_without_a_rejection(real_store):
    """The queue's undo of a face's yes: the human label goes, nothing is recorded as refused,
    and a second undo changes nothing (the label is no longer there to take back)."""
    face_id = next(iter(_label_one_photo_per_person(real_store).values()))
    with real_store.transaction() as conn:
        (person_id,) = conn.execute(
            "SELECT person_id FROM faces WHERE id = %s", (face_id,)
        ).fetchone()
    yes = review_queue.Reply("yes", person_id, face_id=face_id)
    assert review_queue.undo_answer(real_store, PACK, yes) == {"undone": True}
    with real_store.transaction() as conn:
        row = conn.execute(
            "SELECT person_id, assignment_method, assigned_at FROM faces WHERE id = %s",
            (face_id,),
        ).fetchone()
        refused = conn.execute(
            "SELECT count(*) FROM face_rejections WHERE face_id = %s", (face_id,)
        ).fetchone()[0]
    assert row == (None, None, None) and refused == 0
    again = review_queue.undo_answer(real_store, PACK, yes)
    assert again == {"undone": False}
