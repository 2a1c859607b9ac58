"""Shape sanity of the synthetic library generator (fitted on lfw_dev, buffalo_s)."""

from __future__ import annotations

import numpy as np

from face_assets.identity import synthetic


def test_library_shape_and_types():
    lib = synthetic.synthetic_library(5000, seed=1)
    assert lib.embeddings.shape == (5000, synthetic.EMBEDDING_DIM)
    assert lib.embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(lib.embeddings, axis=1), 1.0, atol=1e-4)
    for arr in (lib.person_ids, lib.photo_ids, lib.months):
        assert arr.shape == (5000,) and arr.dtype == np.int64
    assert lib.months.min() >= 0 and lib.months.max() < synthetic.N_MONTHS
    assert (np.diff(lib.months) >= 0).all()  # ordered by month: the newest month is last
    again = synthetic.synthetic_library(5000, seed=1)
    assert np.array_equal(lib.embeddings, again.embeddings)


def test_people_sizes_are_long_tailed_like_lfw_dev():
    lib = synthetic.synthetic_library(20000, seed=2)
    counts = np.bincount(lib.person_ids)
    assert 0.65 <= np.mean(counts == 1) <= 0.75  # lfw_dev: 1,043 of 1,494 seen once
    assert counts.max() >= 100
    assert counts.max() <= synthetic.MAX_PERSON_SHARE * 20000


def test_photos_hold_a_person_once_and_some_hold_several():
    lib = synthetic.synthetic_library(20000, seed=3)
    key = lib.photo_ids * (lib.person_ids.max() + 1) + lib.person_ids
    assert np.unique(key).size == key.size
    faces_per_photo = np.bincount(lib.photo_ids)
    faces_per_photo = faces_per_photo[faces_per_photo > 0]
    assert 0.75 <= np.mean(faces_per_photo == 1) <= 0.95
    # Every face of a photo has the photo's month.
    months = np.zeros(lib.photo_ids.max() + 1, dtype=np.int64)
    months[lib.photo_ids] = lib.months
    assert np.array_equal(months[lib.photo_ids], lib.months)


def test_similarities_match_the_fitted_real_distributions():
    lib = synthetic.synthetic_library(6000, seed=4)
    x, person = lib.embeddings, lib.person_ids
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(x), 100_000), rng.integers(0, len(x), 100_000)
    diff = np.einsum("ij,ij->i", x[i], x[j])[person[i] != person[j]]
    assert abs(np.median(diff)) < 0.01
    assert 0.055 <= diff.std() <= 0.08  # lfw_dev: 0.0665
    big = np.flatnonzero(np.bincount(person) >= 20)[:20]
    same = []
    for p in big.tolist():
        rows = np.flatnonzero(person == p)
        sims = x[rows] @ x[rows].T
        same.append(sims[np.triu_indices(rows.size, 1)])
    same = np.concatenate(same)
    assert 0.56 <= np.median(same) <= 0.66  # lfw_dev: 0.612
    assert 0.30 <= np.percentile(same, 1) <= 0.45  # lfw_dev: 0.360
