"""Seed 002's request bodies and parameters take effect: /cluster's body (maxFaces too),
includeLabeled on the cluster list, split's minClusterSize, /detect/{asset_id} for one photo,
/cluster/dual and /train with the seed's fields."""

from __future__ import annotations

from face_assets_tests.api.conftest import CLUSTER

API = "/api/v1/faces"


def test_cluster_accepts_the_seeds_example_body(live):
    with live.client() as client:
        seed = {"qualityThreshold": 0.5, "maxFaces": 50000, "minClusterSize": 5}
        done = client.post(f"{API}/cluster", json=seed)
        assert done.status_code == 200, done.text
        counts = done.json()
        assert counts["status"] == "completed" and counts["totalFaces"] > 0
        assert counts["clustersFound"] >= 1 and counts["noiseCount"] >= 0
        with live.store.transaction() as conn:
            clustered = conn.execute(
                "SELECT count(DISTINCT cluster_id) FROM faces WHERE cluster_id IS NOT NULL"
            ).fetchone()[0]
        assert clustered == counts["clustersFound"]
        again = client.post(f"{API}/cluster", json=seed).json()
        assert again["mode"] == "unchanged" and again["clustersFound"] == counts["clustersFound"]
        # Queued: it reaches the run launcher (none is configured here: a clear 503, not 422).
        assert client.post(f"{API}/cluster", json={**seed, "queue": True}).status_code == 503
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


def test_cluster_dual_answers_the_seeds_response_from_one_call(live):
    seed_body = {
        "person_threshold": 0.7,
        "unknown_method": "hdbscan",
        "unknown_min_cluster_size": 3,
        "unknown_eps": 0.5,
        "max_faces": 50000,
        "queue": False,
    }
    with live.client() as client:
        client.post(f"{API}/clusters/{CLUSTER}/label", json={"name": "Kit"}).raise_for_status()
        done = client.post(f"{API}/cluster/dual", json=seed_body)
        queued = client.post(f"{API}/cluster/dual", json={"queue": True})
        wrong = client.post(f"{API}/cluster/dual", json={"unknown_method": "kmeans"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert set(body["supervised"]) == {"faces_processed", "assigned_to_persons", "persons_matched"}
    assert set(body["unsupervised"]) == {"unlabeled_faces", "clusters_found", "noise_count"}
    assert body["status"] == "completed" and body["person_threshold"] == 0.7
    with live.store.transaction() as conn:
        auto, persons, unlabelled, clustered = conn.execute(
            "SELECT count(*) FILTER (WHERE assignment_method = 'auto'),"
            " count(DISTINCT person_id) FILTER (WHERE assignment_method = 'auto'),"
            " count(*) FILTER (WHERE person_id IS NULL AND assignment_method IS NULL),"
            " count(DISTINCT cluster_id) FILTER (WHERE person_id IS NULL)"
            " FROM faces WHERE pack = 'buffalo_s'"
        ).fetchone()
    sup, unsup = body["supervised"], body["unsupervised"]
    assert (sup["assigned_to_persons"], sup["persons_matched"]) == (auto, persons)
    assert sup["faces_processed"] == body["total_faces"] >= unlabelled
    assert unsup["clusters_found"] == clustered
    assert queued.status_code == 503  # no Dagster here: the queued form needs one
    assert wrong.status_code == 400 and "kmeans" in wrong.json()["detail"]


def test_train_answers_the_seeds_response_and_the_gate_decides(live):
    from face_assets.services import labels
    from face_assets.store import heads as head_store
    from face_assets_tests.api.conftest import PACK, faces_of
    from face_assets_tests.conftest import FACES_REAL

    folders = sorted(
        p.name for p in FACES_REAL.iterdir() if p.is_dir() and len(list(p.iterdir())) >= 3
    )
    labelled = 0
    for folder in folders[:6]:
        faces = faces_of(live.store, folder)[:3]
        labels.label_faces(live.store, faces, folder, PACK)
        labelled += len(faces)
    body = {"epochs": 2, "margin": 0.2, "batch_size": 8, "min_faces_per_person": 2}
    with live.client() as client:
        done = client.post(f"{API}/train", json=body)
        bad = client.post(f"{API}/train", json={"batch_size": 4, "min_faces_per_person": 3})
    assert done.status_code == 200, done.text
    out = done.json()
    for key in ("persons_used", "total_faces", "training_faces", "validation_faces",
                "final_train_loss", "final_val_loss", "model_checkpoint",
                "training_time_seconds"):  # fmt: skip
        assert key in out
    # Faces under the quality gate do not train: at most what was labelled.
    assert 4 <= out["persons_used"] <= 6 and 0 < out["total_faces"] <= labelled
    assert out["training_faces"] + out["validation_faces"] <= out["total_faces"]
    assert (live.store.home_path / out["model_checkpoint"]).is_file()
    with live.store.transaction() as conn:
        record = head_store.head(conn, out["head_id"])
    assert record.status == ("promoted" if out["promoted"] else "rejected")
    assert bad.status_code == 400  # 4 faces cannot hold 2 persons x 3


def test_detect_one_asset_answers_its_face_ids_and_keeps_them(live, real_library):
    face = live.cluster_faces[0]
    with live.store.transaction() as conn:
        image, month = conn.execute(
            "SELECT f.image_id, f.month FROM faces f WHERE f.id = %s", (face,)
        ).fetchone()
        before = dict(
            conn.execute(
                "SELECT f.image_id, count(*) FROM faces f WHERE f.month = %s GROUP BY 1", (month,)
            ).fetchall()
        )
        others = conn.execute(
            "SELECT max(detected_at) FROM detections WHERE image_id <> %s", (image,)
        ).fetchone()[0]
    with live.client() as client:
        live.app.state.library_root = None  # an app that serves no library cannot read it
        unserved = client.post(f"{API}/detect/{image}", json={})
        live.app.state.library_root = real_library.root
        done = client.post(f"{API}/detect/{image}", json={"minConfidence": 0.5, "minFaceSize": 20})
        missing = client.post(f"{API}/detect/999999", json={})
    assert unserved.status_code == 503
    assert done.status_code == 200, done.text
    body = done.json()
    assert set(body) == {"assetId", "facesDetected", "faceIds"} and body["assetId"] == image
    assert face in body["faceIds"]  # found again: the same face, the same id
    assert body["facesDetected"] == len(body["faceIds"]) == before[image]
    with live.store.transaction() as conn:
        untouched = conn.execute(
            "SELECT max(detected_at) FROM detections WHERE image_id <> %s", (image,)
        ).fetchone()[0]
        embedded = conn.execute(
            "SELECT count(*) FROM faces f JOIN face_embeddings e ON e.face_id = f.id"
            " WHERE f.image_id = %s",
            (image,),
        ).fetchone()[0]
    assert untouched == others  # the month's other photos were not re-detected
    assert embedded == body["facesDetected"]
    assert missing.status_code == 404
