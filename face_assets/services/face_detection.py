"""Detection: find, align and thumbnail the faces of a month's registered photos (or one photo),
matching them to the faces stored before so a face found again keeps its id.

The detected_faces asset, backfill, repack, the undo of "not a face", the HTTP app and the
benchmarks call these, so what is measured is what runs."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from face_assets import media
from face_assets.defaults import MIN_CONFIDENCE, MIN_FACE_SIZE
from face_assets.library import content_hash, read_library_file
from face_assets.services import face_embedding, face_scoring
from face_assets.services.detection_pixels import (
    ALIGN_MIN_FACE_PX,
    alignment_pixels,
    detection_pixels,
    full_size_faces,
)
from face_assets.services.progress import Log, Reporter
from face_assets.services.stored_crops import chunks
from face_assets.store import Store
from face_assets.store import faces as face_store
from face_assets.store import images as image_store
from face_assets.vision import matching
from face_assets.vision.decode import DecodedImage, ImageRejected
from face_assets.vision.faces import box_key, encode_crop, encode_jpeg, face_thumbnail, kept_faces
from face_assets.vision.models import FaceModels

WRITE_CHUNK_IMAGES = 16  # images per transaction: amortises commits, bounds lost work on a crash
REASON_CHANGED = "changed_since_scan"


@dataclass
class DetectionStats:
    images: int = 0
    images_with_faces: int = 0
    faces: int = 0
    removed_faces: int = 0
    suppressed_faces: int = 0  # detections on a forgotten face's tombstone, dropped
    refreshed_faces: int = 0  # stored faces found again (same id, labels, cluster)
    new_faces: int = 0
    failed: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)
    decode_seconds: float = 0.0
    detect_seconds: float = 0.0
    align_seconds: float = 0.0  # aligned crops and thumbnails, written to the media folder
    store_seconds: float = 0.0  # the face rows' transactions
    reread_images: int = 0  # photos read again at a higher scale for a small face's crop
    seconds: float = 0.0


def _each(items: list, progress: Reporter) -> Iterable:
    """The items, each counted done when the loop body has finished with it."""
    for item in items:
        yield item
        progress.advance()


def _read_image(library_root: Path, paths: tuple[str, ...], sha256: str) -> bytes:
    """The image's bytes from the first of its paths that still holds the registered content."""
    last: ImageRejected | None = None
    for rel_path in paths:
        try:
            data = read_library_file(library_root, rel_path)
        except ImageRejected as exc:
            last = exc
            continue
        if content_hash(data) == sha256:
            return data
        last = ImageRejected(REASON_CHANGED, f"{rel_path} changed since it was scanned")
    raise last or ImageRejected(REASON_CHANGED, "no library path holds this image any more")


@dataclass
class _PlannedFaces:
    rows: list[face_store.FaceRow]
    refreshed: int = 0
    forgotten: int = 0


def _stored_faces(
    image: image_store.PendingImage,
    pixels: DecodedImage,
    detail: DecodedImage,
    faces: list,
    models: FaceModels,
    media_root: Path,
    known: list[face_store.KnownFace],
) -> _PlannedFaces:
    """Match the detections to the image's stored faces by overlap, drop those on a forgotten
    face, and write each kept face's aligned crop and thumbnail.

    A face found again (IoU >= SAME_FACE_IOU with a stored face of this image and pack) keeps
    its row and its file names, so nothing is duplicated or orphaned. Its crop counts as
    changed when its landmarks moved (compared with the stored landmarks, not with the file:
    a run killed after writing the file but before committing must still redo the embedding).
    Faces are in full-size coordinates; `pixels` may be smaller (its scale maps them), and a
    face narrower than ALIGN_MIN_FACE_PX there is cropped from `detail` (read at more scale).
    """
    boxes = np.asarray([f.bbox for f in faces], dtype=np.float64).reshape(-1, 4)
    pairs = matching.match_boxes(boxes, [k.bbox for k in known], matching.SAME_FACE_IOU)
    match_of = {i: known[j] for i, j, _ in pairs}
    on_tombstone = matching.overlapping(boxes, image.forgotten, matching.SAME_FACE_IOU)
    plan = _PlannedFaces([])
    for index, face in enumerate(faces):
        stored = match_of.get(index)
        if stored is None and on_tombstone[index]:
            plan.forgotten += 1  # a forgotten person's face: no row, no pixels
            continue
        if stored is not None:
            crop_path, thumb_path = stored.crop_path, stored.thumb_path
            changed = not np.array_equal(
                np.asarray(face.landmarks, dtype=np.float32).reshape(5, 2), stored.landmarks
            )
            plan.refreshed += 1
        else:
            key = box_key(face.bbox)
            crop_path = media.face_file_name(image.sha256, models.pack, key, "crop")
            thumb_path = media.face_file_name(image.sha256, models.pack, key, "thumb")
            changed = True
        source = pixels if face.width / pixels.scale[0] >= ALIGN_MIN_FACE_PX else detail
        sx, sy = source.scale
        points = np.asarray(face.landmarks, dtype=np.float32) / np.float32([sx, sy])
        box = (face.bbox[0] / sx, face.bbox[1] / sy, face.bbox[2] / sx, face.bbox[3] / sy)
        crop = models.align(source.bgr, points)
        media.write_media(media_root, crop_path, encode_crop(crop))
        media.write_media(media_root, thumb_path, encode_jpeg(face_thumbnail(source.bgr, box)))
        plan.rows.append(
            face_store.FaceRow(
                len(plan.rows),
                face.bbox,
                box_key(face.bbox),
                face.landmarks,
                face.det_score,
                crop_path,
                thumb_path,
                face_id=None if stored is None else stored.face_id,
                crop_changed=changed,
            )
        )
    return plan


