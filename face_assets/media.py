"""Face crops and thumbnails on disk, under the media root, addressed by relative paths."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


def face_file_name(sha256: str, pack: str, box_key: tuple[int, int, int, int], kind: str) -> str:
    """A stable relative path per (image, pack, box): re-detection overwrites, never duplicates."""
    suffix = {"crop": "npy", "thumb": "jpg"}[kind]
    box = "_".join(str(v) for v in box_key)
    return f"{kind}s/{pack}/{sha256[:2]}/{sha256}_{box}.{suffix}"


def write_media(media_root: Path, rel_path: str, data: bytes) -> None:
    """Atomic write (temp file + rename) so a crashed run never leaves half a crop behind."""
    target = media_root / rel_path
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_media(media_root: Path, rel_path: str) -> bytes:
    return (media_root / rel_path).read_bytes()


def delete_media(media_root: Path, rel_paths: list[str]) -> int:
    removed = 0
    for rel_path in rel_paths:
        path = media_root / rel_path
        if path.exists():
            path.unlink()
            removed += 1
    return removed


def stored_files(media_root: Path) -> set[str]:
    """Crops and thumbnails on disk; half-written temp files of a running detection excluded."""
    return {
        path.relative_to(media_root).as_posix()
        for kind in ("crops", "thumbs")
        if (media_root / kind).exists()
        for path in (media_root / kind).rglob("*")
        if path.is_file() and not path.name.startswith(".tmp-")
    }


@dataclass(frozen=True)
class MediaAudit:
    files: int
    faces_without_files: list[int]
    files_without_faces: list[str]


def media_audit(media_root: Path, face_files: list[tuple[int, str, str]]) -> MediaAudit:
    """Compare face rows (id, crop, thumbnail) with the files on disk, both ways."""
    on_disk = stored_files(media_root)
    known = {p for _, crop, thumb in face_files for p in (crop, thumb)}
    return MediaAudit(
        files=len(known),
        faces_without_files=[
            face_id
            for face_id, crop, thumb in face_files
            if crop not in on_disk or thumb not in on_disk
        ],
        files_without_faces=sorted(on_disk - known),
    )
