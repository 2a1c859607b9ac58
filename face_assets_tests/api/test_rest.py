"""Seed 002's REST API over real HTTP: camelCase shapes, every route's happy path, and the
errors (401 without the token, 404 unknown ids, 422 bad bodies), each checked in the store."""

from __future__ import annotations

import pytest

from face_assets_tests.api.conftest import CLUSTER, faces_of

API = "/api/v1/faces"


def _person_faces(store, name: str) -> list[tuple[int, str]]:
    with store.transaction() as conn:
        return conn.execute(
            "SELECT f.id, f.assignment_method FROM faces f JOIN persons p ON p.id = f.person_id"
            " WHERE p.name = %s ORDER BY f.id",
            (name,),
        ).fetchall()


def _person_id(store, name: str) -> int:
    with store.transaction() as conn:
        return conn.execute("SELECT id FROM persons WHERE name = %s", (name,)).fetchone()[0]


def test_every_route_but_health_needs_the_token(live):
    routes = [
        ("GET", f"{API}/clusters"),
        ("GET", f"{API}/clusters/{CLUSTER}"),
        ("POST", f"{API}/clusters/{CLUSTER}/label"),
        ("GET", f"{API}/persons"),
        ("POST", f"{API}/faces/1/unassign"),
        ("POST", f"{API}/tracks/1/reject"),
        ("GET", f"{API}/assets/1"),
        ("POST", f"{API}/cluster"),
        ("GET", f"{API}/review/queue"),
        ("POST", "/detect"),
        ("POST", "/extract-embedding"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/"),
        ("GET", "/review/queue"),
        ("GET", "/static/review.js"),
        ("GET", f"/thumb/{live.cluster_faces[0]}"),
    ]
    with live.anonymous() as anon:
        for method, path in routes:
            assert anon.request(method, path).status_code == 401, (method, path)
            wrong = {"Authorization": "Bearer wrong-token-0123456789abcdef"}
            assert anon.request(method, path, headers=wrong).status_code == 401, path
        assert anon.get("/health").status_code == 200
    assert live.labelled == []


def test_clusters_are_paged_largest_first_in_camel_case(live):
    with live.client() as client:
        body = client.get(f"{API}/clusters", params={"pageSize": 100}).json()
        assert set(body) == {"items", "total", "page", "pageSize"}
        assert body["page"] == 1 and body["pageSize"] == 100 and body["total"] >= 1
        sizes = [c["faceCount"] for c in body["items"]]
        assert sizes == sorted(sizes, reverse=True)
        ours = next(c for c in body["items"] if c["clusterId"] == CLUSTER)
        assert set(ours) == {
            "clusterId", "faceCount", "sampleFaceIds", "avgQuality", "personId", "personName",
            "trackCount",
            "version",
        }  # fmt: skip
        assert ours["trackCount"] == 0  # a photo cluster; tracks: services/test_videos.py
        assert ours["faceCount"] == len(live.cluster_faces)
        assert set(ours["sampleFaceIds"]) <= set(live.cluster_faces)
        assert 0 < ours["avgQuality"] <= 1
        assert client.get(f"{API}/clusters", params={"pageSize": 101}).status_code == 422
        assert client.get(f"{API}/clusters", params={"page": 0}).status_code == 422
        beyond = client.get(f"{API}/clusters", params={"page": 1000}).json()
        assert beyond["items"] == [] and beyond["total"] == body["total"]

        detail = client.get(f"{API}/clusters/{CLUSTER}").json()
        assert detail["clusterId"] == CLUSTER
        assert sorted(f["id"] for f in detail["faces"]) == live.cluster_faces
        face = detail["faces"][0]
        assert set(face["bbox"]) == {"x", "y", "width", "height"}
        for key in ("assetId", "detectionConfidence", "qualityScore", "clusterId", "createdAt"):
            assert key in face
        missing = client.get(f"{API}/clusters/clu_nope")
        assert missing.status_code == 404 and "clu_nope" in missing.json()["detail"]


def test_reject_a_track_needs_a_person_and_a_track(live):
    with live.client() as client:
        for bad in ({}, {"personId": 0}, {"personId": "x"}, {"personId": 1, "extra": 1}):
            assert client.post(f"{API}/tracks/1/reject", json=bad).status_code == 422
        gone = client.post(f"{API}/tracks/999999/reject", json={"personId": 999999})
        assert gone.status_code == 404


def test_label_a_cluster_with_one_face_deselected(live):
    keep, wrong = live.cluster_faces[:-1], live.cluster_faces[-1]
    with live.client() as client:
        for bad in ({}, {"name": ""}, {"name": "Kit", "extra": 1}, {"name": 3}):
            assert client.post(f"{API}/clusters/{CLUSTER}/label", json=bad).status_code == 422
        assert (
            client.post(f"{API}/clusters/clu_nope/label", json={"name": "Kit"}).status_code == 404
        )
        outsider = faces_of(live.store, "angelina_jolie")[0]
        refused = client.post(
            f"{API}/clusters/{CLUSTER}/label", json={"name": "Kit", "excludeFaceIds": [outsider]}
        )
        assert refused.status_code == 400 and str(outsider) in refused.json()["detail"]
        assert _person_faces(live.store, "Kit") == []

        done = client.post(
            f"{API}/clusters/{CLUSTER}/label", json={"name": "Kit", "excludeFaceIds": [wrong]}
        )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["personName"] == "Kit" and body["created"] is True
    assert body["facesLabeled"] == len(keep) and body["facesExcluded"] == 1
    assert body["prototypesCreated"] >= 2
    assert _person_faces(live.store, "Kit") == [(f, "human") for f in keep]
    with live.store.transaction() as conn:
        left = conn.execute("SELECT id FROM faces WHERE cluster_id = %s", (CLUSTER,)).fetchall()
        rejected = conn.execute(
            "SELECT face_id FROM face_rejections WHERE person_id = %s", (body["personId"],)
        ).fetchall()
    assert left == [(wrong,)] and rejected == [(wrong,)]
    assert len(live.labelled) == 1


def test_persons_merge_rename_hide_unassign_and_forget(live):
    emma = faces_of(live.store, "angelina_jolie")
    with live.client() as client:
        client.post(f"{API}/clusters/{CLUSTER}/label", json={"name": "Kit"}).raise_for_status()
        from face_assets.services import labels

        labels.label_faces(live.store, emma[:2], "Emma", "buffalo_s")
        labels.label_faces(live.store, emma[2:3], "E. Watson", "buffalo_s")
        kit, em, alias = (_person_id(live.store, n) for n in ("Kit", "Emma", "E. Watson"))

        page = client.get(f"{API}/persons", params={"pageSize": 2}).json()
        assert page["total"] == 3 and len(page["items"]) == 2 and page["pageSize"] == 2
        person = page["items"][0]
        assert set(person) >= {"id", "name", "status", "faceCount", "prototypeCount",
                               "createdAt", "updatedAt"}  # fmt: skip
        assert client.get(f"{API}/persons", params={"status": "gone"}).status_code == 422

        detail = client.get(f"{API}/persons/{kit}").json()
        assert detail["name"] == "Kit" and detail["faceCount"] == len(live.cluster_faces)
        assert sorted(f["id"] for f in detail["faces"]) == live.cluster_faces
        assert all(f["personName"] == "Kit" for f in detail["faces"])
        assert client.get(f"{API}/persons/999999").status_code == 404

        merged = client.post(f"{API}/persons/{alias}/merge", json={"intoPersonId": em})
        assert merged.json() == {"sourcePersonId": alias, "targetPersonId": em, "facesMoved": 1}
        assert [f for f, _ in _person_faces(live.store, "Emma")] == emma[:3]
        assert (
            client.post(f"{API}/persons/{em}/merge", json={"intoPersonId": em}).status_code == 400
        )
        assert client.post(f"{API}/persons/{em}/merge", json={}).status_code == 422
        assert (
            client.post(f"{API}/persons/999999/merge", json={"intoPersonId": em}).status_code == 404
        )

        renamed = client.post(f"{API}/persons/{em}/rename", json={"name": "Emma Watson"}).json()
        assert renamed == {"personId": em, "name": "Emma Watson", "previousName": "Emma"}
        taken = client.post(f"{API}/persons/{kit}/rename", json={"name": "emma watson"})
        assert taken.status_code == 409

        hidden = client.post(f"{API}/persons/{kit}/hide").json()
        assert hidden["status"] == "hidden"
        assert client.post(f"{API}/persons/{kit}/hide").status_code == 400
        assert client.post(f"{API}/persons/{kit}/unhide").json()["status"] == "active"

        gone = client.post(f"{API}/faces/{emma[0]}/unassign").json()
        assert gone == {"faceId": emma[0], "personId": em, "was": "human"}
        assert client.post(f"{API}/faces/{emma[0]}/unassign").status_code == 400
        assert client.post(f"{API}/faces/999999/unassign").status_code == 404

        for confirm in ("yes", "forget Emma", "forget emma watson"):
            refused = client.post(f"{API}/persons/{em}/forget", json={"confirm": confirm})
            assert refused.status_code == 400 and "forget Emma Watson" in refused.json()["detail"]
        assert client.post(f"{API}/persons/{em}/forget", json={}).status_code == 422
        assert _person_faces(live.store, "Emma Watson")
        forgot = client.post(f"{API}/persons/{em}/forget", json={"confirm": "forget Emma Watson"})
        assert forgot.status_code == 200 and forgot.json()["facesDeleted"] == 2
        assert client.get(f"{API}/persons/{em}").status_code == 404
    with live.store.transaction() as conn:
        assert (
            conn.execute("SELECT count(*) FROM faces WHERE id = ANY(%s)", (emma[1:3],)).fetchone()[
                0
            ]
            == 0
        )
    assert len(live.labelled) == 7  # label, merge, rename, hide, unhide, unassign, forget


def test_asset_faces_and_thumbnails(live):
    face = live.cluster_faces[0]
    with live.store.transaction() as conn:
        image_id = conn.execute("SELECT image_id FROM faces WHERE id = %s", (face,)).fetchone()[0]
    with live.client() as client:
        body = client.get(f"{API}/assets/{image_id}").json()
        assert face in [f["id"] for f in body["items"]]
        assert body["total"] == len(body["items"]) and all(
            f["assetId"] == image_id for f in body["items"]
        )
        assert client.get(f"{API}/assets/999999").status_code == 404
        assert client.get(f"{API}/assets/abc").status_code == 422
        jpeg = client.get(f"{API}/faces/{face}/thumbnail")
        assert jpeg.headers["content-type"] == "image/jpeg" and jpeg.content.startswith(b"\xff\xd8")
        assert client.get(f"/thumb/{face}").content == jpeg.content
        for path in ("/thumb/999999", "/thumb/abc", "/thumb/..%2F..%2Fetc%2Fpasswd"):
            assert client.get(path).status_code in (404, 422), path
    with live.store.transaction() as conn:
        conn.execute(
            "UPDATE faces SET thumb_path = '../../../../../../etc/hostname' WHERE id = %s", (face,)
        )
    with live.client() as client:
        assert client.get(f"/thumb/{face}").status_code == 404


@pytest.mark.parametrize("path", ["/detect/1", "/cluster"])
def test_runs_without_dagster_are_a_clear_503(live, path):
    with live.client() as client:
        response = client.post(f"{API}{path}", json={"queue": True})
        if path == "/detect/1":
            with live.store.transaction() as conn:
                image = conn.execute("SELECT min(id) FROM images").fetchone()[0]
            response = client.post(f"{API}/detect/{image}", json={"queue": True})
            assert client.post(f"{API}/detect/999999", json={"queue": True}).status_code == 404
        assert response.status_code == 503
        assert "FACE_ASSETS_DAGSTER_URL" in response.json()["detail"]
        assert client.get(f"{API}/runs/abc").status_code == 503


def test_openapi_lists_every_route_with_schemas_and_docs_work_offline(live):
    with live.client() as client:
        spec = client.get("/openapi.json").json()
        docs = client.get("/docs")
        bundle = client.get("/docs/static/swagger-ui-bundle.js")
    for path in ("/health", "/detect", "/extract-embedding", f"{API}/clusters",
                 f"{API}/clusters/{{cluster_id}}/label", f"{API}/persons/{{person_id}}/merge",
                 f"{API}/review/queue", f"{API}/runs/{{run_id}}"):  # fmt: skip
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert "clusterId" in schemas["ClusterSummary"]["properties"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert docs.status_code == 200 and "/docs/static/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
