"""The plain Store every service takes: a database (URL resolved once) and a media root.

No Dagster here: the Dagster resource, the CLI, the HTTP app, the benchmarks and the tests
all hand services this same object.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg

from face_assets.errors import StoreUnavailableError
from face_assets.store import db

Connection = psycopg.Connection  # what services pass between store calls, without psycopg

# Resolved, migrated database URLs per process, keyed by the configured URL or the embedded
# data directory: the embedded lookup opens an admin connection, so it is done once.
_ready_urls: dict[str, str] = {}
_url_lock = threading.Lock()


class Store:
    """PostgreSQL + pgvector (an external server by URL, else the embedded one under home)
    and the media folder of crops and thumbnails."""

    def __init__(self, database_url: str | None, home: str | Path) -> None:
        self.database_url = database_url or None
        self.home_path = Path(home).expanduser().resolve()

    def __repr__(self) -> str:  # never show credentials
        where = "external" if self.database_url else str(self.home_path / "pgdata")
        return f"Store({where}, home={self.home_path})"

    @property
    def media_root(self) -> Path:
        return self.home_path / "media"

    @property
    def models_root(self) -> Path:
        return self.home_path / "models"

    def url(self) -> str:
        """The database URL, starting the embedded server and migrating once per process."""
        key = self.database_url or str(self.home_path / "pgdata")
        with _url_lock:
            if key not in _ready_urls:
                try:
                    url = self.database_url or db.embedded_database_url(self.home_path / "pgdata")
                    db.migrate(url)
                except psycopg.OperationalError as exc:
                    raise unavailable(exc) from None
                _ready_urls[key] = url
            return _ready_urls[key]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """One connection, one transaction; a lost database is a StoreUnavailableError."""
        try:
            with db.transaction(self.url()) as conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise unavailable(exc) from None


def unavailable(exc: Exception) -> StoreUnavailableError:
    """One line: what failed and what to do (the driver's text, first line only)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return StoreUnavailableError(
        f"the database is unreachable ({first}); start it (or fix FACE_ASSETS_DATABASE_URL)"
        " and run the same command again: finished work is kept, nothing is duplicated"
    )
