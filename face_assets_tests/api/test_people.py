"""The People endpoints over real HTTP on real ingested photos: a face drawn by hand that
survives re-detection, "not a face" that stays gone until undone, cover faces, birthdates
that refuse earlier photos (human and automatic), search by face through pgvector, photos
of two persons, merge suggestions between persons, and forgetting all of it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from face_assets.services import face_detection, face_embedding, identities, labels, matching
from face_assets.vision import matching as box_matching
from face_assets_tests.api.conftest import PACK, date_photos, faces_of, group_photo, one_row

API = "/api/v1/faces"


def _draw_corner(client, image_id: int, name: str, side: int):
    """POST a drawn face: a side x side box in the photo's top-left corner, named `name`."""
    box = {"x": 0, "y": 0, "width": side, "height": side}
    return client.post(f"{API}/faces", json={"assetId": image_id, "name": name, "bbox": box})


def _redetect(live, models, month: str) -> face_detection.DetectionStats:
    stats = face_detection.detect_faces(
        models, live.store, live.app.state.library_root, [month], redetect=True
    )
    face_embedding.embed_faces(models, live.store, [month])
    return stats


def test_false_face_stays_gone_and_a_drawn_face_survives_redetection(live, face_models):
    image_id, month, faces = group_photo(live.store)
    assert len(faces) == 2
    (false_face, box), (kept, _) = faces[0], faces[1]
    with live.client() as client:
        gone = client.post(f"{API}/faces/{false_face}/not-a-face").json()
        assert gone["assetId"] == image_id and gone["notAFaceMarks"] == 1
        assert client.post(f"{API}/faces/{false_face}/not-a-face").status_code == 404
        stats = _redetect(live, face_models, month)
        assert stats.suppressed_faces == 1  # the detector found it again: dropped, counted
        assert [f for f, _ in group_photo(live.store)[2]] == [kept]

        undone = client.post(f"{API}/marks/{gone['markId']}/undo").json()
        assert undone["facesFoundAgain"] == 1
        back = [f for f, _ in group_photo(live.store)[2] if f != kept]
        assert len(back) == 1
        assert client.post(f"{API}/marks/{gone['markId']}/undo").status_code == 404

        # Drawn on an existing face: refused (name that face instead).
        x1, y1, x2, y2 = box
        drawn = {"x": int(x1), "y": int(y1), "width": int(x2 - x1), "height": int(y2 - y1)}
        refused = client.post(
            f"{API}/faces", json={"assetId": image_id, "bbox": drawn, "name": "Kit"}
        )
        assert refused.status_code == 400 and "already there" in refused.json()["detail"]

        # The face is a false one again; then somebody draws it: the mark is lifted.
        mark = client.post(f"{API}/faces/{back[0]}/not-a-face").json()["markId"]
        made = client.post(
            f"{API}/faces", json={"assetId": image_id, "bbox": drawn, "name": "<b>Drawn</b>"}
        )
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["refined"] is True and body["marksLifted"] == 1
        assert body["personName"] == "<b>Drawn</b>" and body["created"] is True
        manual = body["faceId"]
        assert client.post(f"{API}/marks/{mark}/undo").status_code == 404
        # A box on the background: no detector vouches for it, aligned from the box.
        blank = _draw_corner(client, image_id, "Nobody", 40)
        assert blank.status_code == 201 and blank.json()["refined"] is False
        tiny = _draw_corner(client, image_id, "T", 4)
        assert tiny.status_code == 400

        _redetect(live, face_models, month)
        source, method, person = one_row(
            live.store,
            "SELECT f.source, f.assignment_method, p.name FROM faces f"
            " JOIN persons p ON p.id = f.person_id WHERE f.id = %s",
            (manual,),
        )
        assert (method, person) == ("human", "<b>Drawn</b>")
        assert source in ("manual", "detected")  # found again by the detector: same row
        count = one_row(live.store, "SELECT count(*) FROM faces WHERE image_id = %s", (image_id,))
        assert count[0] == 3  # kit, the drawn face, the background box: no duplicate
        listed = client.get(f"{API}/assets/{image_id}").json()["items"]
        assert {f["id"] for f in listed} >= {manual}
        photo = client.get(f"{API}/assets/{image_id}/photo")
        assert photo.status_code == 200 and photo.content.startswith(b"\xff\xd8")


def test_two_people_drawing_the_same_box_at_once_store_one_face(live):
    """Two reviewers draw the same missing face at the same moment: one face is stored, the
    other draw is refused as drawn over it (the overlap check runs under a per-photo lock)."""
    image_id, _, faces = group_photo(live.store)
    face_id, (x1, y1, x2, y2) = faces[-1]
    drawn = {"x": int(x1), "y": int(y1), "width": int(x2 - x1), "height": int(y2 - y1)}
    with live.client() as client:
        assert client.post(f"{API}/faces/{face_id}/not-a-face").status_code == 200
        barrier = threading.Barrier(2)

        def draw(name: str) -> int:
            with live.client() as own:
                barrier.wait()
                body = {"assetId": image_id, "bbox": drawn, "name": name}
                return own.post(f"{API}/faces", json=body).status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(draw, ["Racer One", "Racer Two"]))
    assert statuses == [201, 400]
    boxes = [b for _, b in group_photo(live.store)[2]]
    same = box_matching.iou_matrix([[x1, y1, x2, y2]], boxes)[0] >= box_matching.SAME_FACE_IOU
    assert int(same.sum()) == 1


