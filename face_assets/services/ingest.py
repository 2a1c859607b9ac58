"""Ingest: register a month's photos, detect, embed and score their faces.

The Dagster assets, the CLI, the upload sensor and the ingest benchmark all call these
functions, so what is measured is what runs.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import numpy as np

from face_assets import media
from face_assets.defaults import MIN_CONFIDENCE, MIN_FACE_SIZE, RECOGNITION_BATCH
from face_assets.library import (
    content_hash,
    list_library,
    read_library_file,
    scan_library,
    scanned_file,
)
from face_assets.records import FileRecord
from face_assets.services.progress import Reporter
from face_assets.store import Store
from face_assets.store import faces as face_store
from face_assets.store import images as image_store
from face_assets.vision import matching
from face_assets.vision.decode import DecodedImage, ImageRejected, decode_image
from face_assets.vision.faces import (
    box_key,
    decode_crop,
    encode_crop,
    encode_jpeg,
    face_thumbnail,
    kept_faces,
)
from face_assets.vision.models import FaceModels
from face_assets.vision.quality import quality_parts

WRITE_CHUNK_IMAGES = 16  # images per transaction: amortises commits, bounds lost work on a crash
WRITE_CHUNK_FACES = 256  # faces per embedding/quality transaction
REASON_CHANGED = "changed_since_scan"
# Reduced decoding (issue 19): the detector sees det_size px, so a photo is decoded only down
# to DETECT_DECODE_FACTOR x det_size on its longer side (a 4032 px JPEG at 1/4: 1008 px) and
# detected there; a face is aligned from pixels where it is at least ALIGN_MIN_FACE_PX wide,
# re-reading the photo at a higher scale (up to full size) when it is smaller. Our
# measurement (phone photos, same landmarks): a face 73-117 px wide in the 1/4-scale pixels
# gives cosine 0.993-0.997 to its crop from the full-size pixels, 146-304 px 0.998-0.999;
# at 112 px, 51 of 60 phone photos were read twice (benchmarks/phone_ingest.py).
DETECT_DECODE_FACTOR = 1.5
ALIGN_MIN_FACE_PX = 72

Log = Callable[[str], None]
T = TypeVar("T")


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


@dataclass
class EmbeddingStats:
    faces: int = 0
    missing_crops: int = 0
    model_seconds: float = 0.0
    seconds: float = 0.0


@dataclass
class QualityStats:
    faces: int = 0
    missing_crops: int = 0
    seconds: float = 0.0


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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


def detection_pixels(data: bytes, name: str, det_size: int) -> DecodedImage:
    """The photo decoded just large enough for the detector (DETECT_DECODE_FACTOR x det_size)."""
    return decode_image(data, name=name, min_side=round(det_size * DETECT_DECODE_FACTOR))


def full_size_faces(
    decoded: DecodedImage, boxes: np.ndarray, kps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Detector output on reduced pixels mapped to full-size upright coordinates."""
    sx, sy = decoded.scale
    boxes = np.asarray(boxes, dtype=np.float64).copy()
    if len(boxes):
        boxes[:, :4] *= (sx, sy, sx, sy)
    points = np.asarray(kps, dtype=np.float32) * np.float32([sx, sy])
    return boxes, points


def alignment_pixels(decoded: DecodedImage, faces: list, data: bytes, name: str) -> DecodedImage:
    """Pixels in which every face is at least ALIGN_MIN_FACE_PX wide, or the full-size photo:
    the detection pixels themselves when they suffice, else the photo read again at a higher
    scale (used for the small faces only)."""
    if not faces:
        return decoded
    sx, _ = decoded.scale
    if sx <= 1.0:
        return decoded  # already full size
    smallest = min(f.width for f in faces) / sx  # in decoded pixels
    if smallest >= ALIGN_MIN_FACE_PX:
        return decoded
    longest = max(decoded.bgr.shape[:2]) * ALIGN_MIN_FACE_PX / max(smallest, 1.0)
    if longest >= max(decoded.full_size):
        return decode_image(data, name=name)
    return decode_image(data, name=name, min_side=int(np.ceil(longest)))


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
    for month in sorted(set(months)):
        with store.transaction() as conn:
            pending = image_store.images_to_detect(conn, month, models.pack, redetect)
        if image_ids is not None:
            pending = [i for i in pending if i.image_id in set(image_ids)]
        progress = Reporter("detect", month, len(pending), "photos", log, "detected_faces")
        for chunk in _chunks(pending, WRITE_CHUNK_IMAGES):
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
    embed_faces(models, store, [month])
    score_faces(store, models.pack, [month])
    return stats


def _stored_crop(media_root: Path, crop_path: str) -> np.ndarray | None:
    """An aligned crop written by detection; None when it is gone or damaged (counted by the
    callers, repaired by `face-assets find-orphans --fix`)."""
    try:
        return decode_crop(media.read_media(media_root, crop_path))
    except (OSError, ValueError):
        return None


