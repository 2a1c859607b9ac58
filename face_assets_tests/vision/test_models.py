"""Real buffalo_s models on real photos, and honest errors about providers and packs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from face_assets.vision import models, providers
from face_assets.vision.faces import aligned_crop, kept_faces


def _faces_and_embeddings(face_models, bgr):
    boxes, kps = face_models.detect(bgr, threshold=0.5)
    faces = kept_faces(boxes, kps)
    crops = [aligned_crop(bgr, f.landmarks) for f in faces]
    return faces, face_models.embed(crops)


def test_t1_has_six_faces_with_unit_norm_embeddings(face_models, t1_path):
    bgr = cv2.imread(str(t1_path))
    faces, emb = _faces_and_embeddings(face_models, bgr)
    assert len(faces) == 6
    assert emb.shape == (6, face_models.embedding_dim)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # Six different people: no pair is as similar as the same person would be.
    sims = emb @ emb.T
    assert sims[~np.eye(6, dtype=bool)].max() < 0.4


def test_same_face_in_flipped_rescaled_copy_is_nearest(face_models, t1_path):
    bgr = cv2.imread(str(t1_path))
    faces, emb = _faces_and_embeddings(face_models, bgr)
    copy = cv2.flip(cv2.resize(bgr, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA), 1)
    copy_faces, copy_emb = _faces_and_embeddings(face_models, copy)
    assert len(copy_faces) == 6
    width = bgr.shape[1]
    for face, vector in zip(faces, emb, strict=True):
        # Where the face lands in the flipped, scaled copy.
        cx = (width - (face.bbox[0] + face.bbox[2]) / 2) * 0.7
        cy = (face.bbox[1] + face.bbox[3]) / 2 * 0.7
        centres = np.array(
            [[(f.bbox[0] + f.bbox[2]) / 2, (f.bbox[1] + f.bbox[3]) / 2] for f in copy_faces]
        )
        same = int(np.argmin(np.linalg.norm(centres - [cx, cy], axis=1)))
        sims = copy_emb @ vector
        assert int(np.argmax(sims)) == same
        assert sims[same] > 0.6
        assert sims[same] - np.delete(sims, same).max() > 0.3


def test_batched_embeddings_equal_one_at_a_time(face_models, t1_path):
    bgr = cv2.imread(str(t1_path))
    boxes, kps = face_models.detect(bgr, threshold=0.5)
    crops = [aligned_crop(bgr, k) for k in kps]
    batched = face_models.embed(crops, batch_size=4)
    single = np.vstack([face_models.embed([c]) for c in crops])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_models_load_once_per_process(face_models):
    assert models.load_face_models("buffalo_s", ("cpu",)) is face_models


def test_cuda_request_without_cuda_fails_loudly():
    with pytest.raises(providers.ProviderUnavailableError) as exc:
        models.load_face_models("buffalo_s", ("cuda",))
    message = str(exc.value)
    assert "CUDAExecutionProvider" in message
    assert "CPUExecutionProvider" in message  # says what ORT gave instead


def test_unknown_provider_is_named():
    with pytest.raises(providers.ProviderUnavailableError, match="NoSuchExecutionProvider"):
        models.load_face_models("buffalo_s", ("NoSuchExecutionProvider",))


def test_unknown_pack_and_missing_pack_say_how_to_fix(tmp_path):
    with pytest.raises(ValueError, match="buffalo_s"):
        models.pack_files("buffalo_xl")
    with pytest.raises(models.ModelPackMissingError) as exc:
        models.pack_files("buffalo_l", model_root=str(tmp_path), download=False)
    assert "buffalo_l" in str(exc.value)


def test_buffalo_l_download_failure_is_a_clear_error(tmp_path, monkeypatch):
    import insightface.utils.storage as storage

    def offline(*args, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(storage, "ensure_available", offline)
    with pytest.raises(models.ModelPackMissingError) as exc:
        models.pack_files("buffalo_l", model_root=str(tmp_path), download=True)
    assert "could not be downloaded" in str(exc.value)
    assert "unzip" in str(exc.value)
