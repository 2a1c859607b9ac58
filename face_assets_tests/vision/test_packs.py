"""The pack registry's contract: every pack's width and crop size are what its models give on
a real photo, download packs are found in the layouts their zips unpack to, and the permissive
pack never touches a non-commercial model nor falls back from a GPU request."""

from __future__ import annotations

import shutil
from dataclasses import replace

import cv2
import numpy as np
import pytest

from face_assets.vision import dlib_models, models, packs, providers
from face_assets.vision.faces import kept_faces

PHOTO = "faces_real/barack_obama/1.jpg"


@pytest.mark.parametrize("name", [n for n, p in packs.PACKS.items() if p.offline])
def test_offline_pack_output_matches_its_registry_entry(name, shared_data):
    info = packs.pack_info(name)
    loaded = models.load_face_models(name, ("cpu",))
    bgr = cv2.imread(str(shared_data / PHOTO))
    boxes, kps = loaded.detect(bgr, threshold=0.5)
    faces = kept_faces(boxes, kps)
    assert faces, f"{name} found no face in {PHOTO}"
    assert ((boxes[:, 4] >= 0) & (boxes[:, 4] <= 1)).all()
    crop = loaded.align(bgr, faces[0].landmarks)
    assert crop.shape == (info.input_size, info.input_size, 3) and crop.dtype == np.uint8
    raw = loaded.embed([crop], normalise=False)
    unit = loaded.embed([crop])
    assert raw.shape == unit.shape == (1, info.embedding_dim) == (1, loaded.embedding_dim)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-5)
    # The pose landmarks mean the same for every pack: eyes left then right, nose below them.
    left, right, nose = faces[0].landmarks[:3]
    assert left[0] < nose[0] < right[0] and nose[1] > max(left[1], right[1])


def test_every_pack_declares_what_users_and_the_selector_read():
    for pack in packs.PACKS.values():
        assert pack.family in (packs.FAMILY_INSIGHTFACE, packs.FAMILY_DLIB)
        assert pack.embedding_dim > 0 and pack.input_size > 0
        assert pack.licence and pack.source and pack.threshold_method
        assert -1.0 < pack.person_threshold < 1.0 and 0.0 <= pack.assign_margin < 0.2
    permissive = packs.pack_info(packs.PERMISSIVE_PACK)
    assert permissive.commercial_use and permissive.offline


def test_same_person_is_closer_than_a_stranger_with_the_permissive_pack(shared_data):
    loaded = models.load_face_models(packs.PERMISSIVE_PACK, ("cpu",))

    def vector(path):
        bgr = cv2.imread(str(shared_data / path))
        boxes, kps = loaded.detect(bgr, threshold=0.5)
        return loaded.embed([loaded.align(bgr, kept_faces(boxes, kps)[0].landmarks)])[0]

    a, b, stranger = (
        vector(PHOTO),
        vector("faces_real/barack_obama/2.jpg"),
        vector("faces_real/angelina_jolie/1.jpg"),
    )
    threshold = packs.person_threshold(packs.PERMISSIVE_PACK)
    assert float(a @ b) >= threshold > float(a @ stranger)


def test_dlib_landmarks_round_trip_to_the_chip_dlib_makes(shared_data, monkeypatch):
    import dlib
    import face_recognition_models

    # One view, as dlib computes it (the registry's flip averaging is tested on its own).
    info = packs.pack_info(packs.PERMISSIVE_PACK)
    monkeypatch.setitem(packs.PACKS, info.name, replace(info, flip_average=False))

    loaded = models.load_face_models(packs.PERMISSIVE_PACK, ("cpu",))
    bgr = cv2.imread(str(shared_data / PHOTO))
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    rect = dlib.get_frontal_face_detector()(rgb, 1)[0]
    predictor = dlib.shape_predictor(
        face_recognition_models.pose_predictor_five_point_model_location()
    )
    shape = predictor(rgb, rect)
    theirs = np.asarray(loaded.recognizer.compute_face_descriptor(rgb, shape, 0, 0.25))
    parts = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
    ours = loaded.embed([loaded.align(bgr, dlib_models.to_pack_landmarks(parts))], normalise=False)
    np.testing.assert_allclose(ours[0], theirs, atol=1e-5)


def test_permissive_pack_refuses_gpu_and_non_commercial_models():
    with pytest.raises(providers.ProviderUnavailableError, match="no CUDA"):
        models.load_face_models(packs.PERMISSIVE_PACK, ("cuda",))
    with pytest.raises(ValueError, match="non-commercial"):
        dlib_models._model_path("shape_predictor_68_face_landmarks.dat")