def test_cover_birthdate_and_timeline(live):
    kit = faces_of(live.store, "kit_harington")
    rose = faces_of(live.store, "rose_leslie")
    person = labels.label_faces(live.store, kit[:2], "Kit", PACK)["person_id"]
    date_photos(
        live.store,
        {kit[0]: datetime(2010, 6, 1), kit[1]: datetime(2020, 6, 1), kit[2]: datetime(2008, 6, 1)},
    )
    with live.client() as client:
        assert (
            client.patch(f"{API}/persons/{person}", json={"featureFaceId": rose[0]}).status_code
            == 400
        )
        done = client.patch(f"{API}/persons/{person}", json={"featureFaceId": kit[1]}).json()
        assert done["featureFaceId"] == kit[1]
        listed = client.get(f"{API}/persons").json()["items"]
        assert [p["featureFaceId"] for p in listed if p["id"] == person] == [kit[1]]

        # A human label in 2010 refuses a 2015 birthdate; after unassigning it is accepted.
        early = client.patch(f"{API}/persons/{person}", json={"birthdate": "2015-01-01"})
        assert early.status_code == 400 and "before 2015-01-01" in early.json()["detail"]
        labels.unassign_face(live.store, kit[0], PACK)
        assert (
            client.patch(f"{API}/persons/{person}", json={"birthdate": "2015-01-01"}).json()[
                "birthdate"
            ]
            == "2015-01-01"
        )
        refused = client.post(
            f"{API}/review/answer", json={"answer": "yes", "personId": person, "faceId": kit[2]}
        )
        assert refused.status_code == 400 and "birthdate" in refused.json()["detail"]

        detail = client.get(f"{API}/persons/{person}").json()
        assert detail["birthdate"] == "2015-01-01" and detail["featureFaceId"] == kit[1]
        line = detail["timeline"]
        assert line["firstSeen"].startswith("2020") and line["perYear"] == {"2020": 1}
        face = next(f for f in detail["faces"] if f["id"] == kit[1])
        assert face["takenAt"].startswith("2020-06-01") and face["age"] == 5
        assert face["source"] == "detected"

    # Automatic assignment never gives the 2008 or 2010 photos to Kit, and says so.
    months = [one_row(live.store, "SELECT month FROM faces WHERE id = %s", (f,))[0] for f in kit]
    stats = identities.assign_months(
        live.store, PACK, months, matching.matching_rule(live.store, PACK)
    )
    assert stats.before_birthdate >= 1
    owners = {
        f: one_row(live.store, "SELECT person_id FROM faces WHERE id = %s", (f,))[0]
        for f in (kit[0], kit[2])
    }
    assert owners == {kit[0]: None, kit[2]: None}


