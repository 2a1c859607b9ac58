"""Quality parts measured on real aligned crops and landmarks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from face_assets.vision import quality
from face_assets.vision.faces import aligned_crop, kept_faces


@pytest.fixture(scope="module")
def real_faces(face_models, t1_path):
    bgr = cv2.imread(str(t1_path))
    boxes, kps = face_models.detect(bgr, threshold=0.5)
    faces = kept_faces(boxes, kps)
    return [(f, aligned_crop(bgr, f.landmarks)) for f in faces]


def test_blurred_crop_scores_lower(real_faces):
    for face, crop in real_faces:
        blurred = cv2.GaussianBlur(crop, (0, 0), 2.0)
        sharp_q = quality.quality_parts(
            face.det_score, face.width, face.height, crop, face.landmarks
        )
        blur_q = quality.quality_parts(
            face.det_score, face.width, face.height, blurred, face.landmarks
        )
        assert blur_q.blur_variance < sharp_q.blur_variance / 3
        assert blur_q.blur < sharp_q.blur
        assert blur_q.quality < sharp_q.quality


def test_pose_score_is_mirror_symmetric_on_real_faces(real_faces, face_models, t1_path):
    """A head turned left scores like the same head turned right (the mirrored photo)."""
    bgr = cv2.imread(str(t1_path))
    mirrored = cv2.flip(bgr, 1)
    boxes, kps = face_models.detect(mirrored, threshold=0.5)
    width = bgr.shape[1]
    mirrored_faces = kept_faces(boxes, kps)
    for face, _ in real_faces:
        centre = width - (face.bbox[0] + face.bbox[2]) / 2
        twin = min(mirrored_faces, key=lambda f: abs((f.bbox[0] + f.bbox[2]) / 2 - centre))
        assert quality.pose_score(twin.landmarks) == pytest.approx(
            quality.pose_score(face.landmarks), abs=0.1
        )
    scores = [quality.pose_score(face.landmarks) for face, _ in real_faces]
    assert max(scores) > 0.8 and min(scores) < 0.5  # t1 holds frontal and turned heads


def test_shifted_nose_lowers_pose_score(real_faces):
    face, _ = real_faces[0]
    turned = face.landmarks.copy()
    eye_gap = turned[1, 0] - turned[0, 0]
    turned[2, 0] += 0.35 * eye_gap  # nose moves toward the right eye: a head turn
    assert quality.pose_score(turned) < quality.pose_score(face.landmarks) - 0.3


def test_mirrored_and_shifted_landmarks_lower_pose():
    frontal = np.array([[38, 52], [74, 52], [56, 72], [42, 92], [70, 92]], dtype=np.float32)
    assert quality.pose_score(frontal) == pytest.approx(1.0)
    mirrored = frontal.copy()
    mirrored[:, 0] = 112 - mirrored[:, 0]
    mirrored[[0, 1]] = mirrored[[1, 0]]
    mirrored[[3, 4]] = mirrored[[4, 3]]
    mirrored[2, 0] -= 12  # then shifted: the nose moves toward one eye
    assert quality.yaw_ratio(mirrored) == pytest.approx(-12 / 18, abs=1e-6)
    assert quality.pose_score(mirrored) == pytest.approx(1 - 12 / 18, abs=1e-6)
    profile = frontal.copy()
    profile[2, 0] = frontal[1, 0] + 5  # nose beyond an eye: profile
    assert quality.pose_score(profile) == 0.0


def test_roll_is_not_yaw():
    frontal = np.array([[38, 52], [74, 52], [56, 72], [42, 92], [70, 92]], dtype=np.float64)
    angle = np.deg2rad(30)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    rolled = (frontal - 56) @ rot.T + 56
    assert quality.pose_score(rolled) == pytest.approx(1.0, abs=1e-6)


def test_size_score_follows_seed_formula():
    assert quality.size_score(200, 200) == 1.0
    assert quality.size_score(100, 100) == pytest.approx(0.25)
    assert quality.size_score(400, 400) == 1.0


def test_quality_is_weighted_sum_in_unit_range(real_faces):
    face, crop = real_faces[0]
    parts = quality.quality_parts(face.det_score, face.width, face.height, crop, face.landmarks)
    expected = 0.4 * parts.confidence + 0.3 * parts.size + 0.2 * parts.blur + 0.1 * parts.pose
    assert parts.quality == pytest.approx(expected)
    assert 0.0 <= parts.quality <= 1.0
    perfect = quality.quality_parts(
        1.0,
        300,
        300,
        crop,
        np.array([[38, 52], [74, 52], [56, 72], [42, 92], [70, 92]], dtype=np.float32),
    )
    assert perfect.quality <= 1.0
