"""The photo library on disk: which files are photos, and reading them without leaving the root.

Pure filesystem code (no Dagster, no SQL). Confinement is enforced here, once, so that no
caller can read outside the library by a crafted relative path or a symlink.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from face_assets.records import FileRecord, ImageRecord
from face_assets.vision.decode import (
    EXTENSION_FAMILIES,
    MAX_FILE_BYTES,
    REASON_EMPTY,
    REASON_NOT_REGULAR,
    REASON_OUTSIDE_LIBRARY,
    REASON_TOO_LARGE,
    REASON_UNREADABLE,
    ImageRejected,
    read_header,
)
from face_assets.vision.video import VIDEO_EXTENSIONS

# Extensions scanned as photos (JPEG, PNG, WebP, BMP, TIFF, GIF, HEIC/HEIF, AVIF, camera RAW);
# anything else (videos, XMP sidecars, .picasa.ini, .DS_Store) is ignored by the photo scan.
IMAGE_EXTENSIONS = frozenset(EXTENSION_FAMILIES)
# A Live Photo is a still (HEIC or JPEG) plus a short video of the same name in the same
# folder (Apple's convention; Google's motion photos embed the video instead).
LIVE_PHOTO_VIDEO_EXTENSIONS = frozenset({".mov", ".mp4"})
LIVE_PHOTO_STILL_EXTENSIONS = frozenset({".heic", ".heif", ".jpg", ".jpeg"})


@dataclass(frozen=True)
class LibraryEntry:
    """One candidate photo as the directory walk saw it (lstat only, no content read)."""

    rel_path: str
    size: int
    mtime_ns: int
    problem: str | None = None
    detail: str = ""

    @property
    def mtime(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, tz=UTC).replace(tzinfo=None)


def _inside(root: Path, candidate: Path) -> bool:
    try:
        candidate.relative_to(root)
    except ValueError:
        return False
    return True


def _entry_for(root: Path, path: Path, rel_path: str) -> LibraryEntry:
    try:
        st = path.lstat()
    except OSError as exc:
        return LibraryEntry(rel_path, 0, 0, REASON_UNREADABLE, exc.strerror or str(exc))
    if stat.S_ISLNK(st.st_mode):
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            return LibraryEntry(rel_path, 0, st.st_mtime_ns, REASON_UNREADABLE, f"link: {exc}")
        if not _inside(root, target):
            return LibraryEntry(
                rel_path, 0, st.st_mtime_ns, REASON_OUTSIDE_LIBRARY, "symlink leaves the library"
            )
        st = target.stat()
    if not stat.S_ISREG(st.st_mode):
        return LibraryEntry(rel_path, 0, st.st_mtime_ns, REASON_NOT_REGULAR, "not a regular file")
    return LibraryEntry(rel_path, st.st_size, st.st_mtime_ns)


def _folders(root: Path | str) -> Iterator[tuple[Path, Path, list[str], list[str]]]:
    """(resolved root, folder, its subfolders, its file names) for every folder of the library
    in a stable order: symlinked folders are not entered (no loops, no escapes), hidden ones
    (photo managers' caches) are skipped."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise NotADirectoryError(f"photo library root {root} is not a directory")
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        yield root, Path(dirpath), dirnames, filenames


def list_library(root: Path | str) -> Iterator[LibraryEntry]:
    """Walk the library in a stable order, yielding photo candidates and confinement problems.

    Symlinked directories are not followed (no loops, no escapes); hidden files and folders are
    skipped because photo managers keep caches there.
    """
    for top, base, dirnames, filenames in _folders(root):
        for name in sorted(filenames + [d for d in dirnames if (base / d).is_symlink()]):
            if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            path = base / name
            rel_path = path.relative_to(top).as_posix()
            yield _entry_for(top, path, rel_path)


def live_photo_videos(filenames: list[str] | set[str]) -> dict[str, str]:
    """The videos of one folder that are the motion half of a Live Photo, mapped to their
    still: the still is the photo (scanned once), the video is not a separate clip.

    Stems are compared case-insensitively (IMG_0001.HEIC + IMG_0001.MOV).
    """
    stills = {}
    for name in filenames:
        path = Path(name)
        if path.suffix.lower() in LIVE_PHOTO_STILL_EXTENSIONS:
            stills.setdefault(path.stem.lower(), name)
    return {
        name: stills[Path(name).stem.lower()]
        for name in filenames
        if Path(name).suffix.lower() in LIVE_PHOTO_VIDEO_EXTENSIONS
        and Path(name).stem.lower() in stills
    }


def list_videos(root: Path | str) -> Iterator[LibraryEntry]:
    """Walk the library for clips (vision/video.VIDEO_EXTENSIONS), with the photo walk's rules:
    stable order, hidden entries skipped, symlinks confined to the root; a Live Photo's video
    belongs to its still and is skipped."""
    for top, base, _, filenames in _folders(root):
        live = live_photo_videos(filenames)  # a Live Photo's motion half is not a clip
        for name in sorted(filenames):
            if name.startswith(".") or Path(name).suffix.lower() not in VIDEO_EXTENSIONS:
                continue
            if name in live:
                continue
            path = base / name
            yield _entry_for(top, path, path.relative_to(top).as_posix())


def confined_path(root: Path | str, rel_path: str) -> Path:
    """Resolve rel_path under root, refusing `..`, absolute paths and symlinks that escape."""
    root = Path(root).resolve()
    if not rel_path or Path(rel_path).is_absolute() or ".." in Path(rel_path).parts:
        raise ImageRejected(
            REASON_OUTSIDE_LIBRARY, f"{rel_path!r} is not a path inside the library"
        )
    resolved = (root / rel_path).resolve()
    if not _inside(root, resolved):
        raise ImageRejected(REASON_OUTSIDE_LIBRARY, f"{rel_path!r} resolves outside the library")
    return resolved


def read_library_file(root: Path | str, rel_path: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Read one photo's bytes; every refusal is an ImageRejected with a stable reason."""
    path = confined_path(root, rel_path)
    try:
        st = path.stat()
    except OSError as exc:
        raise ImageRejected(REASON_UNREADABLE, exc.strerror or str(exc)) from exc
    if not stat.S_ISREG(st.st_mode):
        raise ImageRejected(REASON_NOT_REGULAR, "not a regular file")
    if st.st_size == 0:
        raise ImageRejected(REASON_EMPTY, "zero-byte file")
    if st.st_size > max_bytes:
        raise ImageRejected(REASON_TOO_LARGE, f"{st.st_size} bytes exceeds {max_bytes}")
    try:
        with path.open("rb") as handle:
            return handle.read(max_bytes + 1)
    except OSError as exc:
        raise ImageRejected(REASON_UNREADABLE, exc.strerror or str(exc)) from exc


def content_hash(data: bytes) -> str:
    """sha256 hex: the identity of a photo, so the same bytes at two paths are one image."""
    return hashlib.sha256(data).hexdigest()


def month_of(moment: datetime, first: str, last: str | None = None) -> str:
    """The month (partition key, YYYY-MM) a photo taken at `moment` belongs to.

    Photos dated before the first month (or after the last, from a wrong camera clock) go to
    the nearest end, so every photo is processed; its true time stays in images.taken_at.
    `last` defaults to the current month, the newest partition.
    """
    month = f"{moment.year:04d}-{moment.month:02d}"
    last = last or datetime.now().strftime("%Y-%m")
    return min(max(month, first), last)


@dataclass(frozen=True)
class ScannedFile:
    """A library path and, when its content could be read, the image it holds."""

    file: FileRecord
    image: ImageRecord | None


def scan_library(
    root: Path | str,
    cache: Mapping[str, FileRecord],
    month_of: Callable[[datetime], str],
    wanted_months: set[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[ScannedFile]:
    """Scan the library, reading only files that are new or changed since the cached scan.

    `cache` maps rel_path to the store's record of it (the library_files table). A file whose
    size and mtime match its cached row is not read again, unless its month is wanted and
    its image is not registered yet (the image row must then be built, which needs the
    header): re-running a month reads nothing. `progress(done, total)` follows the files.
    """
    entries = list(list_library(root))  # the walk only stats; its length is the total
    for done, entry in enumerate(entries, 1):
        if progress is not None:
            progress(done, len(entries))
        if entry.problem is not None:
            record = FileRecord(
                entry.rel_path,
                entry.size,
                entry.mtime_ns,
                None,
                month_of(entry.mtime),
                entry.problem,
                entry.detail,
            )
            yield ScannedFile(record, None)
            continue
        cached = cache.get(entry.rel_path)
        unchanged = (
            cached is not None
            and cached.size == entry.size
            and cached.mtime_ns == entry.mtime_ns
            and cached.sha256 is not None
        )
        settled = wanted_months is None or cached is None or cached.month not in wanted_months
        if unchanged and (settled or cached.registered):
            record = FileRecord(
                entry.rel_path,
                entry.size,
                entry.mtime_ns,
                cached.sha256,
                cached.month,
                cached.status,
                cached.status_detail,
            )
            yield ScannedFile(record, None)
            continue
        yield scanned_file(root, entry, month_of)


def scanned_file(
    root: Path | str, entry: LibraryEntry, month_of: Callable[[datetime], str]
) -> ScannedFile:
    """Read one file once: its hash, header and month, or the reason it cannot be used."""
    try:
        data = read_library_file(root, entry.rel_path)
    except ImageRejected as exc:
        month = month_of(entry.mtime)
        record = FileRecord(
            entry.rel_path, entry.size, entry.mtime_ns, None, month, exc.reason, exc.detail
        )
        return ScannedFile(record, None)
    sha = content_hash(data)
    try:
        header = read_header(data, name=entry.rel_path)
    except ImageRejected as exc:
        month = month_of(entry.mtime)
        image = ImageRecord(
            sha,
            entry.rel_path,
            len(data),
            None,
            None,
            None,
            entry.mtime,
            "mtime",
            month,
            exc.reason,
            exc.detail,
        )
    else:
        taken, source = (header.taken_at, "exif") if header.taken_at else (entry.mtime, "mtime")
        month = month_of(taken)
        image = ImageRecord(
            sha,
            entry.rel_path,
            len(data),
            header.width,
            header.height,
            header.format,
            taken,
            source,
            month,
            "ok",
            "",
            header.notes,
        )
    record = FileRecord(
        entry.rel_path, entry.size, entry.mtime_ns, sha, month, image.status, image.status_detail
    )
    return ScannedFile(record, image)
