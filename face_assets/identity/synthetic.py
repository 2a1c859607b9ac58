"""Synthetic face-embedding libraries (pure numpy); ships for the clustering tests and benchmarks.

The clustering service tests (face_assets_tests/services/test_clusters.py) and the scale
benchmarks (identity_scale.py, graph_scale.py) both build their libraries with it.

A real library cannot be shipped at 1M faces, but its shape can: people seen a long-tailed
number of times (most once, a few thousands of times), photos holding several people, and
same-person / different-person cosine similarities like those of buffalo_s on real faces.

Model: every person has a random unit centre c_p and every face a random unit noise n_i, both in
a random SUBSPACE_DIM-dimensional subspace of R^512; a face is r_i c_p + sqrt(1 - r_i^2) n_i
with a per-face strength r_i ~ N(STRENGTH_MEAN, STRENGTH_STD) (clipped). Two faces of one
person then have similarity ~ r_i r_j; faces of two people ~ N(0, 1 / SUBSPACE_DIM).
The parameters were fitted on the largest faces of ../shared/data/lfw_dev embedded with
buffalo_s (benchmarks/lfw_embeddings.py; compared side by side in benchmarks/graph_tuning.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Every figure below was fitted on buffalo_s's lfw_dev embeddings, so the library has its
# width (vision/packs.py buffalo_s.embedding_dim; identity/ may not import vision/).
EMBEDDING_DIM = 512
# Fitted on lfw_dev (buffalo_s): different-person similarity std 0.0665 -> 1 / 0.0665^2 = 226.
SUBSPACE_DIM = 226
# Fitted on lfw_dev (buffalo_s): same-person similarity mean 0.606, std 0.093; with sim ~ r_i r_j
# that gives E[r] = sqrt(0.606) = 0.778 and std(r) = 0.080 (the subspace noise adds the rest).
STRENGTH_MEAN = 0.778
STRENGTH_STD = 0.080
STRENGTH_RANGE = (0.2, 0.98)  # seed value: keeps every face a mixture of person and noise
# Fitted on lfw_dev: 1,043 of 1,494 people seen once = 1 / zeta(a) at a = 2.30 (zeta law of
# photos per person; it gives the few people seen thousands of times at 1M faces).
PERSON_SIZE_EXPONENT = 2.30
# Seed value: nobody holds more than 5% of the library (a family archive's most photographed).
MAX_PERSON_SHARE = 0.05
# Measured on lfw_dev (buffalo_s detections): photos with 1, 2, ... 6 faces.
FACES_PER_PHOTO_SHARE = (0.8559, 0.1219, 0.0197, 0.0016, 0.0006, 0.0003)
# Seed value: 100 months, so "one month" is 1% of the library.
N_MONTHS = 100
CHUNK = 65_536  # seed value: rows generated at a time (bounds temporary memory)


@dataclass(frozen=True)
class SyntheticLibrary:
    """embeddings (n, EMBEDDING_DIM) float32 unit rows; person_ids, photo_ids, months (n,) int64."""

    embeddings: np.ndarray
    person_ids: np.ndarray
    photo_ids: np.ndarray
    months: np.ndarray


def person_sizes(n_faces: int, rng: np.random.Generator) -> np.ndarray:
    """Faces per person (zeta law, capped), summing exactly to n_faces."""
    cap = max(1, int(MAX_PERSON_SHARE * n_faces))
    sizes: list[np.ndarray] = []
    total = 0
    while total < n_faces:
        draw = np.minimum(rng.zipf(PERSON_SIZE_EXPONENT, size=max(1024, n_faces // 2)), cap)
        sizes.append(draw)
        total += int(draw.sum())
    out = np.concatenate(sizes)
    cut = int(np.searchsorted(np.cumsum(out), n_faces))
    out = out[: cut + 1].copy()
    out[-1] -= int(out.sum()) - n_faces
    return out[out > 0].astype(np.int64)


def _photos(person_ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Photo of every face: faces shuffled and packed into photos of 1-6 faces, never one
    person twice in a photo (a repeat opens a photo of its own)."""
    n = person_ids.size
    order = rng.permutation(n)
    share = np.asarray(FACES_PER_PHOTO_SHARE) / np.sum(FACES_PER_PHOTO_SHARE)
    counts = rng.choice(np.arange(1, share.size + 1), size=n, p=share)
    ends = np.cumsum(counts)
    ends = ends[: int(np.searchsorted(ends, n)) + 1]
    photo_of_slot = np.repeat(np.arange(ends.size), np.diff(np.concatenate([[0], ends])))[:n]
    photo = np.empty(n, dtype=np.int64)
    photo[order] = photo_of_slot
    key = photo * (int(person_ids.max()) + 1) + person_ids
    _, first = np.unique(key, return_index=True)
    repeat = np.ones(n, dtype=bool)
    repeat[first] = False
    photo[repeat] = photo.max(initial=-1) + 1 + np.arange(int(repeat.sum()))
    return photo


def synthetic_library(n_faces: int, seed: int = 0, n_months: int = N_MONTHS) -> SyntheticLibrary:
    """A library of n_faces faces; rows are ordered by month (older first), so the last 1%
    of rows is "the newest month" when n_months is 100."""
    rng = np.random.default_rng(seed)
    sizes = person_sizes(n_faces, rng)
    person = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)
    photo = _photos(person, rng)
    photo_month = rng.integers(0, n_months, size=int(photo.max()) + 1)
    month = photo_month[photo]
    order = np.lexsort((np.arange(n_faces), month))
    person, photo, month = person[order], photo[order], month[order]
    basis, _ = np.linalg.qr(rng.standard_normal((EMBEDDING_DIM, SUBSPACE_DIM)))
    basis = basis.T.astype(np.float32)  # (SUBSPACE_DIM, EMBEDDING_DIM), orthonormal rows
    centres = rng.standard_normal((sizes.size, SUBSPACE_DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n_faces, EMBEDDING_DIM), dtype=np.float32)
    for start in range(0, n_faces, CHUNK):
        rows = slice(start, min(start + CHUNK, n_faces))
        m = rows.stop - rows.start
        noise = rng.standard_normal((m, SUBSPACE_DIM)).astype(np.float32)
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        r = np.clip(rng.normal(STRENGTH_MEAN, STRENGTH_STD, size=(m, 1)), *STRENGTH_RANGE)
        r = r.astype(np.float32)
        low = r * centres[person[rows]] + np.sqrt(1.0 - r * r) * noise
        low /= np.linalg.norm(low, axis=1, keepdims=True)
        out[rows] = low @ basis
    return SyntheticLibrary(out, person, photo, month.astype(np.int64))
