"""The People app's operations: a face the detector missed, "not a face", cover faces,
birthdates, a person's timeline, photos of several persons, search by face and merge
suggestions between persons. The REST API, the review page and the CLI all call these.

Human decisions follow labels.py's rules: one transaction each, logged in label_events (ids
and counts only), never overwritten by a machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from face_assets import media
from face_assets.identity.lifetime import age_on
from face_assets.identity.names import normalise_name
from face_assets.library import content_hash, read_library_file
from face_assets.services import labels
from face_assets.services.identities import rebuild_prototypes
from face_assets.store import Connection, Store
from face_assets.store import face_search as search_store
from face_assets.store import label_events as event_store
from face_assets.store import labels as label_store
from face_assets.store import listings as listing_store
from face_assets.store import manual_faces as manual_store
from face_assets.store import not_a_face as not_a_face_store
from face_assets.store import person_pairs as pair_store
from face_assets.store import person_photos as person_photo_store
from face_assets.store import person_profiles as profile_store
from face_assets.store import persons as person_store
from face_assets.vision import manual, matching
from face_assets.vision.decode import decode_image
from face_assets.vision.faces import (
    box_key,
    encode_crop,
    encode_jpeg,
    face_thumbnail,
)
from face_assets.vision.models import FaceModels
from face_assets.vision.packs import embedding_dim, person_threshold
from face_assets.vision.quality import quality_parts

# Search by face: the HNSW walk returns at most SEARCH_EF_SEARCH rows, so a search costs about
# the same on 100k or 1M faces (pgvector's default is 40). Measured on 100k synthetic faces:
# 98% of the faces at or above the pack's threshold found at 200, 94.5% at 100, for a few ms
# more (benchmarks/people_queries.py).
SEARCH_EF_SEARCH = 200
SEARCH_MAX_FACES = 100  # faces one search may return (the ef_search above bounds the work)
SEARCH_DEFAULT_FACES = 24
SEARCH_MAX_PERSONS = 20
# "Not a face" can be undone from the photo's page for this long; after that the tombstone
# stays, as forgetting's do.
NOT_A_FACE_UNDO = timedelta(days=30)
# Merge suggestions between persons: centroids this close are likely one person named twice.
# Same-person pairs of buffalo_s mostly score above 0.5 (README); a centroid is steadier than
# one face, so the pack's person threshold itself is the lower edge.
PAIR_PROBE_PERSONS = 2000  # persons (most faces first) whose centroids are compared: bounded


# --- a face the detector missed ---------------------------------------------------------------


def _photo_pixels(store: Store, library_root: Path, image_id: int) -> tuple[dict, np.ndarray]:
    with store.transaction() as conn:
        found = person_photo_store.photo(conn, image_id)
    if found is None:
        raise LookupError(f"no asset {image_id}")
    data = read_library_file(library_root, found["rel_path"])
    if content_hash(data) != found["sha256"]:
        raise ValueError(f"{found['rel_path']} changed since it was scanned: re-run ingest first")
    return found, decode_image(data).bgr


def locate_drawn_face(models: FaceModels, bgr: np.ndarray, box: tuple) -> tuple:
    """(face, refined): the detector's face in the drawn region at a low threshold, else the
    face aligned from the box alone."""
    height, width = bgr.shape[:2]
    box = manual.clamp_box(box, width, height)
    x1, y1, x2, y2 = manual.refine_region(box, width, height)
    boxes, kps = models.detect(bgr[y1:y2, x1:x2], threshold=manual.REFINE_MIN_CONFIDENCE)
    found = manual.pick_detection(box, (x1, y1), boxes, kps)
    return (found, True) if found is not None else (manual.box_only_face(box), False)


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
    photo, bgr = _photo_pixels(store, library_root, image_id)
    face, refined = locate_drawn_face(models, bgr, box)
    with store.transaction() as conn:  # refused before aligning and embedding
        _refuse_drawn_over_a_face(conn, image_id, pack, face.bbox)
    crop = models.align(bgr, face.landmarks)  # the pack's own aligner and crop size
    vector = models.embed([crop])[0]
    parts = quality_parts(face.det_score, face.width, face.height, crop, face.landmarks)
    key = box_key(face.bbox)
    crop_path = media.face_file_name(photo["sha256"], pack, key, "crop")
    thumb_path = media.face_file_name(photo["sha256"], pack, key, "thumb")
    media.write_media(store.media_root, crop_path, encode_crop(crop))
    media.write_media(store.media_root, thumb_path, encode_jpeg(face_thumbnail(bgr, face.bbox)))
    quality = (
        parts.quality,
        parts.confidence,
        parts.size,
        parts.blur,
        parts.pose,
        parts.blur_variance,
        parts.yaw_ratio,
    )
    with store.transaction() as conn:
        manual_store.lock_photo_for_drawing(conn, image_id)
        _refuse_drawn_over_a_face(conn, image_id, pack, face.bbox)  # again, under the lock
        person, created = person_store.person_by_name(conn, name)
        if person.status != "active":
            raise ValueError(f"{person.name!r} is {person.status}; it cannot take new faces")
        _refuse_before_birth(conn, person, photo["taken_at"])
        face_id = manual_store.insert_manual_face(
            conn, image_id, pack, photo["month"], face.bbox, face.landmarks, face.det_score,
            crop_path, thumb_path, quality,
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


# --- "not a face" ----------------------------------------------------------------------------


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
        marks = {m["id"]: m for m in _marks(conn, mark_id)}
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

        stats = face_detection.detect_faces(models, store, library_root, [month])
        face_embedding.embed_faces(models, store, [month])
        face_scoring.score_faces(store, models.pack, [month])
        detected = stats.new_faces
    return {"mark_id": mark_id, "asset_id": image_id, "faces_found_again": detected}


def _marks(conn, mark_id: int) -> list[dict]:
    row = conn.execute("SELECT image_id FROM forgotten_faces WHERE id = %s", (mark_id,)).fetchone()
    return [] if row is None else not_a_face_store.not_a_face_tombstones(conn, row[0])


# --- cover faces, birthdates, timelines ----------------------------------------------------


def set_cover(store: Store, person_id: int, face_id: int | None) -> dict:
    """The person's cover face (None: back to their best-quality face); it must be theirs."""
    with store.transaction() as conn:
        person = person_store.find_person(conn, str(person_id))
        if face_id is not None:
            owner, _, _ = profile_store.face_owner(conn, face_id)
            if owner != person.id:
                raise ValueError(f"face {face_id} is not a face of {person.name}")
        profile_store.set_feature_face(conn, person.id, face_id)
        event_store.log_event(conn, "cover", person.id, None, 0, {"face": face_id})
        cover = profile_store.person_extras(conn, [person.id])[person.id]["cover_face_id"]
    return {"person_id": person.id, "feature_face_id": face_id, "cover_face_id": cover}


