"""A refresh: new faces join last run's clusters, continuing average linkage from them.

Last run's clusters enter as units, each as its sum vector and size (which is all the exact
average similarity to a cluster needs), beside the new faces and the noise faces they reach;
average linkage (identity/linkage.py) then goes on merging those units as a full run would.
Nothing is re-clustered by graph component: a month costs what its new faces cost, whatever
the library's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from face_assets.identity.clustering import NOISE
from face_assets.identity.knn import Neighbours
from face_assets.identity.linkage import (
    DEFAULT_MIN_CLUSTER_SIZE,
    DEFAULT_MIN_SIMILARITY,
    average_linkage,
    cannot_pairs,
)


@dataclass(frozen=True)
class Refresh:
    """labels: every face's label after the refresh; touched: faces whose label changed, and
    every new face; grown: previous labels that took in faces or other clusters; nodes: how
    many units (new faces, noise faces, previous clusters) the refresh clustered."""

    labels: np.ndarray
    touched: np.ndarray
    grown: np.ndarray
    nodes: int
    faces: int  # faces behind those nodes


VectorsOf = Callable[[np.ndarray], np.ndarray]


def refresh_labels(
    previous_labels: np.ndarray,
    is_new: np.ndarray,
    photo_ids: Sequence | np.ndarray | None,
    new_neighbours: Neighbours,
    vectors_of: VectorsOf,
    sums_of: VectorsOf,
    *,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
    cannot_link: Iterable[tuple[int, int]] = (),
    first_new_label: int = 0,
) -> Refresh:
    """Labels after new faces arrive: average linkage continued from last run's clusters.

    Why not re-cluster the graph components new faces touch: on a long-tailed library the
    most-photographed people get new faces every month and their components hold a quarter of
    a million faces (243,757 of 1M, benchmarks/graph_scale.py), so a month cost more than a
    minute. Here each previous cluster that a new face reaches by an edge >= min_similarity
    enters as one unit (its sum vector and size: the exact average similarity to it needs
    nothing else), as do the new faces and the noise faces they reach. Average linkage then
    goes on merging those units until no pair reaches min_similarity on average, as a full run
    would have had these faces been there: a new face joins the cluster it is closest to on
    average, new faces form clusters of their own, and two clusters merge when the new faces
    bring them together. Previous clusters never split (only a full run, e.g. the weekly
    schedule, re-cuts them) and an untouched cluster keeps its label and members.

    ``previous_labels`` (n,): last run's label of every face (NOISE for noise and new faces);
    ``new_neighbours``: the kNN lists of the new faces in row order (indices into 0..n-1);
    ``vectors_of(rows)``: embeddings of those rows; ``sums_of(labels)``: the sum vector of each
    of those previous clusters' members (float64). Cannot-links (two faces of one photo, row
    pairs of ``cannot_link``) between units block their merge. A merged cluster keeps the
    label of its largest previous cluster; clusters of only new and noise faces get labels
    above every previous one (and >= ``first_new_label``).
    """
    previous = np.asarray(previous_labels, dtype=np.int64).reshape(-1)
    is_new = np.asarray(is_new, dtype=bool).reshape(-1)
    n = previous.size
    if is_new.size != n:
        raise ValueError(f"is_new has {is_new.size} entries for {n} faces")
    if min_cluster_size < 2:
        raise ValueError(f"min_cluster_size must be >= 2, got {min_cluster_size}")
    new_rows = np.flatnonzero(is_new)
    previous = np.where(is_new, NOISE, previous)
    if new_neighbours.indices.shape[0] != new_rows.size:
        raise ValueError(f"{new_neighbours.indices.shape[0]} lists for {new_rows.size} new faces")
    if new_rows.size == 0:
        return Refresh(previous, is_new.copy(), np.empty(0, dtype=np.int64), 0, 0)
    idx, sims = new_neighbours.indices, new_neighbours.similarities
    strong = (idx >= 0) & (sims >= min_similarity)
    src = np.repeat(new_rows, idx.shape[1])[strong.ravel()]
    dst = idx[strong]
    not_self = src != dst
    src, dst = src[not_self], dst[not_self]
    groups = np.unique(previous[dst][previous[dst] != NOISE])
    noise_rows = np.unique(dst[(previous[dst] == NOISE) & ~is_new[dst]])
    face_rows = np.concatenate([new_rows, noise_rows])
    n_faces = face_rows.size
    node_of = np.full(n, -1, dtype=np.int64)
    node_of[face_rows] = np.arange(n_faces)
    in_group = np.flatnonzero(np.isin(previous, groups))
    node_of[in_group] = n_faces + np.searchsorted(groups, previous[in_group])
    sizes = np.concatenate(
        [np.ones(n_faces), np.bincount(node_of[in_group] - n_faces, minlength=groups.size)]
    ).astype(np.float64)
    vectors = np.asarray(vectors_of(face_rows), dtype=np.float64).reshape(n_faces, -1)
    if groups.size:
        group_sums = np.asarray(sums_of(groups), dtype=np.float64)
        vectors = np.vstack([vectors, group_sums.reshape(groups.size, vectors.shape[1])])
    u, v = node_of[src], node_of[dst]
    u, v = np.minimum(u, v), np.maximum(u, v)
    m = max(vectors.shape[0], 1)
    keys = np.unique(u[u != v] * m + v[u != v])
    u, v = keys // m, keys % m
    dots = np.einsum("ij,ij->i", vectors[u], vectors[v])
    s = dots / (sizes[u] * sizes[v])
    rows = np.flatnonzero(node_of >= 0)
    position = np.full(n, -1, dtype=np.int64)
    position[rows] = np.arange(rows.size)
    photos = None if photo_ids is None else np.asarray(photo_ids)[rows]
    extra = np.asarray(list(cannot_link), dtype=np.int64).reshape(-1, 2)
    extra = position[extra[(node_of[extra] >= 0).all(axis=1)]] if extra.size else extra
    pairs = cannot_pairs(photos, extra, rows.size)
    cannot = node_of[rows[pairs]] if pairs.size else np.empty((0, 2), dtype=np.int64)
    cannot = cannot[cannot[:, 0] != cannot[:, 1]]
    cannot = np.unique(np.sort(cannot, axis=1), axis=0) if cannot.size else cannot
    root = average_linkage(vectors, u, v, s, cannot, min_similarity, sizes=sizes)

    labels = previous.copy()
    next_label = max(int(previous.max(initial=NOISE)) + 1, first_new_label)
    node_label = np.full(vectors.shape[0], NOISE, dtype=np.int64)
    node_label[n_faces:] = groups
    order = np.lexsort((-sizes, root))  # per root: its largest unit first
    bounds = np.flatnonzero(np.r_[True, root[order][1:] != root[order][:-1]])
    grown: list[int] = []
    for members in np.split(order, bounds[1:]):
        total = sizes[members].sum()
        old = members[members >= n_faces]
        if old.size:
            keep = groups[old - n_faces]
            winner = int(keep[np.argmax(sizes[old] * (n + 1) - keep)])  # largest, then lowest
            if members.size > 1:
                grown.append(winner)
        elif total >= min_cluster_size:
            winner, next_label = next_label, next_label + 1
        else:
            continue
        node_label[members] = winner
    labels[face_rows] = node_label[:n_faces]
    labels[in_group] = node_label[node_of[in_group]]
    touched = is_new | (labels != previous)
    return Refresh(labels, touched, np.asarray(sorted(grown), dtype=np.int64),
                   vectors.shape[0], int(sizes.sum()))  # fmt: skip
