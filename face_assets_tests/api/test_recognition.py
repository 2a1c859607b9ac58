"""Seed 003's recognition API on the live app: the seed's fields, a per-request model, the
pack switch, statistics, and 4xx answers for what the seed answered with 500."""

from __future__ import annotations

from face_assets.api.recognition import MAX_GALLERY, PREFIX
from face_assets.vision import packs

PHOTOS = ("faces_real/barack_obama/1.jpg", "faces_real/barack_obama/2.jpg")
STRANGER = "faces_real/angelina_jolie/1.jpg"


def _embed(client, shared_data, path: str, model: str | None = None) -> dict:
    data = {"model": model} if model else {}
    files = {"image": (path.rsplit("/", 1)[-1], (shared_data / path).read_bytes(), "image/jpeg")}
    response = client.post(f"{PREFIX}/extract-embedding", files=files, data=data)
    assert response.status_code == 200, response.text
    return response.json()


def test_recognition_api_end_to_end(live, shared_data):
    with live.client() as client:
        first = _embed(client, shared_data, PHOTOS[0])
        assert first["model_used"] == "buffalo_s" and first["embedding_dim"] == 512
        assert len(first["embedding"]) == 512 and 0 < first["confidence"] <= 1
        assert {"processing_time", "face_quality", "success"} <= set(first)
        same = _embed(client, shared_data, PHOTOS[1])
        other = _embed(client, shared_data, STRANGER)
        # The permissive pack for one request only: its own width, the current pack unchanged.
        dlib = _embed(client, shared_data, PHOTOS[0], model=packs.PERMISSIVE_PACK)
        assert dlib["model_used"] == packs.PERMISSIVE_PACK and len(dlib["embedding"]) == 128

        compare = client.post(
            f"{PREFIX}/compare-faces",
            json={"embedding1": first["embedding"], "embedding2": same["embedding"]},
        ).json()
        assert compare["is_match"] is True and compare["similarity"] > compare["threshold"]
        stranger = client.post(
            f"{PREFIX}/compare-faces",
            json={"embedding1": first["embedding"], "embedding2": other["embedding"]},
        ).json()
        assert stranger["is_match"] is False
        wrong_width = client.post(
            f"{PREFIX}/compare-faces",
            json={"embedding1": first["embedding"], "embedding2": dlib["embedding"]},
        )
        assert wrong_width.status_code == 422 and "512" in wrong_width.json()["detail"]

        gallery = [
            {"id": "stranger", "embedding": other["embedding"]},
            {"id": "obama", "embedding": same["embedding"]},
        ]
        match = client.post(
            f"{PREFIX}/match-face",
            json={"query_embedding": first["embedding"], "gallery_embeddings": gallery},
        ).json()
        ids = [m["identity_id"] for m in match["matches"]]
        assert ids == ["obama", "stranger"]
        top = match["matches"][0]
        assert top["is_match"] and 0 < top["confidence"] <= 1 and top["similarity"] > 0.4
        assert match["matches"][1]["is_match"] is False
        assert match["matches"][1]["confidence"] == 0.0
        too_many = client.post(
            f"{PREFIX}/match-face",
            json={
                "query_embedding": first["embedding"],
                "gallery_embeddings": [{"id": str(i), "embedding": [1.0]} for i in
                                       range(MAX_GALLERY + 1)],
            },
        )  # fmt: skip
        assert too_many.status_code == 413

        stats = client.get(f"{PREFIX}/statistics").json()
        assert stats["current_model"] == "buffalo_s"
        assert stats["total_recognitions"] == 5  # four embeddings and one gallery match
        assert stats["total_matches"] == 1 and stats["match_rate"] == 0.2
        assert stats["model_usage"] == {"buffalo_s": 4, packs.PERMISSIVE_PACK: 1}
        assert stats["average_processing_time"] > 0

        unknown = client.post(f"{PREFIX}/switch-model", json={"model_name": "adaface"})
        assert unknown.status_code == 400 and "buffalo_s" in unknown.json()["detail"]
        absent = client.post(f"{PREFIX}/switch-model", json={"model_name": "antelopev2"})
        assert absent.status_code == 409  # no weights offline: a clear message, not a 500
        assert "antelopev2" in absent.json()["detail"]
        switched = client.post(
            f"{PREFIX}/switch-model", json={"model_name": packs.PERMISSIVE_PACK}
        ).json()
        assert switched == {"success": True, "current_model": packs.PERMISSIVE_PACK}
        after = _embed(client, shared_data, PHOTOS[1])
        assert after["model_used"] == packs.PERMISSIVE_PACK
        listed = client.get(f"{PREFIX}/models").json()
        assert listed["current_model"] == packs.PERMISSIVE_PACK
        assert {m["name"]: m["commercial_use"] for m in listed["models"]}[
            packs.PERMISSIVE_PACK
        ] is True
        assert (
            client.post(
                f"{PREFIX}/extract-embedding", files={"image": ("x.jpg", b"not an image")}
            ).status_code
            == 400
        )

    with live.anonymous() as anon:
        assert anon.get(f"{PREFIX}/statistics").status_code == 401