def set_birthdate(store: Store, person_id: int, birthdate: date | None, pack: str) -> dict:
    """The person's birthdate (None clears it). Automatic assignments in photos taken before it
    are released at once; a human label there is refused (a human decision is never
    overwritten: fix the label or the photo's date first)."""
    with store.transaction() as conn:
        person = person_store.find_person(conn, str(person_id))
        if person.status == "merged":
            raise ValueError(f"{person.name!r} was merged into person {person.merged_into}")
        released = 0
        if birthdate is not None:
            if birthdate > date.today():
                raise ValueError(f"a birthdate cannot lie in the future ({birthdate})")
            human = profile_store.faces_before(conn, person.id, birthdate, "human")
            if human:
                raise ValueError(
                    f"{len(human)} face(s) labelled {person.name} by a person are in photos"
                    f" taken before {birthdate} (face {human[0]} first): unassign them or"
                    " correct the date"
                )
            released = label_store.release_auto(
                conn, profile_store.faces_before(conn, person.id, birthdate, "auto")
            )
        profile_store.set_birthdate(conn, person.id, birthdate)
        if released:
            rebuild_prototypes(conn, pack, [person.id])
        event_store.log_event(conn, "birthdate", person.id, None, released)
    return {"person_id": person.id, "birthdate": birthdate, "auto_assignments_released": released}


