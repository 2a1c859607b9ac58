"""The plain Store every service takes: a database (URL resolved once) and a media root.

No Dagster here: the Dagster resource, the CLI, the HTTP app, the benchmarks and the tests
all hand services this same object.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psycopg

from face_assets.errors import StoreUnavailableError, TransientConflictError
from face_assets.store import db

T = TypeVar("T")

Connection = psycopg.Connection  # what services pass between store calls, without psycopg
# What PostgreSQL raises when concurrent work collides (SQLSTATE class 40 and 55P03); psycopg
# makes DeadlockDetected a plain OperationalError, so each is named.
COLLISIONS = (
    psycopg.errors.TransactionRollback,
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.LockNotAvailable,
)

# Resolved, migrated database URLs per process, keyed by the configured URL or the embedded
# data directory: the embedded lookup opens an admin connection, so it is done once.
_ready_urls: dict[str, str] = {}
_url_lock = threading.Lock()
# Idle connections a thread keeps, least recently used dropped first: opening one costs
# ~20 ms (measured: 202 transactions of a 100-month assignment spent 4.6 s connecting), a
# reused one a liveness round trip of ~0.1 ms. A few, because tests and tools open many stores.
IDLE_CONNECTIONS_PER_THREAD = 4
# Attempts of one operation when PostgreSQL aborts it as a deadlock or serialisation failure
# (the loser waits a few ms and runs again on the new state): enough for the deadlocks the
# race harness provokes (a hide or forget against a merge of the same persons), bounded so a
# real conflict is answered (409) within seconds, not retried forever.
CONFLICT_ATTEMPTS = 5
CONFLICT_BACKOFF_SECONDS = 0.02  # first wait; doubled each retry, with jitter
_local = threading.local()


def _checkout(url: str) -> psycopg.Connection:
    idle: OrderedDict = getattr(_local, "idle", None) or OrderedDict()
    _local.idle = idle
    conn = idle.pop(url, None)
    if conn is not None:
        try:
            conn.execute("SELECT 1")  # a server restarted since: reconnect, not fail
        except psycopg.Error:
            conn.close()
            conn = None
    return conn if conn is not None else db.connect(url, autocommit=True)


def _checkin(url: str, conn: psycopg.Connection) -> None:
    idle: OrderedDict = _local.idle
    if conn.closed or conn.broken:
        return
    if url in idle:  # a nested checkout: keep one idle connection a URL, close the other
        conn.close()
        return
    idle[url] = conn
    while len(idle) > IDLE_CONNECTIONS_PER_THREAD:
        idle.popitem(last=False)[1].close()


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
    def _checked_out(self) -> Iterator[psycopg.Connection]:
        """A pooled connection of this thread, back in the pool afterwards; a lost database, at
        checkout or while in use (that connection is then closed), is a StoreUnavailableError."""
        url = self.url()
        try:
            conn = _checkout(url)
        except psycopg.OperationalError as exc:
            raise unavailable(exc) from None
        try:
            yield conn
        except psycopg.OperationalError as exc:
            conn.close()
            raise unavailable(exc) from None
        finally:
            _checkin(url, conn)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """One transaction on a connection of this thread (committed on success, rolled back
        on any error); a lost database is a StoreUnavailableError."""
        with self._checked_out() as conn:
            try:
                with conn.transaction():
                    yield conn
            except COLLISIONS as exc:
                # A deadlock or a serialisation failure: the server is fine, the work collided.
                raise TransientConflictError(
                    f"another change to the same people collided with this one"
                    f" ({_first_line(exc)}); nothing was changed: read the current state and"
                    " try again"
                ) from None
            except psycopg.DataError as exc:
                # A value the database cannot hold: a NUL byte in text, an integer beyond int64.
                raise ValueError(f"invalid value: {_first_line(exc)}") from None

    @contextlib.contextmanager
    def outside_transaction(self) -> Iterator[psycopg.Connection]:
        """An autocommit connection for statements that cannot run in a transaction
        (VACUUM, CHECKPOINT); a lost database is a StoreUnavailableError."""
        with self._checked_out() as conn:
            try:
                yield conn
            except COLLISIONS as exc:
                raise TransientConflictError(
                    f"collided with other work ({_first_line(exc)})"
                ) from None

    def run(self, work: Callable[[psycopg.Connection], T]) -> T:
        """`work(conn)` in one transaction, run again (CONFLICT_ATTEMPTS in all, with a short
        jittered back-off) when it collides with another transaction; the last collision is
        raised as a TransientConflictError (a 409 for the HTTP app)."""
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                with self.transaction() as conn:
                    return work(conn)
            except TransientConflictError:
                if attempt == CONFLICT_ATTEMPTS - 1:
                    raise
                time.sleep(CONFLICT_BACKOFF_SECONDS * 2**attempt * (0.5 + random.random()))
        raise AssertionError("unreachable")


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def unavailable(exc: Exception) -> StoreUnavailableError:
    """One line: what failed and what to do (the driver's text, first line only)."""
    first = _first_line(exc)
    return StoreUnavailableError(
        f"the database is unreachable ({first}); start it (or fix FACE_ASSETS_DATABASE_URL)"
        " and run the same command again: finished work is kept, nothing is duplicated"
    )
