"""The seed's all-pairs clustering (HDBSCAN, DBSCAN, agglomerative): small libraries, splits.

They compare every face with every face, so the library's clustering refuses them above
services/clusters.ALL_PAIRS_MAX_FACES and uses the kNN graph (identity/linkage.py) instead; a
split of one cluster a user says mixes people (split_labels) stays here. All functions take
L2-normalised (ArcFace-style) embeddings and return integer labels where -1 means "noise": a
face that was not confidently grouped with anybody.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering

NOISE = -1

# Seed default: density clustering copes with unknown people counts and leaves outliers unlabelled.
DEFAULT_ALL_PAIRS_METHOD = "hdbscan"
ALL_PAIRS_METHODS = ("hdbscan", "dbscan", "agglomerative")
# The seed's medium-library values were 5 / 3; its small-library values, 3 / 2, measured
# better on real faces (benchmarks/identity_quality.py on ../shared/data/faces_real, with the
# diameter guard below): BCubed F1 0.956 at 3/2 against 0.644 at 5/3 and 0.942 for Immich's
# DBSCAN. A 2-photo person cannot form a cluster at 3; labelling assigns them later.
MIN_CLUSTER_SIZE = 3
MIN_SAMPLES = 2
# A cluster's faces must be similar to each other on average: mean cosine distance <= 0.7
# (similarity >= 0.3). The hardest same-person pairs measured are ~0.36 similar, different
# people at most 0.22; 0.5 would split real people.
MAX_MEAN_DISTANCE = 0.7
# Seed default: DBSCAN/agglomerative cosine-distance threshold (cosine similarity >= 0.5).
UNKNOWN_EPS = 0.5

# A split looks inside one cluster, so it must accept smaller groups than the default (3):
# the seed's split used 3 when its default was 5.
SPLIT_MIN_CLUSTER_SIZE = 2
# Tighter than MIN_SAMPLES so that small sub-groups inside a merged cluster can become dense.
SPLIT_MIN_SAMPLES = 1
# Fallback distance for splitting: tighter than UNKNOWN_EPS, or it would re-merge what it split.
SPLIT_EPS = 0.35


def _unit_rows(embeddings: np.ndarray) -> np.ndarray:
    emb = np.asarray(embeddings, dtype=np.float64)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (n, dim), got shape {emb.shape}")
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return emb / np.maximum(norms, 1e-12)


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Contiguous labels 0..k-1 in order of first appearance, so output is deterministic."""
    out = np.full(labels.shape, NOISE, dtype=np.int64)
    mapping: dict[int, int] = {}
    for i, lab in enumerate(labels.tolist()):
        if lab != NOISE:
            out[i] = mapping.setdefault(lab, len(mapping))
    return out


def _drop_small(labels: np.ndarray, min_cluster_size: int) -> np.ndarray:
    labels = labels.copy()
    clustered = labels[labels != NOISE]
    if clustered.size:
        ids, counts = np.unique(clustered, return_counts=True)
        small = ids[counts < min_cluster_size]
        labels[np.isin(labels, small)] = NOISE
    return labels


def _one_face_per_photo(unit: np.ndarray, labels: np.ndarray, photo_ids: Sequence) -> np.ndarray:
    """Enforce "two faces in one photo are two people" inside every cluster.

    A person appears at most once in a photo (mirrors and posters aside), so two faces of one
    photo in one cluster means at least one is wrong. The face most similar to the cluster's
    centroid (computed before any removal) is kept, since it is the best evidence of membership;
    the others become noise. Ties go to the lower index so results are reproducible.
    """
    if len(photo_ids) != labels.size:
        raise ValueError(f"{len(photo_ids)} photo ids for {labels.size} embeddings")
    photos = np.asarray(photo_ids)
    labels = labels.copy()
    for lab in np.unique(labels[labels != NOISE]):
        members = np.flatnonzero(labels == lab)
        mean = unit[members].mean(axis=0)
        sims = unit[members] @ (mean / max(float(np.linalg.norm(mean)), 1e-12))
        # Best first within each photo: descending similarity, then ascending index.
        order = np.lexsort((members, -sims))
        seen: set = set()
        for pos in order:
            photo = photos[members[pos]].item()
            if photo in seen:
                labels[members[pos]] = NOISE
            else:
                seen.add(photo)
    return labels


def _raw_labels(
    unit: np.ndarray, method: str, min_cluster_size: int, min_samples: int, eps: float
) -> np.ndarray:
    n = unit.shape[0]
    if method == "hdbscan":
        # Euclidean on unit vectors: |a-b|^2 = 2 - 2cos(a, b), monotone in cosine distance, so the
        # neighbour order, core distances and merge order are those of cosine. (Cluster stability
        # uses the distance values, so selection is not strictly identical to a cosine run.)
        # sklearn's KD/ball trees support euclidean but not cosine, which would force brute force.
        model = HDBSCAN(
            min_cluster_size=min_cluster_size,
            min_samples=min(min_samples, n),
            metric="euclidean",
            copy=False,
        )
        return model.fit_predict(unit)
    if method == "dbscan":
        # Immich-style: eps is a cosine distance and min_samples is "min faces" (point included).
        return DBSCAN(eps=eps, min_samples=min_cluster_size, metric="cosine").fit_predict(unit)
    if method == "agglomerative":
        if n < 2:
            return np.zeros(n, dtype=np.int64)
        # Average linkage: a merge needs the *mean* pairwise distance under eps, so one bridging
        # face cannot chain two people together as it can in single linkage.
        model = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average", distance_threshold=eps
        )
        return model.fit_predict(unit)
    raise ValueError(
        f"unknown clustering method {method!r}; valid methods: {', '.join(ALL_PAIRS_METHODS)}"
    )


