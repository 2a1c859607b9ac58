"""Seed 002's `faces backfill`: detect the faces of registered photos this pack has not
detected yet, a bounded slice at a time (`limit` photos from `offset`, in id order), then
embed and score them as ingest does. Photos enter the store by the library scan (`ingest`,
the upload sensor); backfill is how a bounded share of them gets its faces, e.g. after a
switch of pack, a crash between registration and detection, or a first big import."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from face_assets.defaults import BACKFILL_LIMIT, BACKFILL_OFFSET, MIN_CONFIDENCE, MIN_FACE_SIZE
from face_assets.services import face_detection, face_embedding, face_scoring
from face_assets.store import Store
from face_assets.store import images as image_store
from face_assets.vision.models import FaceModels


@dataclass
class DetectedImages:
    """What detecting a set of photos did (seed 002's backfill and re-detection counts)."""

    processed: int = 0  # photos detected (with or without faces)
    total_faces: int = 0
    errors: int = 0  # photos that could not be read, each reason recorded on the photo
    errors_by_reason: dict[str, int] = field(default_factory=dict)
    embedded: int = 0
    months: list[str] = field(default_factory=list)


def _by_month(rows: list[tuple[int, str]]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for image_id, month in rows:
        found.setdefault(month, []).append(image_id)
    return found


def selection(store: Store, pack: str, limit: int | None, offset: int) -> dict[str, list[int]]:
    """{month: image ids} of the backfill's slice: usable photos without this pack's
    detection, in id order, `offset` of them skipped, at most `limit` (None: all)."""
    check_slice(limit, offset)
    with store.transaction() as conn:
        return _by_month(image_store.images_without_detection(conn, pack, limit, offset))


def waiting(store: Store, pack: str) -> int:
    """Usable photos this pack has not detected yet."""
    with store.transaction() as conn:
        return image_store.count_images_without_detection(conn, pack)


def check_slice(limit: int | None, offset: int, min_confidence: float = MIN_CONFIDENCE) -> None:
    """A one-line ValueError for a slice or threshold no run could take."""
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"--min-confidence {min_confidence:g}: give a score from 0 to 1")
    if limit is not None and limit < 1:
        raise ValueError(f"--limit {limit}: give at least 1 photo")
    if offset < 0:
        raise ValueError(f"--offset {offset}: give 0 or more")


def detect_images(
    models: FaceModels,
    store: Store,
    library_root: Path,
    images: dict[str, Collection[int]],
    min_confidence: float = MIN_CONFIDENCE,
    min_face_size: float = MIN_FACE_SIZE,
    redetect: bool = False,
) -> DetectedImages:
    """Detect these photos ({month: image ids}; only them, not their whole months), then
    embed and score the months' faces that lack it. A face found again keeps its id."""
    done = DetectedImages(months=sorted(images))
    failed: dict[str, int] = {}
    for month in done.months:
        stats = face_detection.detect_faces(
            models, store, library_root, [month], min_confidence, min_face_size, redetect,
            image_ids=frozenset(images[month]),
        )  # fmt: skip
        done.processed += stats.images
        done.total_faces += stats.faces
        for reason, count in stats.failed.items():
            failed[reason] = failed.get(reason, 0) + count
    done.errors = sum(failed.values())
    done.errors_by_reason = dict(sorted(failed.items()))
    if done.months:
        done.embedded = face_embedding.embed_faces(models, store, done.months).faces
        face_scoring.score_faces(store, models.pack, done.months)
    return done


def backfill(
    models: FaceModels,
    store: Store,
    library_root: Path,
    limit: int | None = BACKFILL_LIMIT,
    offset: int = BACKFILL_OFFSET,
    min_confidence: float = MIN_CONFIDENCE,
) -> DetectedImages:
    """Detect, embed and score the backfill's slice (`selection`)."""
    chosen = selection(store, models.pack, limit, offset)
    return detect_images(models, store, library_root, chosen, min_confidence)
