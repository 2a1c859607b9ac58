"""Seed 002's request bodies and parameters take effect: /cluster's body (maxFaces too),
includeLabeled on the cluster list, split's minClusterSize."""

from __future__ import annotations

from face_assets_tests.api.conftest import CLUSTER

API = "/api/v1/faces"


def test_cluster_accepts_the_seeds_example_body(live):
    with live.client() as client:
        seed = {"qualityThreshold": 0.5, "maxFaces": 50000, "minClusterSize": 5}
        # Valid: it reaches the run launcher (none is configured here: a clear 503, not 422).
        assert client.post(f"{API}/cluster", json=seed).status_code == 503
        assert client.post(f"{API}/cluster", json={"maxFaces": 0}).status_code == 422
        assert client.post(f"{API}/cluster", json={"maxFace": 1}).status_code == 422


def test_include_labeled_lists_each_person_as_a_group(live):
    with live.client() as client:
        named = client.post(f"{API}/clusters/{CLUSTER}/label", json={"name": "Kit"}).json()
        plain = client.get(f"{API}/clusters", params={"pageSize": 100}).json()
        both = client.get(
            f"{API}/clusters", params={"pageSize": 100, "includeLabeled": "true"}
        ).json()
    group = f"person_{named['personId']}"
    assert group not in {c["clusterId"] for c in plain["items"]}
    ours = next(c for c in both["items"] if c["clusterId"] == group)
    assert (ours["personId"], ours["personName"]) == (named["personId"], "Kit")
    assert ours["faceCount"] == len(live.cluster_faces)
    assert set(ours["sampleFaceIds"]) <= set(live.cluster_faces)
    assert both["total"] == plain["total"] + 1  # one person has faces
    assert [c for c in both["items"] if c["personId"] is None] == plain["items"]


def test_split_honours_min_cluster_size(live):
    n = len(live.cluster_faces)
    with live.client() as client:
        path = f"{API}/clusters/{CLUSTER}/split"
        assert client.post(path, json={"minClusterSize": 1}).status_code == 422
        done = client.post(path, json={"minClusterSize": n + 1}).json()
    # No sub-cluster can hold more faces than the cluster has: every face is left out.
    assert done["newClusters"] == [] and done["unclustered"] == n
