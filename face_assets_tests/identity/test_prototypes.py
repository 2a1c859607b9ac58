import numpy as np
import pytest

from face_assets.identity.prototypes import EXEMPLARS_PER_PERSON, centroid, exemplar_indices


def test_centroid_is_normalised_mean_float32():
    emb = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    c = centroid(emb)
    assert c.dtype == np.float32
    np.testing.assert_allclose(c, [2**-0.5, 2**-0.5, 0.0], rtol=1e-6)
    assert np.linalg.norm(c) == pytest.approx(1.0, abs=1e-6)


def test_centroid_of_one_face_is_that_face_and_accepts_1d():
    v = np.array([0.6, 0.8], dtype=np.float32)
    np.testing.assert_allclose(centroid(v[None, :]), v, rtol=1e-6)
    np.testing.assert_allclose(centroid(v), v, rtol=1e-6)


def test_centroid_is_closer_to_members_than_they_are_to_each_other():
    rng = np.random.default_rng(0)
    centre = rng.normal(size=512)
    centre /= np.linalg.norm(centre)
    faces = centre + rng.normal(scale=0.02, size=(8, 512))
    faces /= np.linalg.norm(faces, axis=1, keepdims=True)
    c = centroid(faces)
    assert float(np.min(faces @ c)) > float(np.mean((faces @ faces.T)[np.triu_indices(8, 1)]))


def test_centroid_rejects_empty_and_cancelling_input():
    with pytest.raises(ValueError):
        centroid(np.empty((0, 512)))
    with pytest.raises(ValueError, match="zero mean"):
        centroid(np.array([[1.0, 0.0], [-1.0, 0.0]]))


def test_exemplars_are_top_k_by_quality():
    assert EXEMPLARS_PER_PERSON == 3
    assert exemplar_indices([0.1, 0.9, 0.5, 0.7, 0.3]) == [1, 3, 2]
    assert exemplar_indices([0.1, 0.9, 0.5], k=1) == [1]


def test_exemplar_ties_broken_by_index():
    assert exemplar_indices([0.5, 0.9, 0.5, 0.9, 0.5]) == [1, 3, 0]
    assert exemplar_indices([0.2, 0.2, 0.2, 0.2], k=2) == [0, 1]


def test_exemplars_fewer_faces_than_k_and_edge_cases():
    assert exemplar_indices([0.4, 0.8]) == [1, 0]
    assert exemplar_indices([]) == []
    assert exemplar_indices([0.4], k=0) == []
    with pytest.raises(ValueError):
        exemplar_indices([0.4], k=-1)


def test_exemplars_rank_unscored_faces_last():
    assert exemplar_indices([float("nan"), 0.1, 0.2, float("nan")]) == [2, 1, 0]


def test_exemplar_ties_broken_by_index_on_long_inputs():
    # Long enough that an unstable sort would scramble the tied faces.
    qualities = [0.5] * 100
    qualities[50] = qualities[70] = 0.9
    assert exemplar_indices(qualities) == [50, 70, 0]
    assert exemplar_indices(qualities, k=5) == [50, 70, 0, 1, 2]