def profile(store: Store, person_id: int) -> dict:
    """Cover, birthdate and timeline (photo dates, not detection times) of a person."""
    with store.transaction() as conn:
        person_store.find_person(conn, str(person_id))
        extras = profile_store.person_extras(conn, [person_id])[person_id]
        extras["timeline"] = profile_store.timeline(conn, person_id)
    return extras


def extras_of(store: Store, person_ids: list[int]) -> dict[int, dict]:
    with store.transaction() as conn:
        return profile_store.person_extras(conn, person_ids)


def face_facts(store: Store, face_ids: list[int], birthdate: date | None = None) -> dict:
    """Photo date, source and (with a birthdate) the person's age of each face."""
    with store.transaction() as conn:
        brief = search_store.faces_brief(conn, face_ids)
    for info in brief.values():
        info["age"] = age_on(info["taken_at"], birthdate)
    return brief


# --- photos of several persons ---------------------------------------------------------------


def photos_of(
    store: Store,
    pack: str,
    persons: list[int],
    exclude: list[int] = (),
    taken_from: datetime | None = None,
    taken_to: datetime | None = None,
    min_faces: int | None = None,
    max_faces: int | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[dict], int]:
    """Photos with all of `persons` and none of `exclude`, newest first, a page, with who is
    in each; merged persons count as the person they were merged into."""
    if min_faces is not None and max_faces is not None and min_faces > max_faces:
        raise ValueError(f"minFaces {min_faces} is above maxFaces {max_faces}")
    with store.transaction() as conn:
        wanted = person_photo_store.resolve_persons(conn, list(persons))
        unwanted = person_photo_store.resolve_persons(conn, list(exclude))
        if set(wanted) & set(unwanted):
            raise ValueError("a person cannot be both wanted and excluded")
        rows, total = person_photo_store.photos_of(
            conn, pack, wanted, unwanted, taken_from, taken_to, min_faces, max_faces,
            limit, offset,
        )  # fmt: skip
        named = person_photo_store.photo_persons(conn, [r["id"] for r in rows])
    for row in rows:
        row["persons"] = named.get(row["id"], [])
    return rows, total


def photo_detail(store: Store, image_id: int) -> dict:
    """A photo's row with its not-a-face marks (what the photo page can undo)."""
    with store.transaction() as conn:
        found = person_photo_store.photo(conn, image_id)
        if found is None:
            raise LookupError(f"no asset {image_id}")
        marks = not_a_face_store.not_a_face_tombstones(conn, image_id)
    now = datetime.now().astimezone()
    found["marks"] = [m for m in marks if now - m["created_at"] <= NOT_A_FACE_UNDO]
    return found


def photo_pixels(store: Store, library_root: Path, image_id: int) -> np.ndarray:
    """The upright pixels of a registered photo (ImageRejected, LookupError, ValueError)."""
    return _photo_pixels(store, library_root, image_id)[1]


# --- search by face --------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    faces: list[dict]  # nearest first: face id, similarity, photo, person
    persons: list[dict]  # best similarity per person, highest first
    threshold: float  # the pack's person threshold: above it, likely the same person


def search(store: Store, pack: str, vector: np.ndarray, limit: int = SEARCH_DEFAULT_FACES,
           exclude_face: int | None = None) -> SearchResult:  # fmt: skip
    """The faces and persons most like an embedding, nearest first, through the HNSW index of
    the face embeddings (bounded: at most SEARCH_EF_SEARCH rows are visited)."""
    limit = max(1, min(int(limit), SEARCH_MAX_FACES))
    with store.transaction() as conn:
        hits = search_store.nearest_faces(conn, pack, vector, limit + 1, SEARCH_EF_SEARCH)
        hits = [(f, s) for f, s in hits if f != exclude_face][:limit]
        brief = search_store.faces_brief(conn, [f for f, _ in hits])
    faces, best = [], {}
    for face_id, similarity in hits:
        info = brief.get(face_id)
        if info is None:  # deleted between the two reads
            continue
        faces.append({**info, "similarity": similarity})
        person = info["person_id"]
        if person is not None and person not in best:
            best[person] = {
                "person_id": person,
                "person_name": info["person_name"],
                "similarity": similarity,
                "face_id": face_id,
            }
    persons = sorted(best.values(), key=lambda p: -p["similarity"])[:SEARCH_MAX_PERSONS]
    return SearchResult(faces, persons, person_threshold(pack))


