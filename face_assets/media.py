"""Face crops and thumbnails on disk, under the media root, addressed by relative paths."""

from __future__ import annotations

import os
import tempfile
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