def detect_faces(
    models: FaceModels,
    store: Store,
    library_root: Path,
    months: Iterable[str],
    min_confidence: float = MIN_CONFIDENCE,
    min_face_size: float = MIN_FACE_SIZE,
    redetect: bool = False,
    log: Log | None = None,
    image_ids: Collection[int] | None = None,
) -> DetectionStats:
    """Detect, align and thumbnail the faces of every not-yet-detected image of the months
    (only these images of them when `image_ids` is given)."""
    started = time.perf_counter()
    stats = DetectionStats()
    params = {
        "min_confidence": min_confidence,
        "min_face_size": min_face_size,
        "det_size": models.det_size,
    }
    # Filtered in the query: a backfill hands in 1,000 ids for months of 10,000 photos, and
    # one photo's re-detection must not read its whole month's rows.
    wanted = None if image_ids is None else sorted(set(image_ids))
    for month in sorted(set(months)):
        with store.transaction() as conn:
            pending = image_store.images_to_detect(conn, month, models.pack, redetect, wanted)
        progress = Reporter("detect", month, len(pending), "photos", log, "detected_faces")
        for chunk in chunks(pending, WRITE_CHUNK_IMAGES):
            with store.transaction() as conn:
                known = face_store.known_faces(conn, [i.image_id for i in chunk], models.pack)
            results = []
            for image in _each(chunk, progress):
                t0 = time.perf_counter()
                name = image.paths[0]
                try:
                    data = _read_image(library_root, image.paths, image.sha256)
                    decoded = detection_pixels(data, name, models.det_size)
                except ImageRejected as exc:
                    stats.failed[exc.reason] += 1
                    results.append((image, exc, None, ()))
                    continue
                t1 = time.perf_counter()
                boxes, kps = full_size_faces(
                    decoded, *models.detect(decoded.bgr, threshold=min_confidence)
                )
                faces = kept_faces(boxes, kps, min_confidence, min_face_size)
                t2 = time.perf_counter()
                try:
                    pixels = alignment_pixels(decoded, faces, data, name)
                except ImageRejected as exc:  # decodable small, not large: count it, keep none
                    stats.failed[exc.reason] += 1
                    results.append((image, exc, None, ()))
                    continue
                t3 = time.perf_counter()
                stats.decode_seconds += (t1 - t0) + (t3 - t2)
                stats.detect_seconds += t2 - t1
                stats.reread_images += pixels is not decoded
                plan = _stored_faces(
                    image,
                    decoded,
                    pixels,
                    faces,
                    models,
                    store.media_root,
                    known.get(image.image_id, []),
                )
                stats.align_seconds += time.perf_counter() - t3
                stats.suppressed_faces += plan.forgotten
                for note in decoded.notes:
                    stats.notes[note.split(":")[0]] += 1
                results.append((image, None, plan.rows, decoded.notes))
            removed_paths: list[str] = []
            t4 = time.perf_counter()
            with store.transaction() as conn:
                for image, error, rows, notes in results:
                    if error is not None:
                        image_store.mark_image_failed(
                            conn, image.image_id, error.reason, error.detail
                        )
                        continue
                    written = face_store.replace_image_faces(
                        conn, image.image_id, models.pack, month, rows, params
                    )
                    stats.removed_faces += written.removed
                    stats.refreshed_faces += written.refreshed
                    stats.new_faces += written.inserted
                    removed_paths.extend(written.removed_paths)
                    image_store.add_image_notes(conn, image.image_id, notes)
                    stats.images += 1
                    stats.faces += len(rows)
                    stats.images_with_faces += bool(rows)
            stats.store_seconds += time.perf_counter() - t4
            # After the commit: a crash before it leaves files a re-run overwrites or
            # `find-orphans --fix` removes, never a face row without its files.
            media.delete_media(store.media_root, removed_paths)
        progress.finish()
    stats.seconds = time.perf_counter() - started
    return stats


def detect_photo(
    models: FaceModels,
    store: Store,
    library_root: Path,
    image_id: int,
    month: str,
    min_confidence: float = MIN_CONFIDENCE,
    min_face_size: float = MIN_FACE_SIZE,
) -> DetectionStats:
    """Re-detect one registered photo of `month` (not the whole month) and embed and score
    its faces as ingest does (seed 002's POST /detect/{asset_id}). A face found again keeps
    its id, labels and cluster; the month's other photos are not touched. ValueError names
    the reason when the photo cannot be read."""
    stats = detect_faces(
        models, store, library_root, [month], min_confidence, min_face_size, True,
        image_ids=[image_id],
    )  # fmt: skip
    if stats.failed:
        raise ValueError(f"asset {image_id} could not be detected: {', '.join(stats.failed)}")
    face_embedding.embed_faces(models, store, [month])
    face_scoring.score_faces(store, models.pack, [month])
    return stats
