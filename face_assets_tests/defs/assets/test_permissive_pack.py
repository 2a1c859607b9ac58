"""The permissive pack (dlib_resnet, 128-d) end to end through Dagster on a small faces_real
slice: ingest, a human labels one photo per person, prototypes, and the held-back photos are
found, all in the pack's own 128-d space beside nothing else."""

from __future__ import annotations

import warnings
from datetime import datetime

from dagster import materialize

from face_assets.definitions import build_definitions
from face_assets.defs.assets.faces import CHECKS as FACE_CHECKS
from face_assets.defs.assets.identities import CHECKS as IDENTITY_CHECKS
from face_assets.defs.resources import FaceModelsResource, PhotoLibraryResource
from face_assets.services import labels
from face_assets.vision.packs import PERMISSIVE_PACK
from face_assets_tests.defs.assets.helpers import (
    checks_of,
    dated_copy,
    metadata_of,
    run_months,
    store_resource,
)

MONTH = "2024-03"
PEOPLE = ("barack_obama", "angelina_jolie", "kit_harington")


def _library(tmp_path, shared_data):
    root = tmp_path / "library"
    for person in PEOPLE:
        for n, photo in enumerate(sorted((shared_data / "faces_real" / person).iterdir())[:3]):
            dated_copy(photo, root / person / f"{n + 1}.jpg", datetime(2024, 3, 1 + n))
    return root


def test_permissive_pack_labels_and_finds_people_through_dagster(store, tmp_path, shared_data):
    root = _library(tmp_path, shared_data)
    models = FaceModelsResource(pack=PERMISSIVE_PACK)
    (result,) = run_months(store, root, [MONTH], face_models=models)
    assert metadata_of(result, "detected_faces")["model_pack"] == PERMISSIVE_PACK
    assert all(checks_of(result).values()), checks_of(result)  # unit norm, 128-d, all embedded
    with store.transaction() as conn:
        faces = conn.execute(
            "SELECT i.rel_path, f.id, vector_dims(e.embedding), e.pack FROM faces f"
            " JOIN images i ON i.id = f.image_id JOIN face_embeddings e ON e.face_id = f.id"
            " WHERE f.face_index = 0 ORDER BY i.rel_path"
        ).fetchall()
    assert len(faces) == 9 and {(r[2], r[3]) for r in faces} == {(128, PERMISSIVE_PACK)}
    largest = {r[0]: r[1] for r in faces}
    for path, face_id in largest.items():
        if path.endswith("/1.jpg"):
            labels.label_faces(store, [face_id], path.split("/")[0], PERMISSIVE_PACK)

    resources = {
        "face_models": models,
        "store": store_resource(store),
        "library": PhotoLibraryResource(root=str(root)),
    }
    assets = [*build_definitions().assets, *FACE_CHECKS, *IDENTITY_CHECKS]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert materialize(assets, selection=["person_prototypes"], resources=resources).success
        assigned = materialize(
            assets, selection=["face_assignments"], partition_key=MONTH, resources=resources
        )
    assert assigned.success
    # dlib's own lead over the runner-up (its similarities sit near 0.9: ArcFace's 0.05 would
    # turn most faces away), from the registry, shown in the run's metadata.
    assert metadata_of(assigned, "face_assignments")["margin"] == 0.02
    with store.transaction() as conn:
        named = dict(
            conn.execute(
                "SELECT f.id, p.name FROM faces f JOIN persons p ON p.id = f.person_id"
                " WHERE f.pack = %s",
                (PERMISSIVE_PACK,),
            ).fetchall()
        )
    held_back = {p: f for p, f in largest.items() if not p.endswith("/1.jpg")}
    found = {p: named.get(f) for p, f in held_back.items()}
    wrong = {p: who for p, who in found.items() if who is not None and who != p.split("/")[0]}
    assert wrong == {}
    assert sum(who is not None for who in found.values()) >= 4, found
