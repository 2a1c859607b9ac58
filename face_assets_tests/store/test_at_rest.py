"""Forgotten means gone from the disk too (issue 18): after a forget, neither the person's
names (current, before a rename, merged aliases) nor their embeddings' bytes are anywhere in
the embedded server's data directory: heap, TOAST, indexes, statistics, WAL, server log."""

from __future__ import annotations

import numpy as np
import pytest

from face_assets.services import forgetting, labels
from face_assets.store import bulk
from face_assets_tests.api.race_harness import embedded_store, files_containing

PACK = "buffalo_s"
NAME = "Zebulon Quixotic-Privacyname"
EARLIER = "Zebulon Earlier-Spelling"
ALIAS = "Zeb Aliasname-Merged"
KEPT = "Kept Otherperson-Name"


@pytest.fixture
def embedded(tmp_path):
    """A Store on its own embedded server (configured as `face-assets` configures it)."""
    with embedded_store(tmp_path / "home") as store:
        yield store


def _needles(vectors: np.ndarray, names: list[str]) -> dict[str, bytes]:
    found = {}
    for name in names:
        found[f"name {name}"] = name.encode()
        found[f"name {name.lower()}"] = name.lower().encode()  # the lower(name) index
    for i, v in enumerate(vectors):
        # pgvector stores float4 in the machine's byte order: 16 values = 64 bytes, unique.
        found[f"embedding {i}"] = np.asarray(v[100:116], dtype="<f4").tobytes()
    return found


def test_forget_leaves_no_name_or_embedding_bytes_in_the_data_directory(embedded):
    store = embedded
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(6, 512)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    keys = np.asarray([f"rest_{i}" for i in range(6)])
    with store.transaction() as conn:
        ids = [int(f) for f in bulk.add_faces(conn, PACK, vectors, keys, ["2024-01"] * 6,
                                               np.full(6, 0.9))]  # fmt: skip
    labels.label_faces(store, ids[:2], EARLIER, PACK)
    labels.rename_person(store, EARLIER, NAME)
    labels.label_faces(store, ids[2:4], ALIAS, PACK)
    labels.merge_persons(store, ALIAS, NAME, PACK)
    labels.label_faces(store, ids[4:], KEPT, PACK)
    with store.outside_transaction() as conn:
        conn.execute("ANALYZE")  # what autovacuum does: names into pg_statistic's histograms
        conn.execute("CHECKPOINT")
    pgdata = store.home_path / "pgdata"
    forgotten = _needles(vectors[:4], [NAME, EARLIER, ALIAS])
    before = files_containing(pgdata, forgotten)
    assert before[f"name {NAME}"] and before["embedding 0"], "the grep must see them first"

    result = forgetting.forget_person(store, NAME)

    assert result["faces_deleted"] == 4 and result["at_rest"]["complete"], result["at_rest"]
    after = files_containing(pgdata, forgotten)
    assert {k: v for k, v in after.items() if v} == {}
    kept = files_containing(pgdata, _needles(vectors[4:], [KEPT]))
    assert kept[f"name {KEPT}"] and kept["embedding 0"], "the rewrite kept the others' data"
