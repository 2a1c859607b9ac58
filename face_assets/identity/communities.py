"""Community detection on the kNN graph: the methods kept selectable for comparison.

``components``, ``infomap``, ``leiden`` and ``leiden_cpm`` partition the graph of edges
(benchmarks/graph_tuning.py compares them with the default, average linkage, on lfw_dev). None
of them can refuse a merge, so cannot-links are enforced on their result afterwards.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from face_assets.identity.clustering import NOISE

COMMUNITY_METHODS = ("components", "infomap", "leiden", "leiden_cpm")
# Infomap baseline of the issue: kNN k=30, edges of similarity >= 0.5.
INFOMAP_MIN_SIMILARITY = 0.5
# Measured on lfw_dev by benchmarks/graph_tuning.py: CPM resolution on similarity weights,
# 0.05 -> BCubed F1 0.9955, 0.2 -> 0.982, 0.5 -> 0.932 (large sparse kNN clusters split).
LEIDEN_CPM_RESOLUTION = 0.05


def community_labels(
    n: int, u: np.ndarray, v: np.ndarray, sim: np.ndarray, method: str, seed: int
) -> np.ndarray:
    """Raw community labels of igraph/infomap methods (cannot-links enforced afterwards)."""
    if method == "components":
        adjacency = sparse.coo_matrix((np.ones(u.size), (u, v)), shape=(n, n))
        return connected_components(adjacency, directed=False)[1].astype(np.int64)
    if method == "infomap":
        from infomap import Infomap

        im = Infomap(two_level=True, silent=True, seed=seed + 1, num_trials=1)
        im.add_nodes(range(n))
        for i, j, w in zip(u.tolist(), v.tolist(), sim.tolist(), strict=True):
            im.add_link(i, j, w)
        result = im.run()
        labels = np.arange(n, dtype=np.int64)
        for node, module in result.modules().items():
            labels[node] = n + module
        return labels
    import igraph as ig
    import leidenalg

    graph = ig.Graph(n=n, edges=np.column_stack([u, v]).tolist(), directed=False)
    graph.es["weight"] = sim.tolist()
    if method == "leiden":
        partition = leidenalg.find_partition(
            graph, leidenalg.ModularityVertexPartition, weights="weight", seed=seed
        )
    else:
        partition = leidenalg.find_partition(
            graph,
            leidenalg.CPMVertexPartition,
            weights="weight",
            resolution_parameter=LEIDEN_CPM_RESOLUTION,
            seed=seed,
        )
    return np.asarray(partition.membership, dtype=np.int64)


def enforce_cannot_links(x: np.ndarray, labels: np.ndarray, cannot: np.ndarray) -> np.ndarray:
    """Break every cannot-link inside a cluster: the face less similar to its cluster's mean
    becomes noise (ties: the higher row). Used by the methods that cannot block merges."""
    labels = labels.copy()
    if cannot.size == 0:
        return labels
    bad = (labels[cannot[:, 0]] == labels[cannot[:, 1]]) & (labels[cannot[:, 0]] != NOISE)
    if not bad.any():
        return labels
    involved = np.unique(labels[cannot[bad]].ravel())
    centre: dict[int, np.ndarray] = {}
    for lab in involved.tolist():
        mean = x[labels == lab].astype(np.float64).mean(axis=0)
        centre[lab] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    for i, j in cannot[bad].tolist():
        lab = labels[i]
        if lab == NOISE or labels[j] != lab:
            continue
        si, sj = float(x[i] @ centre[lab]), float(x[j] @ centre[lab])
        labels[j if (si > sj or (si == sj and i < j)) else i] = NOISE
    return labels