def face_vector(store: Store, face_id: int, pack: str) -> np.ndarray:
    with store.transaction() as conn:
        found = search_store.face_embedding(conn, face_id)
    if found is None:
        raise LookupError(f"face {face_id} has no embedding")
    if found[0] != pack:
        raise ValueError(f"face {face_id} belongs to model pack {found[0]}, not {pack}")
    return found[1]


# --- merge suggestions between persons -------------------------------------------------------


def pair_suggestions(store: Store, pack: str, limit: int) -> list[tuple[int, int, float]]:
    """(person, other, similarity) of active persons whose centroids are close, closest
    first: the PAIR_PROBE_PERSONS persons with most faces, one matrix product. Pairs a human
    called different, or seen together in one photo, are never suggested.

    The review queue asks on every request; the centroid read and the matrix product (about
    0.2 s for 2,000 persons) are redone only when the centroids or the labels change
    (_candidate_pairs); the two filters, bounded by `limit`, run each time."""
    with store.transaction() as conn:
        version = (
            event_store.labels_version(conn),
            pair_store.centroids_version(conn, pack),
        )
        pairs = _candidate_pairs(store, conn, pack, limit * 4, version)
        involved = sorted({p for a, b, _ in pairs for p in (a, b)})
        different = pair_store.different_pairs(conn, involved)
        together = pair_store.pairs_in_one_photo(conn, [(a, b) for a, b, _ in pairs])
    return [(a, b, s) for a, b, s in pairs if (a, b) not in different | together][:limit]


# (database, pack) -> (version, count, pairs): the last probe per store and pack.
_PAIR_CACHE: dict[tuple[str | None, Path, str], tuple[tuple, int, list]] = {}


def _candidate_pairs(
    store: Store, conn: Connection, pack: str, count: int, version: tuple
) -> list[tuple[int, int, float]]:
    """The `count` closest centroid pairs at or above the pack's person threshold, (low id,
    high id, similarity). Cached per store and pack under `version` (the labels' version and
    the centroids' version: a merge, hide or forget logs a label event, and a rebuild or an
    assignment run rewrites the centroids), so an unchanged library costs two small reads.
    Which PAIR_PROBE_PERSONS persons have most faces can also shift with an assignment run;
    the centroids are rebuilt after one, which changes the version."""
    key = (store.database_url, store.home_path, pack)
    cached = _PAIR_CACHE.get(key)
    if cached is not None and cached[0] == version and cached[1] == count:
        return cached[2]
    ids, vectors = pair_store.person_centroids(conn, pack, PAIR_PROBE_PERSONS, embedding_dim(pack))
    pairs: list[tuple[int, int, float]] = []
    if len(ids) >= 2:
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, -1.0)
        rows, cols = np.nonzero(np.triu(sims, 1) >= person_threshold(pack))
        order = np.argsort(-sims[rows, cols], kind="stable")[:count]
        pairs = [
            (min(ids[rows[i]], ids[cols[i]]), max(ids[rows[i]], ids[cols[i]]),
             float(sims[rows[i], cols[i]]))
            for i in order
        ]  # fmt: skip
    _PAIR_CACHE[key] = (version, count, pairs)
    return pairs


def answer_pair(store: Store, pack: str, answer: str, person_id: int, other_id: int) -> dict:
    """yes: merge the person with fewer faces into the other; no: a lasting "different"."""
    if answer not in ("yes", "no"):
        raise ValueError("an answer is 'yes' or 'no' (skipping changes nothing)")
    if person_id == other_id:
        raise ValueError("a pair is two different persons")
    with store.transaction() as conn:
        a = person_store.find_person(conn, str(person_id))
        b = person_store.find_person(conn, str(other_id))
        if answer == "no":
            pair_store.mark_different(conn, a.id, b.id)
            event_store.log_event(conn, "different", a.id, None, 0, {"other": b.id})
            return {"operation": "different", "person_id": a.id, "other_person_id": b.id,
                    "faces": 0}  # fmt: skip
        counts = pair_store.face_counts(conn, [a.id, b.id])
    source, target = (a, b) if counts.get(a.id, 0) < counts.get(b.id, 0) else (b, a)
    done = labels.merge_persons(store, str(source.id), str(target.id), pack)
    return {"operation": "merge", "person_id": target.id, "other_person_id": source.id,
            "faces": done["faces_moved"]}  # fmt: skip


