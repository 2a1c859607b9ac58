"""The library's tag files as face_tags import and export touch them: a photo's sidecar
names (photo.jpg.xmp, photo.xmp) and its folder's .picasa.ini, read confined to the library
root with a size bound, stamped (size, mtime) so unchanged files are not read again, and
written atomically (a temporary file replaced)."""

from __future__ import annotations

from pathlib import Path

from face_assets.library import confined_path
from face_assets.vision import face_tags
from face_assets.vision.decode import ImageRejected

SIDECAR_SUFFIX = ".xmp"  # photo.jpg.xmp (digiKam, darktable); photo.xmp (Lightroom) is read too
PICASA_INI = ".picasa.ini"
PICASA_CONTACTS = "contacts.xml"  # Picasa 3's names, when copied into the library root


def sidecar_candidates(rel_path: str) -> list[str]:
    """Sidecar names a photo may have, in the order they are preferred."""
    path = Path(rel_path)
    return [f"{rel_path}{SIDECAR_SUFFIX}", path.with_suffix(SIDECAR_SUFFIX).as_posix()]


def read_optional(root: Path, rel_path: str, limit: int) -> bytes | None:
    """A tag file's bytes, None when it is absent or outside the library; TagsRejected when
    it is larger than `limit`."""
    try:
        path = confined_path(root, rel_path)
    except ImageRejected:
        return None
    if not path.is_file():
        return None
    if path.stat().st_size > limit:
        raise face_tags.TagsRejected(face_tags.REASON_TOO_LARGE, f"{rel_path} exceeds {limit}")
    return path.read_bytes()


def read_head(root: Path, rel_path: str, limit: int) -> bytes:
    """The first `limit` bytes of a library file (confined like every read)."""
    with confined_path(root, rel_path).open("rb") as handle:
        return handle.read(limit)


def file_stamp(root: Path, rel_path: str) -> tuple[str, int | None, int | None]:
    """(path, size, mtime in ns) of a library file; size and mtime None when it is absent."""
    try:
        info = confined_path(root, rel_path).stat()
    except (ImageRejected, OSError):
        return rel_path, None, None
    return rel_path, info.st_size, info.st_mtime_ns


def picasa_ini(rel_path: str) -> str:
    """The .picasa.ini of the photo's folder."""
    folder = Path(rel_path).parent.as_posix()
    return PICASA_INI if folder == "." else f"{folder}/{PICASA_INI}"


def write_sidecar(root: Path, rel_path: str, content: bytes) -> None:
    """Write a sidecar whole or not at all (a temporary file, then a rename)."""
    target = confined_path(root, rel_path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(content)
    tmp.replace(target)
