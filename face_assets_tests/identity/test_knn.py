"""Neighbour lists of face_assets.identity.knn (and the benchmarks' in-memory extension of them)."""

from __future__ import annotations

import numpy as np

from benchmarks._graph_tools import extend_neighbours
from face_assets.identity import knn
from face_assets_tests.identity.separated import people


def test_knn_graph_excludes_self_and_matches_exact():
    x, _ = people([5, 5, 5], seed=1, spread=1.0)
    nb = knn.knn_graph(x, 4)
    assert nb.indices.shape == (15, 4) and nb.similarities.dtype == np.float32
    assert not (nb.indices == np.arange(15)[:, None]).any()
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    assert np.allclose(np.sort(sims, axis=1)[:, ::-1][:, :4], nb.similarities, atol=1e-5)
    # The IVF path gives the same neighbours on data this easy.
    ivf = knn.knn_graph(x, 4, exact_below=0)
    assert np.allclose(ivf.similarities, nb.similarities, atol=1e-5)


def test_extend_neighbours_matches_a_full_search():
    x, _ = people([8, 8, 8], seed=5, spread=1.0)
    old = 20
    index = knn.FaceIndex.build(x[:old])
    nb_old = knn.knn_graph(x[:old], 5, index=index)
    extended = extend_neighbours(nb_old, index, x[old:])
    full = knn.knn_graph(x, 5)
    # New faces: exact. Old faces take in the new faces that listed them, so their lists are
    # never better than the exact ones and almost always equal (see extend_neighbours).
    assert np.allclose(extended.similarities[old:], full.similarities[old:], atol=1e-5)
    assert (extended.similarities[:old] <= full.similarities[:old] + 1e-5).all()
    same = np.isclose(extended.similarities[:old], full.similarities[:old], atol=1e-5)
    assert same.mean() >= 0.9
