"""Registering the library's photos: the file cache refreshed by a scan (only new or changed
files are read) and one image row per distinct content of the months a run covers.

The raw_images asset, the CLI, the demo and the benchmarks call these, so what is measured is
what runs."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from face_assets.library import scan_library
from face_assets.records import FileRecord
from face_assets.services.progress import Log, Reporter
from face_assets.store import Store
from face_assets.store import images as image_store


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
