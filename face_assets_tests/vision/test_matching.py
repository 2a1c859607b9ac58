"""Box overlap and one-to-one matching: how a re-detected face is recognised as stored."""

from __future__ import annotations

import numpy as np
import pytest

from face_assets.vision.matching import SAME_FACE_IOU, iou_matrix, match_boxes, overlapping


def test_iou_of_known_boxes():
    a = [[0, 0, 10, 10]]
    b = [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 5, 10], [3, 3, 3, 9]]
    iou = iou_matrix(a, b)
    np.testing.assert_allclose(iou[0], [1.0, 50 / 150, 0.0, 0.5, 0.0])  # last: zero width


def test_empty_inputs_give_empty_results():
    assert iou_matrix([], [[0, 0, 1, 1]]).shape == (0, 1)
    assert match_boxes([[0, 0, 1, 1]], []) == []
    assert overlapping([[0, 0, 1, 1]], []).tolist() == [False]


def test_a_box_moved_by_pixels_is_the_same_face_and_a_neighbour_is_not():
    stored = [[100, 100, 180, 190], [300, 110, 370, 200]]
    # Detector at another size: 1-3 px shifts, and a new face that was missed before.
    found = [[302, 108, 371, 203], [600, 100, 660, 170], [99, 102, 181, 188]]
    pairs = match_boxes(found, stored)
    assert [(i, j) for i, j, _ in pairs] == [(2, 0), (0, 1)]  # best overlap first
    assert all(iou >= SAME_FACE_IOU for _, _, iou in pairs)


def test_matching_is_one_to_one_and_prefers_the_stronger_overlap():
    stored = [[0, 0, 100, 100]]
    found = [[5, 5, 100, 100], [0, 0, 100, 100]]  # both overlap; the exact one wins
    assert [(i, j) for i, j, _ in match_boxes(found, stored)] == [(1, 0)]
    # Two stored faces, two detections crossing them: every face matched once.
    stored = [[0, 0, 100, 100], [60, 0, 160, 100]]
    found = [[55, 0, 155, 100], [2, 0, 102, 100]]
    assert sorted((i, j) for i, j, _ in match_boxes(found, stored)) == [(0, 1), (1, 0)]


@pytest.mark.parametrize("shift,same", [(0, True), (20, True), (40, False)])
def test_threshold_is_iou_half(shift, same):
    stored = [[0, 0, 100, 100]]
    found = [[shift, 0, 100 + shift, 100]]  # IoU = (100 - s) / (100 + s)
    assert bool(match_boxes(found, stored)) is same
    assert overlapping(found, stored).tolist() == [same]
