"""Connections give up on a database host that never answers (store.db.CONNECT_TIMEOUT_S)."""

from __future__ import annotations

import socket
import threading
import time

import psycopg
import pytest

from face_assets.store import db


@pytest.fixture
def silent_host():
    """A TCP port that accepts connections and never says a word (a host behind a firewall
    that drops packets looks the same to the client: no answer)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield f"postgresql://user:pw@127.0.0.1:{server.getsockname()[1]}/db"
    finally:
        server.close()


def _outcome(call, wait_s: float) -> tuple[BaseException | None, float, bool]:
    """Run call in a thread for at most wait_s: (what it raised, seconds, still running)."""
    raised: list[BaseException] = []
    started = time.monotonic()

    def run():
        try:
            call()
        except BaseException as exc:  # reported to the test
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(wait_s)
    return (raised[0] if raised else None), time.monotonic() - started, thread.is_alive()


@pytest.mark.parametrize("call", [db.connect, db.migrate])
def test_connect_and_migrate_time_out_on_a_silent_host(monkeypatch, silent_host, call):
    monkeypatch.setattr(db, "CONNECT_TIMEOUT_S", 2)
    raised, seconds, running = _outcome(lambda: call(silent_host), wait_s=15)
    assert not running, "connect still waiting after 15 s: no connect timeout"
    assert isinstance(raised, psycopg.OperationalError)
    assert 1.5 <= seconds < 10


def test_a_timeout_in_the_url_wins(monkeypatch, silent_host):
    monkeypatch.setattr(db, "CONNECT_TIMEOUT_S", 60)
    raised, seconds, running = _outcome(
        lambda: db.connect(f"{silent_host}?connect_timeout=2"), wait_s=15
    )
    assert not running and isinstance(raised, psycopg.OperationalError)
    assert seconds < 10


RAISE = "DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{}'; END $$"


def test_a_store_connection_maps_driver_failures_and_stays_usable(store):
    """What the services see: a collision is a TransientConflictError (a 409), a value the
    database cannot hold a ValueError, a lost connection a StoreUnavailableError; after each,
    the next transaction works (a broken connection is not handed out again)."""
    from face_assets.errors import StoreUnavailableError, TransientConflictError

    failures = [
        (store.transaction, RAISE.format("40001"), TransientConflictError, "this one"),
        (store.outside_transaction, RAISE.format("40P01"), TransientConflictError, "other"),
        (store.transaction, "SELECT 'a' || %s::text", ValueError, "invalid value"),
        (store.transaction, "SELECT pg_terminate_backend(pg_backend_pid())", StoreUnavailableError,
         "unreachable"),
    ]  # fmt: skip
    for opened, query, error, message in failures:
        with pytest.raises(error, match=message), opened() as conn:
            conn.execute(query, ("b\x00",) if "%s" in query else ())
    for opened in (store.transaction, store.outside_transaction):
        with opened() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
