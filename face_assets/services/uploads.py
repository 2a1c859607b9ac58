"""What the upload sensor asks each tick: the library files no ingest run has registered yet,
found with a bounded number of reads so one tick's work stays small."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from face_assets.library import LibraryEntry, list_library, scanned_file
from face_assets.store import Store
from face_assets.store import images as image_store


@dataclass
class PendingFile:
    rel_path: str
    size: int
    mtime_ns: int
    month: str


@dataclass
class PendingScan:
    """One sensor tick's pending files (photos or clips), each with its month: reused from an
    earlier tick (`known`, same size and mtime), else the file time of a file that cannot be
    used, else read from the file, at most `max_reads` reads; the rest wait for a later tick.
    The sensor builds one per tick and hands it to pending_uploads or pending_videos."""

    known: dict[str, PendingFile]
    max_reads: int
    month_of: Callable
    pending: list[PendingFile] = field(default_factory=list, init=False)
    deferred: int = field(default=0, init=False)  # files left for a later tick
    reads: int = field(default=0, init=False)

    def add(self, entry: LibraryEntry, read_month: Callable[[], str]) -> None:
        """Count one new or changed library entry; `read_month` opens the file for its month."""
        seen = self.known.get(entry.rel_path)
        if seen and (seen.size, seen.mtime_ns) == (entry.size, entry.mtime_ns):
            self.pending.append(seen)
            return
        if entry.problem is not None:
            month = self.month_of(entry.mtime)
        elif self.reads >= self.max_reads:
            self.deferred += 1
            return
        else:
            self.reads += 1
            month = read_month()
        self.pending.append(PendingFile(entry.rel_path, entry.size, entry.mtime_ns, month))


def pending_uploads(
    store: Store, library_root: Path, scan: PendingScan
) -> tuple[list[PendingFile], int]:
    """Library files that no ingest run has registered yet (new or changed), with months.

    Months of files already seen by an earlier call (the scan's `known`, same size and mtime)
    are reused; at most the scan's `max_reads` other files are opened to read their date, so
    one tick's work is bounded. Returns the pending files found and how many were left for a
    later call.
    """
    with store.transaction() as conn:
        cache = image_store.cached_files(conn)
    month_of = scan.month_of
    for entry in list_library(library_root):
        cached = cache.get(entry.rel_path)
        if cached and (cached.size, cached.mtime_ns) == (entry.size, entry.mtime_ns):
            continue
        scan.add(entry, lambda entry=entry: scanned_file(library_root, entry, month_of).file.month)
    return scan.pending, scan.deferred