def _crops_by_chunk(
    media_root: Path,
    faces: list[T],
    crop_path: Callable[[T], str],
    stats: EmbeddingStats | QualityStats,
    progress: Reporter,
) -> Iterator[list[tuple[T, np.ndarray]]]:
    """(face, stored crop) pairs, WRITE_CHUNK_FACES faces at a time (one transaction each for
    the caller); a face whose crop is gone or damaged is left out and counted in
    stats.missing_crops. Each chunk is counted done once the caller has stored it."""
    for chunk in _chunks(faces, WRITE_CHUNK_FACES):
        found = []
        for face in chunk:
            crop = _stored_crop(media_root, crop_path(face))
            if crop is None:
                stats.missing_crops += 1
            else:
                found.append((face, crop))
        yield found
        progress.advance(len(chunk))


def embed_faces(
    models: FaceModels,
    store: Store,
    months: Iterable[str],
    batch_size: int = RECOGNITION_BATCH,
    log: Log | None = None,
) -> EmbeddingStats:
    """The pack's embeddings for every face of the months that has none, in model batches."""
    started = time.perf_counter()
    stats = EmbeddingStats()
    for month in sorted(set(months)):
        with store.transaction() as conn:
            pending = face_store.faces_without_embedding(conn, month, models.pack)
        progress = Reporter("embed", month, len(pending), "faces", log, "face_embeddings")
        for found in _crops_by_chunk(
            store.media_root, pending, lambda face: face[1], stats, progress
        ):
            ids = [face_id for (face_id, _), _ in found]
            crops = [crop for _, crop in found]
            t0 = time.perf_counter()
            embeddings = models.embed(crops, batch_size=batch_size)
            stats.model_seconds += time.perf_counter() - t0
            with store.transaction() as conn:
                face_store.store_embeddings(conn, ids, models.pack, embeddings)
            stats.faces += len(ids)
        progress.finish()
    stats.seconds = time.perf_counter() - started
    return stats


def score_faces(
    store: Store,
    pack: str,
    months: Iterable[str],
    only_unscored: bool = True,
    log: Log | None = None,
) -> QualityStats:
    """Quality of every face of the months (all four parts), from its box, crop and landmarks."""
    started = time.perf_counter()
    stats = QualityStats()
    for month in sorted(set(months)):
        with store.transaction() as conn:
            faces = face_store.faces_of_month(conn, month, pack, only_unscored)
        progress = Reporter("score", month, len(faces), "faces", log, "face_quality")
        for found in _crops_by_chunk(
            store.media_root, faces, lambda face: face.crop_path, stats, progress
        ):
            rows = []
            for face, crop in found:
                x1, y1, x2, y2 = face.bbox
                parts = quality_parts(face.det_score, x2 - x1, y2 - y1, crop, face.landmarks)
                rows.append(
                    (
                        face.face_id,
                        parts.quality,
                        parts.confidence,
                        parts.size,
                        parts.blur,
                        parts.pose,
                        parts.blur_variance,
                        parts.yaw_ratio,
                    )
                )
            with store.transaction() as conn:
                face_store.store_quality(conn, rows)
            stats.faces += len(rows)
        progress.finish()
    stats.seconds = time.perf_counter() - started
    return stats


@dataclass
class RegistrationStats:
    files_scanned: int = 0
    files_in_months: int = 0
    new_images: int = 0
    already_registered: int = 0
    duplicate_paths: int = 0
    files_gone: int = 0
    statuses: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def _scan_progress(month: str, log: Log | None, name: str) -> Callable[[int, int], None]:
    """A library scan's progress(done, total) callback, told as the "scan" stage."""
    reporters: list[Reporter] = []

    def told(done: int, total: int) -> None:
        if not reporters:
            reporters.append(Reporter("scan", month, total, "files", log, name))
        reporters[0].advance(done - reporters[0].done)

    return told


def register_months(
    store: Store,
    library_root: Path,
    months: Iterable[str],
    month_of: Callable,
    log: Log | None = None,
) -> RegistrationStats:
    """Register the months' photos: one image row per distinct content, each file's status.

    Only files that are new or changed (or of these months and not registered yet) are read.
    Only these months enter the file cache: a new photo of another month stays "new" for the
    upload sensor until that month's own run registers it.
    """
    started = time.perf_counter()
    months = set(months)
    with store.transaction() as conn:
        cache = image_store.cached_files(conn)
    progress = _scan_progress(", ".join(sorted(months)), log, "raw_images")
    scanned = list(scan_library(library_root, cache, month_of, months, progress))
    files = [s.file for s in scanned]
    wanted = [s.image for s in scanned if s.image is not None and s.image.month in months]
    unique = list({img.sha256: img for img in wanted}.values())  # same content, one image
    stats = RegistrationStats(files_scanned=len(files), duplicate_paths=len(wanted) - len(unique))
    stats.files_in_months = sum(1 for f in files if f.month in months)
    with store.transaction() as conn:
        image_store.upsert_files(conn, [f for f in files if f.month in months])
        stats.files_gone = image_store.forget_missing_files(conn, {f.rel_path for f in files})
        stats.new_images, stats.already_registered = image_store.register_images(conn, unique)
        for month in months:
            stats.statuses += image_store.month_image_counts(conn, month)
            stats.refused += image_store.month_file_problems(conn, month)
    stats.seconds = time.perf_counter() - started
    return stats