def undo_different(store: Store, person_id: int, other_id: int) -> dict:
    with store.transaction() as conn:
        removed = pair_store.unmark_different(conn, person_id, other_id)
        event_store.log_event(conn, "same_maybe", person_id, None, 0, {"other": other_id})
    return {"removed": removed}


# --- the persons grid and undo ---------------------------------------------------------------


def person_grid(
    store: Store, query: str, status: str, limit: int, offset: int
) -> tuple[list[dict], int]:
    """Persons whose name contains `query`, most faces first, with covers (the review page)."""
    if status not in ("active", "hidden", "merged"):
        raise ValueError(f"unknown person status {status!r}")
    with store.transaction() as conn:
        return listing_store.person_grid(conn, query.strip(), status, limit, offset)


def undo_answer(
    store: Store,
    pack: str,
    answer: str,
    person_id: int,
    face_id: int | None = None,
    other_person_id: int | None = None,
) -> dict:
    """Take back an answer of the "Is this X?" queue where that is cheap: a face's yes (the
    human label goes, no rejection is recorded), a face's no (the rejection goes), two
    persons kept apart (asked again). A merge or a named cluster is undone by hand."""
    with store.transaction() as conn:
        if other_person_id is not None and answer == "no":
            changed = pair_store.unmark_different(conn, person_id, other_person_id)
        elif face_id is not None and answer == "yes":
            changed = label_store.release_human_label(conn, face_id, person_id)
            if changed:
                rebuild_prototypes(conn, pack, [person_id])
        elif face_id is not None and answer == "no":
            changed = label_store.drop_rejections(conn, [face_id], person_id)
        else:
            raise ValueError("only a face's answer or two persons kept apart can be undone")
        event_store.log_event(
            conn, "undo", person_id, None, changed,
            {"answer": answer, "face": face_id, "other": other_person_id},
        )  # fmt: skip
    return {"undone": bool(changed)}


def find_person(store: Store, ref: str | int) -> person_store.Person:
    """A person by id or name (case-insensitive); LookupError when there is none."""
    text = str(ref).strip()
    if not text:
        raise LookupError("no person given")
    with store.transaction() as conn:
        return person_store.find_person(conn, text if text.isdigit() else normalise_name(text))


PREVIEW_SIDES = (320, 1600)  # a photo grid's preview and the photo page's picture (pixels)


def _preview_path(sha256: str, side: int) -> str:
    return f"previews/{sha256[:2]}/{sha256}_{side}.jpg"


def person_previews(conn, person_id: int) -> list[str]:
    """The cached previews of a person's photos: forgetting deletes them with the faces."""
    return [
        _preview_path(sha, side)
        for sha in person_photo_store.person_photo_hashes(conn, person_id)
        for side in PREVIEW_SIDES
    ]


def photo_preview(store: Store, library_root: Path, image_id: int, side: int) -> bytes:
    """The photo upright as JPEG, at most `side` pixels wide or high, cached under the media
    root by content hash (a photo grid would otherwise decode every photo on every view)."""
    import cv2

    if side not in PREVIEW_SIDES:
        raise ValueError(f"a preview is {' or '.join(map(str, PREVIEW_SIDES))} pixels")
    with store.transaction() as conn:
        found = person_photo_store.photo(conn, image_id)
    if found is None:
        raise LookupError(f"no asset {image_id}")
    rel_path = _preview_path(found["sha256"], side)
    try:
        return media.read_media(store.media_root, rel_path)
    except OSError:
        pass
    bgr = _photo_pixels(store, library_root, image_id)[1]
    scale = side / max(bgr.shape[:2])
    if scale < 1:
        size = (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    data = encode_jpeg(bgr)
    media.write_media(store.media_root, rel_path, data)
    return data
