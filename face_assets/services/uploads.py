"""What the upload sensor asks each tick: the library files no ingest run has registered yet,
found with a bounded number of reads so one tick's work stays small."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from face_assets.library import list_library, scanned_file
from face_assets.store import Store
from face_assets.store import images as image_store


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