def _within_diameter(unit: np.ndarray, labels: np.ndarray, max_distance: float) -> np.ndarray:
    """Split every cluster whose members are not, on average, similar enough to each other.

    HDBSCAN has no absolute distance limit: when most people have only a few photos it joins
    whole identities to reach min_cluster_size (measured on ../shared/data/faces_real: 5 of 6
    clusters mixed two or three people at the seed's 5/3). Average-linkage agglomerative at
    `max_distance` inside each cluster separates them; a pure cluster stays whole.
    """
    out = labels.copy()
    next_label = int(labels.max()) + 1 if labels.size else 0
    for label in np.unique(labels[labels != NOISE]):
        members = np.flatnonzero(labels == label)
        if members.size < 2:
            continue
        parts = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average", distance_threshold=max_distance
        ).fit_predict(unit[members])
        for part in np.unique(parts)[1:]:
            out[members[parts == part]] = next_label
            next_label += 1
    return out


def cluster_labels(
    embeddings: np.ndarray,
    method: str = DEFAULT_ALL_PAIRS_METHOD,
    min_cluster_size: int = MIN_CLUSTER_SIZE,
    min_samples: int = MIN_SAMPLES,
    eps: float = UNKNOWN_EPS,
    photo_ids: Sequence | None = None,
    max_distance: float | None = MAX_MEAN_DISTANCE,
) -> np.ndarray:
    """Cluster labels (int64, -1 = noise, others 0..k-1 by first appearance).

    Every method ends with the same post-processing so they are interchangeable: with photo_ids
    the one-face-per-photo rule is applied, then any cluster smaller than min_cluster_size becomes
    noise (a cluster that small is not enough evidence to propose a person). ``min_samples`` is
    used by HDBSCAN only, ``eps`` by DBSCAN and agglomerative only. ``max_distance`` splits
    HDBSCAN clusters whose members are too far apart on average (None: no guard; DBSCAN and
    agglomerative already bound distances with eps).
    """
    if method not in ALL_PAIRS_METHODS:
        raise ValueError(
            f"unknown clustering method {method!r}; valid methods: {', '.join(ALL_PAIRS_METHODS)}"
        )
    if min_cluster_size < 2:
        raise ValueError(
            f"min_cluster_size must be >= 2 (one face is not a group), got {min_cluster_size}"
        )
    if min_samples < 1:
        raise ValueError(f"min_samples must be >= 1, got {min_samples}")
    emb = np.asarray(embeddings)
    if emb.ndim >= 1 and emb.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    unit = _unit_rows(emb)
    n = unit.shape[0]
    if photo_ids is not None and len(photo_ids) != n:
        raise ValueError(f"{len(photo_ids)} photo ids for {n} embeddings")
    if n < min_cluster_size:
        return np.full(n, NOISE, dtype=np.int64)
    labels = np.asarray(_raw_labels(unit, method, min_cluster_size, min_samples, eps))
    labels = labels.astype(np.int64)
    if max_distance is not None and method == "hdbscan":  # the others have eps for this
        labels = _within_diameter(unit, labels, max_distance)
    if photo_ids is not None:
        labels = _one_face_per_photo(unit, labels, photo_ids)
    return _relabel(_drop_small(labels, min_cluster_size))


def _n_clusters(labels: np.ndarray) -> int:
    return int(np.unique(labels[labels != NOISE]).size)


def split_labels(
    embeddings: np.ndarray,
    min_cluster_size: int = SPLIT_MIN_CLUSTER_SIZE,
    min_samples: int = SPLIT_MIN_SAMPLES,
    photo_ids: Sequence | None = None,
) -> np.ndarray:
    """Labels for re-clustering the faces of ONE cluster that a user says mixes people.

    HDBSCAN with tighter parameters first. HDBSCAN never returns the whole input as one cluster
    and, on a small tight blob, may find nothing at all; so when it finds fewer than two clusters
    we fall back to average-linkage agglomerative at SPLIT_EPS, which splits on absolute distance
    instead of relative density. The fallback is only used if it does find two or more clusters;
    otherwise the HDBSCAN result is returned and the caller sees that no split was found.
    """
    labels = cluster_labels(
        embeddings,
        method="hdbscan",
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        photo_ids=photo_ids,
    )
    if _n_clusters(labels) >= 2:
        return labels
    fallback = cluster_labels(
        embeddings,
        method="agglomerative",
        min_cluster_size=min_cluster_size,
        eps=SPLIT_EPS,
        photo_ids=photo_ids,
    )
    return fallback if _n_clusters(fallback) >= 2 else labels
