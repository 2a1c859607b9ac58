"""The queue's "best unclaimed faces" read and the partial index it is served by."""

from __future__ import annotations

import inspect
import re

import numpy as np

from face_assets.store import Store, bulk
from face_assets.store import questions as question_store
from face_assets.store.clusters import UNCLAIMED_FACES

PACK = "buffalo_s"


def _index_def(store: Store, name: str) -> str:
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'faces' AND indexname = %s",
            (name,),
        ).fetchone()
    assert row is not None, f"index {name} is missing"
    return row[0]


def test_the_unclaimed_faces_index_matches_the_queue_query(store: Store):
    """PostgreSQL uses a partial index only when the query's WHERE implies its predicate, and
    stops early only when the index's order is the query's ORDER BY: both are checked against
    the query text, so changing one without the other fails here (not silently in production,
    where the queue would go back to sorting every unclaimed face on each request)."""
    definition = _index_def(store, "faces_unclaimed_quality")
    columns, predicate = re.search(r"btree \((.*)\) WHERE \((.*)\)$", definition).groups()
    assert columns == "pack, quality DESC, id"
    assert predicate == "person_id IS NULL"
    where = UNCLAIMED_FACES.as_string(None).split(" WHERE ", 1)[1]
    assert f"f.{predicate}" in where
    assert "f.pack = %(pack)s" in where and "f.quality >= %(min_quality)s" in where
    assert "ORDER BY f.quality DESC, f.id LIMIT" in inspect.getsource(
        question_store.best_unassigned_faces
    )
    with store.transaction() as conn:  # the narrower index it replaces is gone
        names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
    assert "faces_unassigned" not in names


def test_best_unassigned_faces_are_the_best_unclaimed_ones_in_order(store: Store):
    rng = np.random.default_rng(1)
    qualities = np.asarray([0.9, 0.2, 0.7, 0.95, 0.7, 0.6, 0.8], dtype=np.float32)
    embeddings = rng.normal(size=(len(qualities), 512)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    with store.transaction() as conn:
        ids = bulk.add_faces(
            conn, PACK, embeddings, np.asarray([f"p{i}" for i in range(len(qualities))]),
            ["2020-01"] * len(qualities), qualities,
        )  # fmt: skip
        person = conn.execute("INSERT INTO persons (name) VALUES ('a') RETURNING id").fetchone()
        conn.execute(  # the best face is claimed: never offered
            "UPDATE faces SET person_id = %s, assignment_method = 'human' WHERE id = %s",
            (person[0], int(ids[3])),
        )
        got = question_store.best_unassigned_faces(conn, PACK, 0.5, 4)
    # 0.9, 0.8, then the two 0.7s by id; 0.95 is claimed and 0.2 under the gate
    assert got == [int(ids[0]), int(ids[6]), int(ids[2]), int(ids[4])]