@dataclass
class LibraryScan:
    """What a scan of the whole library found."""

    months: dict[str, int]  # month -> files (empty when no file is a usable photo)
    files: int  # photo candidates (by extension)
    usable: int  # of them, readable images
    unusable: list[FileRecord]  # the others, each with its reason (status) and detail


def scan_library_files(
    store: Store, library_root: Path, month_of: Callable, log: Log | None = None
) -> LibraryScan:
    """Refresh the library-file cache and say which months hold files, which files are no
    usable photos, and why.

    Only new or changed files are read. A library without a single usable photo leaves the
    store as it was: its files are filed under no month (they would all land in the month of
    their file times, usually the current one).
    """
    with store.transaction() as conn:
        cache = image_store.cached_files(conn)
    progress = _scan_progress("", log, "library scan")
    files = [s.file for s in scan_library(library_root, cache, month_of, progress=progress)]
    usable = sum(1 for f in files if f.status == "ok")
    found = LibraryScan({}, len(files), usable, [f for f in files if f.status != "ok"])
    if usable:
        with store.transaction() as conn:
            image_store.upsert_files(conn, files)
            image_store.forget_missing_files(conn, {f.rel_path for f in files})
        found.months = dict(sorted(Counter(f.month for f in files).items()))
    return found


def scan_months(store: Store, library_root: Path, month_of: Callable) -> dict[str, int]:
    """The months holding files (with counts), after refreshing the library-file cache;
    the demo, the CLI and the benchmarks use it to decide which month partitions to run."""
    return scan_library_files(store, library_root, month_of).months


@dataclass
class PendingFile:
    rel_path: str
    size: int
    mtime_ns: int
    month: str


def pending_uploads(
    store: Store,
    library_root: Path,
    month_of: Callable,
    known: dict[str, PendingFile],
    max_reads: int,
) -> tuple[list[PendingFile], int]:
    """Library files that no ingest run has registered yet (new or changed), with months.

    Months of files already seen by an earlier call (`known`, same size and mtime) are reused;
    at most `max_reads` other files are opened to read their date, so one tick's work is
    bounded. Returns the pending files found and how many were left for a later call.
    """
    with store.transaction() as conn:
        cache = image_store.cached_files(conn)
    pending, deferred, reads = [], 0, 0
    for entry in list_library(library_root):
        cached = cache.get(entry.rel_path)
        if cached and (cached.size, cached.mtime_ns) == (entry.size, entry.mtime_ns):
            continue
        seen = known.get(entry.rel_path)
        if seen and (seen.size, seen.mtime_ns) == (entry.size, entry.mtime_ns):
            pending.append(seen)
            continue
        if entry.problem is not None:
            month = month_of(entry.mtime)
        elif reads >= max_reads:
            deferred += 1
            continue
        else:
            reads += 1
            month = scanned_file(library_root, entry, month_of).file.month
        pending.append(PendingFile(entry.rel_path, entry.size, entry.mtime_ns, month))
    return pending, deferred


def month_quality_values(store: Store, pack: str, months: Iterable[str]) -> np.ndarray:
    with store.transaction() as conn:
        values = [face_store.month_qualities(conn, m, pack) for m in sorted(set(months))]
    return np.concatenate(values) if values else np.zeros(0)


def month_summaries(store: Store, pack: str, months: Iterable[str]) -> list[dict]:
    """Faces and embedded faces per month, for run metadata."""
    with store.transaction() as conn:
        return [face_store.month_face_summary(conn, m, pack) for m in months]


def months_with_new_faces(store: Store, pack: str, since: datetime) -> list[str]:
    """Months that received faces since a moment (what a nightly assignment run covers)."""
    with store.transaction() as conn:
        return image_store.months_with_new_faces(conn, pack, since)


def months_with_new_work(store: Store, pack: str, months: Iterable[str]) -> list[str]:
    """The months an ingest run would change: files readable but not registered, photos
    this pack has not detected, faces without an embedding or a quality. The others are
    said to hold nothing new at once, instead of after a run that finds nothing to do."""
    with store.transaction() as conn:
        cache = image_store.cached_files(conn)
        unregistered = {f.month for f in cache.values() if f.sha256 and not f.registered}
        return [
            month
            for month in months
            if month in unregistered
            or image_store.images_to_detect(conn, month, pack, False)
            or face_store.faces_without_embedding(conn, month, pack)
            or face_store.faces_of_month(conn, month, pack, True)
        ]


def first_library_month(store: Store) -> str | None:
    """The library's first month as the scans filed it; None when nothing was scanned yet,
    or when there is no store to ask (an embedded one never created: nothing ingested)."""
    if store.database_url is None and not (store.home_path / "pgdata").is_dir():
        return None
    with store.transaction() as conn:
        return image_store.first_file_month(conn)