def test_search_by_face_and_photos_of_two_persons(live, shared_data):
    kit = faces_of(live.store, "kit_harington")
    rose = faces_of(live.store, "rose_leslie")
    image_id, _, group = group_photo(live.store)
    k = labels.label_faces(live.store, kit + [group[0][0]], "Kit", PACK)["person_id"]
    r = labels.label_faces(live.store, rose + [group[1][0]], "Rose", PACK)["person_id"]
    with live.client() as client:
        photo = (shared_data / "faces_real" / "kit_harington" / "1.jpeg").read_bytes()
        found = client.post(f"{API}/search", files={"file": ("k.jpg", photo, "image/jpeg")})
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["persons"][0]["personName"] == "Kit" and body["persons"][0]["likely"]
        sims = [f["similarity"] for f in body["faces"]]
        assert sims == sorted(sims, reverse=True) and sims[0] > 0.9  # the photo itself
        assert body["queryFace"] is not None
        by_face = client.post(f"{API}/search", data={"faceId": str(rose[0]), "limit": "5"}).json()
        assert by_face["persons"][0]["personName"] == "Rose" and len(by_face["faces"]) <= 5
        assert rose[0] not in [f["faceId"] for f in by_face["faces"]]
        assert (
            client.post(f"{API}/search", data={"faceId": "1", "limit": "1000"}).status_code == 422
        )
        assert client.post(f"{API}/search").status_code == 400

        both = client.get(f"{API}/photos", params={"persons": f"{k},{r}"}).json()
        assert [p["assetId"] for p in both["items"]] == [image_id] and both["total"] == 1
        assert {p["name"] for p in both["items"][0]["persons"]} == {"Kit", "Rose"}
        alone = client.get(f"{API}/photos", params={"persons": k, "exclude": r}).json()
        assert alone["total"] == len(kit) and image_id not in [p["assetId"] for p in alone["items"]]
        dates = [p["takenAt"] for p in alone["items"]]
        assert dates == sorted(dates, reverse=True)
        paged = client.get(f"{API}/photos", params={"persons": k, "pageSize": 1, "page": 2}).json()
        assert paged["total"] == len(kit) + 1 and len(paged["items"]) == 1
        crowd = client.get(f"{API}/photos", params={"persons": k, "minFaces": 2}).json()
        assert [p["assetId"] for p in crowd["items"]] == [image_id]
        assert client.get(f"{API}/photos", params={"persons": "x"}).status_code == 400
        assert client.get(f"{API}/photos", params={"persons": k, "exclude": k}).status_code == 400
        assert client.get(f"{API}/photos", params={"persons": "99999"}).status_code == 404

        # Forgetting Kit: no search hit, no photo, no cover, no cached preview left.
        assert client.get(f"/review/photos/{image_id}/image", params={"size": 320}).is_success
        assert (
            client.get(f"/review/photos/{image_id}/image", params={"size": 9999}).status_code == 400
        )
        previews = list((live.store.media_root / "previews").rglob("*.jpg"))
        assert len(previews) == 1
        name = client.get(f"{API}/persons/{k}").json()["name"]
        client.post(f"{API}/persons/{k}/forget", json={"confirm": f"forget {name}"})
        after = client.post(f"{API}/search", files={"file": ("k.jpg", photo, "image/jpeg")})
        assert all(p["personName"] != "Kit" for p in after.json()["persons"])
        assert all(f["faceId"] not in kit for f in after.json()["faces"])
        assert client.get(f"{API}/photos", params={"persons": k}).status_code == 404
        assert not previews[0].exists()


def test_persons_named_twice_are_suggested_once_until_answered(live):
    faces = faces_of(live.store, "person_09")
    a = labels.label_faces(live.store, faces[:1], "Nine", PACK)["person_id"]
    b = labels.label_faces(live.store, faces[1:2], "Nina", PACK)["person_id"]
    with live.client() as client:
        items = client.get(f"{API}/review/queue", params={"limit": 100}).json()["items"]
        pair = [q for q in items if q["kind"] == "persons"]
        assert len(pair) == 1 and {pair[0]["personId"], pair[0]["otherPersonId"]} == {a, b}
        assert pair[0]["otherFaceIds"] and pair[0]["personFaceIds"]
        no = client.post(
            f"{API}/review/answer", json={"answer": "no", "personId": a, "otherPersonId": b}
        )
        assert no.json()["operation"] == "different"
        again = client.get(f"{API}/review/queue", params={"limit": 100}).json()["items"]
        assert not [q for q in again if q["kind"] == "persons"]
        c = labels.label_faces(live.store, faces[2:3], "Nino", PACK)["person_id"]
        pairs = [
            q
            for q in client.get(f"{API}/review/queue", params={"limit": 100}).json()["items"]
            if q["kind"] == "persons"
        ]
        assert pairs and all({q["personId"], q["otherPersonId"]} != {a, b} for q in pairs)
        q = next(q for q in pairs if c in (q["personId"], q["otherPersonId"]))
        yes = client.post(
            f"{API}/review/answer",
            json={"answer": "yes", "personId": q["personId"], "otherPersonId": q["otherPersonId"]},
        )
        assert yes.json()["operation"] == "merge"
        merged = one_row(live.store, "SELECT count(*) FROM persons WHERE status = 'merged'")[0]
        assert merged == 1


def test_cli_verbs_on_the_same_services(real_store, monkeypatch, capsys):
    from face_assets import cli
    from face_assets.settings import DATABASE_URL_ENV, HOME_ENV

    monkeypatch.setenv(DATABASE_URL_ENV, real_store.database_url)
    monkeypatch.setenv(HOME_ENV, str(real_store.home_path))
    kit = faces_of(real_store, "kit_harington")
    labels.label_faces(real_store, kit, "Kit Cli", PACK)
    assert cli.main(["cover", "kit cli", str(kit[-1])]) == 0
    assert f'"feature_face_id": {kit[-1]}' in capsys.readouterr().out
    assert cli.main(["cover", "kit cli", str(faces_of(real_store, "rose_leslie")[0])]) == 2
    assert "is not a face of Kit Cli" in capsys.readouterr().err
    assert cli.main(["birthdate", "Kit Cli", "1986-12-26"]) == 0
    assert cli.main(["photos-of", "Kit Cli", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{len(kit)} photos, newest first (showing 2 from 0)" in out
    assert cli.main(["search-face", "--face", str(kit[0]), "--limit", "3"]) == 0
    assert "Kit Cli" in capsys.readouterr().out.splitlines()[0]