@pytest.mark.parametrize("name", ["buffalo_l", "antelopev2"])
def test_download_packs_load_from_the_layout_their_zip_unpacks_to(name, tmp_path):
    """Stand-in files (buffalo_s's own ONNX models under the pack's file names) test the
    layout and the loader, not the download (no internet here)."""
    info = packs.pack_info(name)
    det_src, rec_src = models.pack_files("buffalo_s")
    # antelopev2.zip holds a folder of its own name; buffalo_l.zip holds the files.
    folder = tmp_path / "models" / name / (name if name == "antelopev2" else "")
    folder.mkdir(parents=True)
    shutil.copy(det_src, folder / info.detector)
    shutil.copy(rec_src, folder / info.recognizer)
    loaded = models.load_face_models(name, ("cpu",), model_root=str(tmp_path), download=False)
    assert loaded.pack == name and loaded.embedding_dim == info.embedding_dim
    crop = np.zeros((info.input_size, info.input_size, 3), dtype=np.uint8)
    assert loaded.embed([crop]).shape == (1, info.embedding_dim)


def test_the_merge_bar_rises_a_step_per_sqrt2_growth_and_a_slope_per_tenfold():
    ref, step = packs.CLUSTER_BAR_REFERENCE_FACES, packs.CLUSTER_BAR_STEP
    for name, pack in packs.PACKS.items():
        base, slope = pack.cluster_min_similarity, pack.cluster_bar_per_decade
        # Small libraries keep the reference bar; within a step the bar does not move.
        assert packs.cluster_bar(name, 1) == packs.cluster_bar(name, ref) == base
        assert packs.cluster_bar(name, int(ref * step) - 1) == base
        assert packs.cluster_bar(name, int(ref * step) + 1) == pytest.approx(
            base + slope * np.log10(step), abs=1e-4
        )
        # Tenfold more faces (6 steps of sqrt 2 = x8, the 7th at x11.3): ~ one slope higher.
        assert packs.cluster_bar(name, 8 * ref) == pytest.approx(base + slope * np.log10(8), 1e-3)
        sizes = [int(ref * 1.1**i) for i in range(60)]
        bars = [packs.cluster_bar(name, n) for n in sizes]
        assert bars == sorted(bars) and bars[-1] > base
    # buffalo_s on a library 3.26x lfw_dev (the held-out LFW, ~10,600 faces): 0.40, not 0.375.
    assert packs.cluster_bar("buffalo_s", 3252) == pytest.approx(0.375, abs=1e-3)
    assert packs.cluster_bar("buffalo_s", 10_600) == pytest.approx(0.3997, abs=1e-3)


@pytest.mark.parametrize("name", [n for n, p in packs.PACKS.items() if p.offline])
def test_flip_averaging_embeds_the_crop_and_its_mirror_as_the_registry_says(
    name, shared_data, monkeypatch
):
    assert packs.pack_info("dlib_resnet").flip_average  # +1.5 points on LFW pairs (registry)
    assert not packs.pack_info("buffalo_s").flip_average  # adds nothing there
    info = packs.pack_info(name)
    loaded = models.load_face_models(name, ("cpu",))
    bgr = cv2.imread(str(shared_data / PHOTO))
    boxes, kps = loaded.detect(bgr, threshold=0.5)
    crop = loaded.align(bgr, kept_faces(boxes, kps)[0].landmarks)
    mirror = np.ascontiguousarray(crop[:, ::-1])
    as_registered = loaded.embed([crop])
    monkeypatch.setitem(packs.PACKS, name, replace(info, flip_average=False))
    plain, raw, raw_mirror = loaded.embed([crop]), *loaded.embed([crop, mirror], normalise=False)
    monkeypatch.setitem(packs.PACKS, name, replace(info, flip_average=True))
    flipped = loaded.embed([crop])
    # Defined as: each view's unit vector, averaged, renormalised (raw: the views' mean).
    unit = raw / np.linalg.norm(raw) + raw_mirror / np.linalg.norm(raw_mirror)
    np.testing.assert_allclose(flipped[0], unit / np.linalg.norm(unit), atol=1e-5)
    np.testing.assert_allclose(
        loaded.embed([crop], normalise=False)[0], (raw + raw_mirror) / 2, rtol=1e-5, atol=1e-6
    )
    assert float(plain[0] @ flipped[0]) < 0.9999  # the mirror changes the vector
    assert float(plain[0] @ flipped[0]) > 0.8  # but it is the same face
    np.testing.assert_allclose(as_registered, flipped if info.flip_average else plain, atol=1e-6)
