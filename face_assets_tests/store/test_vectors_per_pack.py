"""Packs of different widths in one database: each query confined to its pack and its own
HNSW index, and a 512-d store of before migration 0011 carried forward without re-embedding."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from face_assets.store import Store, bulk, db
from face_assets.store import faces as face_store
from face_assets.store import person_pairs as pair_store
from face_assets.store import prototypes as prototype_store
from face_assets.store import track_clusters as track_cluster_store
from face_assets.store import vectors as vector_store


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _faces(conn, pack: str, vectors: np.ndarray, tag: str) -> np.ndarray:
    keys = np.asarray([f"{tag}{i}" for i in range(len(vectors))])
    return bulk.add_faces(
        conn, pack, vectors, keys, ["2020-01"] * len(vectors), np.ones(len(vectors))
    )


def test_each_pack_query_sees_only_its_own_rows_through_its_own_index(store: Store):
    rng = np.random.default_rng(0)
    small = _unit(rng, 40, 512)
    with store.transaction() as conn:
        s_ids = _faces(conn, "buffalo_s", small, "s")
        # buffalo_l: the same width and the very same vectors, so one shared index would
        # return them as every buffalo_s face's nearest neighbours (distance 0).
        l_ids = _faces(conn, "buffalo_l", small.copy(), "l")
        d_ids = _faces(conn, "dlib_resnet", _unit(rng, 2000, 128), "d")
        for pack, width in (("buffalo_s", 512), ("buffalo_l", 512), ("dlib_resnet", 128)):
            assert vector_store.stored_width(conn, pack) == width
            assert vector_store.ensure_pack_index(conn, pack, width)
            assert not vector_store.ensure_pack_index(conn, pack, width)  # already there
    with store.transaction() as conn:
        found = vector_store.nearest_embedded(conn, "buffalo_s", s_ids[:5], k=5)
        assert all(len(n) == 5 for n in found)  # none crowded out by the copies
        assert {f for n in found for f, _ in n} <= set(s_ids.tolist())
        exact = small[:5] @ small.T
        np.fill_diagonal(exact[:, :5], -2)
        for row, neighbours in zip(exact, found, strict=True):
            assert [f for f, _ in neighbours][0] == s_ids[int(np.argmax(row))]
        dlib = vector_store.nearest_embedded(conn, "dlib_resnet", d_ids[:3], k=4)
        assert all(len(n) == 4 for n in dlib) and {f for n in dlib for f, _ in n} <= set(
            d_ids.tolist()
        )
        # A face of another pack asked for in this pack's query gets nothing.
        assert vector_store.nearest_embedded(conn, "buffalo_s", d_ids[:2], k=3) == [[], []]
        assert vector_store.embeddings(conn, d_ids[:3]).shape == (3, 128)
        assert vector_store.embeddings(conn, l_ids[:3]).shape == (3, 512)
        with pytest.raises(ValueError, match="different widths"):
            vector_store.embeddings(conn, np.concatenate([s_ids[:2], d_ids[:2]]))
        conn.execute("ANALYZE face_embeddings")
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN SELECT face_id FROM face_embeddings WHERE pack = 'dlib_resnet'"
                " ORDER BY (embedding::vector(128)) <=> (SELECT embedding::vector(128)"
                " FROM face_embeddings WHERE face_id = %s) LIMIT 3",
                (int(d_ids[0]),),
            ).fetchall()
        )
        assert vector_store.pack_index("dlib_resnet") in plan


def test_vectors_of_the_wrong_width_for_a_pack_are_refused(store: Store):
    with store.transaction() as conn:
        ids = _faces(conn, "dlib_resnet", _unit(np.random.default_rng(1), 2, 128), "w")
        with pytest.raises(ValueError, match="128-d"):
            face_store.store_embeddings(
                conn, ids.tolist(), "dlib_resnet", np.ones((2, 512), np.float32)
            )
        assert prototype_store.prototypes(conn, "dlib_resnet")[2].shape == (0, 128)
        assert vector_store.nearest_embedded(conn, "antelopev2", ids, k=2) == [[], []]


def test_a_512_store_from_before_0011_moves_forward_without_re_embedding(pg_server, database_url):
    before = [m for m in db._migrations() if m[0] < 11]
    vector = np.linspace(-1, 1, 512, dtype=np.float32)
    vector /= np.linalg.norm(vector)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version, name, script in before:
            conn.execute(script)
            conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (version, name))
    with db.connect(database_url) as conn:
        ids = _faces(conn, "buffalo_s", vector[None, :], "old")
        conn.commit()
    applied = db.migrate(database_url)
    assert 11 in applied
    with db.connect(database_url) as conn:
        stored = vector_store.embeddings(conn, ids)
        np.testing.assert_array_equal(stored[0], vector)
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes").fetchall()}
        assert vector_store.pack_index("buffalo_s") in indexes
        assert "face_embeddings_hnsw" not in indexes
        widths = dict(
            conn.execute(
                "SELECT attrelid::regclass::text, format_type(atttypid, atttypmod)"
                " FROM pg_attribute WHERE attname = 'embedding' AND attnum > 0"
                " AND attrelid::regclass::text IN ('face_embeddings', 'person_prototypes',"
                " 'video_tracks', 'video_faces')"
            ).fetchall()
        )
        assert 16 in applied  # video tables too (0010 declared vector(512))
        assert widths == dict.fromkeys(widths, "vector") and len(widths) == 4


def test_empty_pack_reads_have_the_width_their_caller_names(store: Store):
    """A pack with no persons, tracks or clusters yet still gives arrays of its own width, so a
    128-d pack's matrix products never meet a 512-wide empty array."""
    with store.transaction() as conn:
        for dim in (128, 512):
            ids, x = prototype_store.prototype_centroids(conn, "dlib_resnet", dim)
            assert ids == [] and x.shape == (0, dim) and x.dtype == np.float32
            ids, x = track_cluster_store.clusterable_tracks(conn, "dlib_resnet", dim)
            assert ids == [] and x.shape == (0, dim) and x.dtype == np.float32
            ids, sums, sizes = track_cluster_store.photo_cluster_sums(
                conn, "dlib_resnet", 0.0, dim, []
            )
            assert ids == [] and sums.shape == (0, dim) and sizes.shape == (0,)
            ids, x = pair_store.person_centroids(conn, "dlib_resnet", 10, dim)
            assert ids == [] and x.shape == (0, dim) and x.dtype == np.float32
