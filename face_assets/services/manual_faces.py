"""A face the detector missed: a person draws its box, the detector looks again in that region
at a low threshold (else the box alone is aligned), and the face is stored, embedded and
scored as ingest does, labelled as the person.

Human decisions follow labels.py's rules: one transaction each, logged in label_events (ids
and counts only), never overwritten by a machine."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

from face_assets.identity.names import normalise_name
from face_assets.services import labels
from face_assets.services.person_photos import photo_with_pixels
from face_assets.services.stored_crops import write_new_face_media
from face_assets.store import Store
from face_assets.store import faces as face_store
from face_assets.store import manual_faces as manual_store
from face_assets.store import not_a_face as not_a_face_store
from face_assets.store import person_profiles as profile_store
from face_assets.store import persons as person_store
from face_assets.vision import manual, matching
from face_assets.vision.faces import DetectedFace
from face_assets.vision.models import FaceModels
from face_assets.vision.quality import quality_parts


def refined_face(models: FaceModels, bgr: np.ndarray, box: tuple) -> tuple[DetectedFace, bool]:
    """(face, refined): the detector's face in the box's region (vision.manual's margin) at a
    low threshold, else the face aligned from the box alone. The one rule for a face no
    detection run found: a drawn box (below) and an imported tag region (tag_import)."""
    height, width = bgr.shape[:2]
    x1, y1, x2, y2 = manual.refine_region(box, width, height)
    if min(x2 - x1, y2 - y1) >= manual.MIN_DRAWN_SIZE:
        crop = np.ascontiguousarray(bgr[y1:y2, x1:x2])
        boxes, kps = models.detect(crop, threshold=manual.REFINE_MIN_CONFIDENCE)
        found = manual.pick_detection(box, (x1, y1), boxes, kps)
        if found is not None:
            return found, True
    return manual.box_only_face(box), False


def locate_drawn_face(models: FaceModels, bgr: np.ndarray, box: tuple) -> tuple:
    """(face, refined) of a drawn box, clamped into the photo (ValueError when too small)."""
    height, width = bgr.shape[:2]
    return refined_face(models, bgr, manual.clamp_box(box, width, height))


def _refuse_drawn_over_a_face(conn, image_id: int, pack: str, bbox) -> None:
    """A drawn box on a face the photo already has is that face: name it instead."""
    stored = manual_store.photo_boxes(conn, image_id, pack)
    if not stored:
        return
    overlap = matching.iou_matrix([bbox], [b for _, b in stored])[0]
    if overlap.max() >= matching.SAME_FACE_IOU:
        face_id = stored[int(overlap.argmax())][0]
        raise ValueError(f"face {face_id} is already there: name it instead")


def add_manual_face(
    store: Store,
    models: FaceModels,
    library_root: Path,
    image_id: int,
    box: tuple[float, float, float, float],
    name: str,
) -> dict:
    """A face a person drew on a photo (x1, y1, x2, y2 in the photo's upright pixels), named.

    Refined by the detector on its region (landmarks for alignment), else aligned from the
    box; embedded and scored as ingest does; stored with source 'manual' and labelled as a
    human label, so a re-detection keeps it (a detection overlapping it is the same face; an
    unmatched human-labelled face is never removed). Drawing over a "not a face" mark lifts
    the mark. A box on an existing face is refused: name that face instead.
    """
    name = normalise_name(name)
    pack = models.pack
    photo, bgr = photo_with_pixels(store, library_root, image_id)
    face, refined = locate_drawn_face(models, bgr, box)
    with store.transaction() as conn:  # refused before aligning and embedding
        _refuse_drawn_over_a_face(conn, image_id, pack, face.bbox)
    crop = models.align(bgr, face.landmarks)  # the pack's own aligner and crop size
    vector = models.embed([crop])[0]
    parts = quality_parts(face.det_score, face.width, face.height, crop, face.landmarks)
    key, crop_path, thumb_path = write_new_face_media(
        store.media_root, photo["sha256"], pack, bgr, face.bbox, crop
    )
    with store.transaction() as conn:
        manual_store.lock_photo_for_drawing(conn, image_id)
        _refuse_drawn_over_a_face(conn, image_id, pack, face.bbox)  # again, under the lock
        person, created = person_store.person_by_name(conn, name)
        if person.status != "active":
            raise ValueError(f"{person.name!r} is {person.status}; it cannot take new faces")
        _refuse_before_birth(conn, person, photo["taken_at"])
        face_id = face_store.insert_undetected_face(
            conn, image_id, pack, photo["month"], face.bbox, key, face.landmarks, face.det_score,
            crop_path, thumb_path, "manual", parts.values(),
        )  # fmt: skip
        manual_store.store_embedding(conn, face_id, pack, vector)
        under = [
            t
            for t, reason, tbox in not_a_face_store.tombstone_boxes(conn, image_id)
            if reason == "not_a_face"
            and matching.iou_matrix([face.bbox], [tbox])[0, 0] >= matching.SAME_FACE_IOU
        ]
        lifted = not_a_face_store.remove_tombstones_under(conn, under)
        done = labels.label_in(conn, person, created, [face_id], pack, {"manual": face_id})
    return {
        "face_id": face_id,
        "asset_id": image_id,
        "bbox": [round(float(v), 1) for v in face.bbox],
        "refined": refined,
        "det_score": round(face.det_score, 4),
        "quality": round(parts.quality, 4),
        "person_id": done["person_id"],
        "person_name": done["name"],
        "created": created,
        "marks_lifted": lifted,
    }


def _refuse_before_birth(conn, person: person_store.Person, taken_at: datetime | None) -> None:
    extras = profile_store.person_extras(conn, [person.id]).get(person.id, {})
    birthdate = extras.get("birthdate")
    if birthdate is not None and taken_at is not None and taken_at.date() < birthdate:
        raise ValueError(
            f"this photo was taken on {taken_at.date()}, before {person.name}'s birthdate"
            f" {birthdate}: it cannot show them"
        )
