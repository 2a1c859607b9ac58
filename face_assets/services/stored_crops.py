"""The aligned crops detection wrote, read back in transaction-sized chunks: what embedding
and quality scoring both work from (a crop gone or damaged is counted, never fatal).
`months_crops_by_chunk` is the month loop both share (each declares its `CropPass`); `chunks`
also cuts detection's photos into transactions; `write_new_face_media` writes the files of a
face no detection run found (drawn by hand, imported from a tag)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from face_assets import media
from face_assets.services.progress import Log, Reporter
from face_assets.store import Connection, Store
from face_assets.vision.faces import box_key, decode_crop, encode_crop, encode_jpeg, face_thumbnail

WRITE_CHUNK_FACES = 256  # faces per embedding/quality transaction
T = TypeVar("T")


@dataclass
class CropPassStats:
    """What a pass over stored crops reports (scoring's stats are these, embedding's extend
    them): the faces it did, the faces whose crop was gone or damaged, and how long it took."""

    faces: int = 0
    missing_crops: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class CropPass(Generic[T]):
    """What one pass over the stored crops works on, declared once by each pass: `pending(conn,
    month)` reads a month's faces still to do, `crop_path(face)` is where a face's stored crop
    is, and `verb` and `asset` ("embed", "face_embeddings") name its progress lines."""

    verb: str
    asset: str
    pending: Callable[[Connection, str], list[T]]
    crop_path: Callable[[T], str]


def chunks(items: list, size: int) -> Iterable[list]:
    """The items in lists of `size` (the last shorter): one transaction's work each."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stored_crop(media_root: Path, crop_path: str) -> np.ndarray | None:
    """An aligned crop written by detection; None when it is gone or damaged (counted by the
    callers, repaired by `face-assets find-orphans --fix`)."""
    try:
        return decode_crop(media.read_media(media_root, crop_path))
    except (OSError, ValueError):
        return None


def crops_by_chunk(
    media_root: Path,
    faces: list[T],
    crop_path: Callable[[T], str],
    stats: CropPassStats,
    progress: Reporter,
) -> Iterator[list[tuple[T, np.ndarray]]]:
    """(face, stored crop) pairs, WRITE_CHUNK_FACES faces at a time (one transaction each for
    the caller); a face whose crop is gone or damaged is left out and counted in
    stats.missing_crops. Each chunk is counted done once the caller has stored it."""
    for chunk in chunks(faces, WRITE_CHUNK_FACES):
        found = []
        for face in chunk:
            crop = _stored_crop(media_root, crop_path(face))
            if crop is None:
                stats.missing_crops += 1
            else:
                found.append((face, crop))
        yield found
        progress.advance(len(chunk))


def months_crops_by_chunk(
    store: Store,
    months: Iterable[str],
    crop_pass: CropPass[T],
    stats: CropPassStats,
    log: Log | None = None,
) -> Iterator[list[tuple[T, np.ndarray]]]:
    """`crops_by_chunk` over each month in turn (oldest first), of the faces `crop_pass` reads
    for the month. The loop embedding and quality scoring share, so a month is read and
    reported the same way.
    However the pass ends (all months done, or the generator closed early: a caller that
    breaks out, an error), stats.seconds then holds the time it ran."""
    started = time.perf_counter()
    try:
        for month in sorted(set(months)):
            with store.transaction() as conn:
                faces = crop_pass.pending(conn, month)
            progress = Reporter(crop_pass.verb, month, len(faces), "faces", log, crop_pass.asset)
            yield from crops_by_chunk(store.media_root, faces, crop_pass.crop_path, stats, progress)
            progress.finish()
    finally:
        stats.seconds = time.perf_counter() - started


def write_new_face_media(
    media_root: Path, sha256: str, pack: str, bgr: np.ndarray, bbox: tuple, crop: np.ndarray
) -> tuple[tuple[int, int, int, int], str, str]:
    """(box key, crop path, thumb path) of a new face, its aligned crop and thumbnail written
    where detection would have put them (same names: a re-detection overwrites, never adds)."""
    key = box_key(bbox)
    crop_path = media.face_file_name(sha256, pack, key, "crop")
    thumb_path = media.face_file_name(sha256, pack, key, "thumb")
    media.write_media(media_root, crop_path, encode_crop(crop))
    media.write_media(media_root, thumb_path, encode_jpeg(face_thumbnail(bgr, bbox)))
    return key, crop_path, thumb_path
