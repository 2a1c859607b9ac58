"""What a library scan learns about files and images: plain records shared by the library
walk (which makes them) and the store (which keeps them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FileRecord:
    """What the scan learned about one library path."""

    rel_path: str
    size: int
    mtime_ns: int
    sha256: str | None
    month: str
    status: str
    status_detail: str = ""
    registered: bool = False  # (from the store) its image row exists: no need to read it again


@dataclass(frozen=True)
class ImageRecord:
    sha256: str
    rel_path: str
    byte_size: int
    width: int | None
    height: int | None
    format: str | None
    taken_at: datetime | None
    time_source: str
    month: str
    status: str
    status_detail: str = ""
    notes: tuple[str, ...] = ()
