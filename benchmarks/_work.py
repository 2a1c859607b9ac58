"""A benchmark's scratch space: a temporary work folder with an embedded PostgreSQL in it."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from face_assets.store import Store, db


@contextlib.contextmanager
def embedded_work(prefix: str) -> Iterator[tuple[Path, Store]]:
    """(a new work folder, a Store on an embedded server in its pgdata/ with its media under
    the folder); afterwards the server is stopped and the folder removed."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work, Store(db.embedded_database_url(work / "pgdata"), work)
    finally:
        db.stop_embedded_server(work / "pgdata")
        shutil.rmtree(work, ignore_errors=True)
