""" "Not a face": a detection that is no face is removed (its row, embedding and files) and a
tombstone on its box keeps detection from storing it again; restoring it within
NOT_A_FACE_UNDO lifts the tombstone and re-detects the photo.

Human decisions follow labels.py's rules: one transaction each, logged in label_events (ids
and counts only), never overwritten by a machine."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from face_assets import media
from face_assets.services.identities import rebuild_prototypes
from face_assets.store import Store
from face_assets.store import label_events as event_store
from face_assets.store import not_a_face as not_a_face_store
from face_assets.store import person_photos as person_photo_store
from face_assets.vision.models import FaceModels

# "Not a face" can be undone from the photo's page for this long; after that the tombstone
# stays, as forgetting's do.
NOT_A_FACE_UNDO = timedelta(days=30)


def not_a_face(store: Store, face_id: int) -> dict:
    """Delete a false face (a statue, a poster, a pattern) and leave a tombstone on its box:
    no later detection of any pack brings it back (as for a forgotten person). Undo with
    restore_face within NOT_A_FACE_UNDO."""
    with store.transaction() as conn:
        gone = not_a_face_store.delete_face_as_not_a_face(conn, face_id)
        if gone["person_id"] is not None:
            rebuild_prototypes(conn, gone["pack"], [gone["person_id"]])
        event_store.log_event(
            conn, "not_a_face", gone["person_id"], None, 1,
            {"face": face_id, "image": gone["image_id"], "mark": gone["tombstone_id"]},
        )  # fmt: skip
        marks = not_a_face_store.not_a_face_count(conn)
    media.delete_media(store.media_root, gone["media_paths"])
    return {
        "face_id": face_id,
        "asset_id": gone["image_id"],
        "mark_id": gone["tombstone_id"],
        "was_person_id": gone["person_id"],
        "not_a_face_marks": marks,
    }


def restore_face(
    store: Store,
    mark_id: int,
    models: FaceModels | None = None,
    library_root: Path | None = None,
) -> dict:
    """Undo "not a face": the mark goes and the photo is queued for detection again; with
    models and the library at hand the photo is detected now (the face comes back as a new,
    unnamed face)."""
    with store.transaction() as conn:
        marks = {m["id"]: m for m in not_a_face_store.not_a_face_tombstones_beside(conn, mark_id)}
        mark = marks.get(mark_id)
        if mark is None:
            raise LookupError(f"no 'not a face' mark {mark_id}")
        if datetime.now(mark["created_at"].tzinfo) - mark["created_at"] > NOT_A_FACE_UNDO:
            raise ValueError(f"mark {mark_id} is older than {NOT_A_FACE_UNDO.days} days and stays")
        image_id, pack = not_a_face_store.remove_not_a_face(conn, mark_id)
        pack = pack or (models.pack if models else None)
        if pack is not None:
            not_a_face_store.redetect_photo(conn, image_id, pack)
        event_store.log_event(conn, "restore_face", None, None, 1, {"mark": mark_id})
        month = person_photo_store.photo(conn, image_id)["month"]
    detected = 0
    if models is not None and library_root is not None and pack == models.pack:
        from face_assets.services import face_detection, face_embedding, face_scoring

        # This photo only: the month's other undetected photos wait for their own run.
        stats = face_detection.detect_faces(
            models, store, library_root, [month], image_ids=[image_id]
        )
        face_embedding.embed_faces(models, store, [month])
        face_scoring.score_faces(store, models.pack, [month])
        detected = stats.new_faces
    return {"mark_id": mark_id, "asset_id": image_id, "faces_found_again": detected}
