"""Merge suggestions between persons: the centroid probe is redone only when its inputs change."""

from __future__ import annotations

import numpy as np

from face_assets.services import person_pairs
from face_assets.store import Store
from face_assets.store import person_pairs as pair_store
from face_assets.store import prototypes as prototype_store

PACK = "buffalo_s"


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_pair_suggestions_reuse_the_probe_until_centroids_or_labels_change(
    store: Store, monkeypatch
):
    rng = np.random.default_rng(3)
    base, other = _unit(rng.normal(size=512)), _unit(rng.normal(size=512))
    with store.transaction() as conn:
        a, b, c = (
            conn.execute("INSERT INTO persons (name) VALUES (%s) RETURNING id", (n,)).fetchone()[0]
            for n in ("Ann", "Anne", "Carl")
        )
        near = _unit(base + 0.2 * _unit(rng.normal(size=512)))
        prototype_store.replace_prototypes_of(
            conn, PACK, [a, b, c],
            [(a, "centroid", None, base), (b, "centroid", None, near),
             (c, "centroid", None, other)],
        )  # fmt: skip
    probes = []
    real = pair_store.person_centroids
    monkeypatch.setattr(
        pair_store, "person_centroids", lambda *args: probes.append(1) or real(*args)
    )
    first = person_pairs.pair_suggestions(store, PACK, 5)
    assert [(x, y) for x, y, _ in first] == [(a, b)] and first[0][2] > 0.9
    assert person_pairs.pair_suggestions(store, PACK, 5) == first
    assert len(probes) == 1  # the second request reused the probe
    with store.transaction() as conn:  # Carl's centroid moves next to Ann's: a rebuild
        prototype_store.replace_prototypes_of(conn, PACK, [c], [(c, "centroid", None, base)])
    moved = person_pairs.pair_suggestions(store, PACK, 5)
    assert len(probes) == 2
    assert {(x, y) for x, y, _ in moved} == {(a, b), (a, c), (b, c)}
    person_pairs.answer_pair(store, PACK, "no", a, c)  # a human's "different" applies at once
    assert (a, c) not in {(x, y) for x, y, _ in person_pairs.pair_suggestions(store, PACK, 5)}
    assert len(probes) == 3  # the label event changed the version
    kept = [p for p in moved if p[:2] != (a, c)]
    assert person_pairs.pair_suggestions(store, PACK, 1) == kept[:1]
    assert len(probes) == 4  # another limit: probed again
