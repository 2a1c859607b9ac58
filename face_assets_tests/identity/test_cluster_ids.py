"""Cluster ids across re-runs (face_assets.identity.cluster_ids): matching, minting, salting."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from face_assets.identity.cluster_ids import (
    MIN_ID_OVERLAP,
    default_cluster_id,
    mint_cluster_id,
    stable_cluster_ids,
    sub_cluster_id,
    successor_ids,
)
from face_assets.identity.clustering import NOISE


def _labels_for(face_ids, clusters):
    """labels array for face_ids given {label: [face ids]}; unlisted faces are noise."""
    by_face = {f: lab for lab, members in clusters.items() for f in members}
    return np.array([by_face.get(f, -1) for f in face_ids])


def test_default_id_is_sha1_of_sorted_members():
    expected = "clu_" + hashlib.sha1(b"1,2,10").hexdigest()[:10]
    assert default_cluster_id([10, 2, 1]) == expected
    assert default_cluster_id({1, 2, 10}) == expected


def test_minted_ids_step_past_ids_in_use_and_sub_ids_extend_the_parent():
    used = {default_cluster_id([1, 2, 10])}
    assert mint_cluster_id([10, 2, 1], used) == default_cluster_id([1, 2, 10], 1)
    assert default_cluster_id([1, 2, 10], 1) in used
    expected = "clu_x_sub_" + hashlib.sha1(b"1,2,10").hexdigest()[:6]
    assert sub_cluster_id("clu_x", [10, 2, 1]) == expected


def test_first_run_mints_deterministic_ids():
    faces = list(range(10))
    labels = _labels_for(faces, {0: [0, 1, 2, 3], 1: [4, 5, 6]})
    ids = stable_cluster_ids({}, faces, labels)
    assert ids == {0: default_cluster_id([0, 1, 2, 3]), 1: default_cluster_id([4, 5, 6])}
    assert ids == stable_cluster_ids({}, faces, labels)
    assert all(len(v) == 14 and v.startswith("clu_") for v in ids.values())


def test_ids_survive_rerun_with_face_added_and_removed_and_labels_permuted():
    previous = {"clu_alice": set(range(0, 8)), "clu_bob": set(range(8, 16))}
    faces = list(range(17))  # face 16 is new
    # alice gains face 16, bob loses face 15 to noise; label numbers are swapped this run.
    labels = _labels_for(faces, {1: list(range(0, 8)) + [16], 0: list(range(8, 15))})
    ids = stable_cluster_ids(previous, faces, labels)
    assert ids == {1: "clu_alice", 0: "clu_bob"}


def test_genuinely_new_cluster_gets_new_id():
    previous = {"clu_alice": set(range(0, 8))}
    faces = list(range(14))
    labels = _labels_for(faces, {0: list(range(0, 8)), 1: list(range(8, 14))})
    ids = stable_cluster_ids(previous, faces, labels)
    assert ids[0] == "clu_alice"
    assert ids[1] == default_cluster_id(range(8, 14))
    assert ids[1] not in previous


def test_weak_overlap_mints_new_id():
    previous = {"clu_old": set(range(0, 10))}
    faces = list(range(20))
    # 4 old faces + 6 others: Jaccard 4 / 16 = 0.25 < 0.5
    labels = _labels_for(faces, {0: [0, 1, 2, 3, 14, 15, 16, 17, 18, 19]})
    ids = stable_cluster_ids(previous, faces, labels)
    assert ids[0] != "clu_old"
    # ...unless the caller lowers the bar.
    assert stable_cluster_ids(previous, faces, labels, min_overlap=0.25)[0] == "clu_old"


def test_old_id_goes_to_one_half_of_a_split_only():
    previous = {"clu_old": set(range(0, 9))}
    faces = list(range(9))
    labels = _labels_for(faces, {0: [0, 1, 2, 3], 1: [4, 5, 6, 7, 8]})
    # Jaccards 4/9 and 5/9; with the bar at 0.4 both qualify, but an id is used once.
    ids = stable_cluster_ids(previous, faces, labels, min_overlap=0.4)
    assert ids[1] == "clu_old"
    assert ids[0] == default_cluster_id([0, 1, 2, 3])


def test_matching_is_globally_optimal_not_greedy():
    previous = {"A": {0, 1, 2, 3}, "B": {4, 5}}
    faces = list(range(8))
    labels = _labels_for(faces, {0: [0, 1, 2, 4, 5], 1: [3, 6, 7]})
    # X={0,1,2,4,5}: J(X,A)=3/6=0.5, J(X,B)=2/5=0.4.  Y={3,6,7}: J(Y,A)=1/6, J(Y,B)=0.
    # Greedy takes X->A and leaves Y with nothing; the optimum X->B + Y->A sums to 0.567.
    ids = stable_cluster_ids(previous, faces, labels, min_overlap=0.15)
    assert ids == {0: "B", 1: "A"}
    # With the bar above 1/6, Y->A is ineligible and must not steer the optimum: X keeps A.
    ids = stable_cluster_ids(previous, faces, labels, min_overlap=0.2)
    assert ids == {0: "A", 1: default_cluster_id([3, 6, 7])}


def test_deleted_faces_do_not_count_against_overlap():
    previous = {"clu_old": set(range(10))}
    faces = list(range(4))  # faces 4..9 were deleted from the library
    labels = _labels_for(faces, {0: [0, 1, 2, 3]})
    assert stable_cluster_ids(previous, faces, labels) == {0: "clu_old"}


def test_noise_gets_no_id():
    faces = [10, 11, 12, 13]
    labels = np.array([-1, 0, 0, -1])
    assert stable_cluster_ids({}, faces, labels) == {0: default_cluster_id([11, 12])}


def test_new_id_never_reuses_a_previous_id():
    members = [0, 1, 2]
    clash = default_cluster_id(members)
    # The previous holder of that id has entirely different faces (and no overlap).
    previous = {clash: {50, 51, 52}}
    ids = stable_cluster_ids(previous, [0, 1, 2, 50], np.array([0, 0, 0, -1]))
    assert ids[0] != clash
    assert ids[0].startswith("clu_") and len(ids[0]) == 14
    assert ids[0] == default_cluster_id(members, 1)  # salted once past the clash


def test_stable_ids_validate_inputs():
    with pytest.raises(ValueError):
        stable_cluster_ids({}, [1, 2], np.array([0]))
    with pytest.raises(ValueError):
        stable_cluster_ids({}, [1], np.array([0]), min_overlap=0)


def _dense_stable_ids(
    previous: Mapping[str, set[int]],
    face_ids: Sequence[int],
    labels: np.ndarray,
    min_overlap: float = MIN_ID_OVERLAP,
) -> dict[int, str]:
    """The straightforward reference: Hungarian assignment over the whole clusters x previous
    Jaccard matrix (what stable_cluster_ids computes without the matrix)."""
    if not 0 < min_overlap <= 1:
        raise ValueError(f"min_overlap must lie in (0, 1], got {min_overlap}")
    labels = np.asarray(labels).reshape(-1)
    if len(face_ids) != labels.size:
        raise ValueError(f"{len(face_ids)} face ids for {labels.size} labels")

    new_clusters: dict[int, set[int]] = {}
    for face, lab in zip(face_ids, labels.tolist(), strict=True):
        if lab != NOISE:
            new_clusters.setdefault(int(lab), set()).add(int(face))
    new_labels = sorted(new_clusters)

    present = {int(f) for f in face_ids}
    prev_ids = sorted(previous)
    prev_sets = [{int(f) for f in previous[p]} & present for p in prev_ids]

    result: dict[int, str] = {}
    if new_labels and prev_ids:
        face_to_prev: dict[int, list[int]] = {}
        for j, members in enumerate(prev_sets):
            for f in members:
                face_to_prev.setdefault(f, []).append(j)
        jaccard = np.zeros((len(new_labels), len(prev_ids)))
        for i, lab in enumerate(new_labels):
            members = new_clusters[lab]
            inter: dict[int, int] = {}
            for f in members:
                for j in face_to_prev.get(f, ()):
                    inter[j] = inter.get(j, 0) + 1
            for j, k in inter.items():
                jaccard[i, j] = k / (len(members) + len(prev_sets[j]) - k)
        # Ineligible pairs must not steer the optimum (it could pick one and then drop it).
        jaccard[jaccard < min_overlap] = 0.0
        rows, cols = linear_sum_assignment(jaccard, maximize=True)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            if jaccard[i, j] >= min_overlap:
                result[new_labels[i]] = prev_ids[j]

    used = set(previous) | set(result.values())
    for lab in new_labels:
        if lab in result:
            continue
        result[lab] = mint_cluster_id(new_clusters[lab], used)
    return result


def _random_case(rng: np.random.Generator):
    n = int(rng.integers(5, 40))
    faces = rng.choice(1000, size=n, replace=False)
    labels = rng.integers(-1, int(rng.integers(1, 8)), size=n)
    previous: dict[str, set[int]] = {}
    pool = np.concatenate([faces, rng.choice(np.arange(1000, 1100), 10, replace=False)])
    owner = rng.integers(0, int(rng.integers(1, 8)), size=pool.size)
    keep = rng.random(pool.size) < 0.8
    for p in np.unique(owner[keep]).tolist():
        previous[f"clu_prev{p}"] = set(pool[keep & (owner == p)].tolist())
    return previous, faces.tolist(), labels


@pytest.mark.parametrize("min_overlap", [0.34, 0.5, 0.6, 0.9])
def test_stable_ids_agree_with_the_dense_assignment(min_overlap):
    rng = np.random.default_rng(int(min_overlap * 100))
    for _ in range(200):
        previous, faces, labels = _random_case(rng)
        dense = _dense_stable_ids(previous, faces, labels, min_overlap=min_overlap)
        sparse_ids = stable_cluster_ids(previous, faces, labels, min_overlap=min_overlap)
        if min_overlap > 0.5:
            assert sparse_ids == dense
        else:  # ties may be broken differently; the matched total Jaccard is the same
            assert set(sparse_ids) == set(dense)
            assert _matched_jaccard(previous, faces, labels, sparse_ids) == pytest.approx(
                _matched_jaccard(previous, faces, labels, dense)
            )


def _matched_jaccard(previous, faces, labels, ids) -> float:
    present = set(faces)
    total = 0.0
    for lab, cid in ids.items():
        if cid in previous:
            new = {f for f, lab2 in zip(faces, labels.tolist(), strict=True) if lab2 == lab}
            old = previous[cid] & present
            total += len(new & old) / len(new | old)
    return total


def test_a_retired_cluster_is_succeeded_by_where_most_of_its_members_went():
    moves = [
        ("a", "x"),
        ("a", "y"),
        ("a", "y"),  # a: two of three went to y
        ("b", "q"),
        ("b", "p"),  # b: a tie, the smallest id
        ("c", None),
        ("c", None),  # c: all fell out of clusters
        ("d", "d"),  # d: kept, not asked
        (None, "z"),  # a new member: no cluster before
    ]
    assert successor_ids(moves, ["a", "b", "c", "gone"]) == {"a": "y", "b": "p", "c": None}
    assert successor_ids(moves, []) == {}
    # Noise does not outvote a real successor: one member is enough to follow.
    assert successor_ids([("e", None), ("e", None), ("e", "w")], {"e"}) == {"e": "w"}
