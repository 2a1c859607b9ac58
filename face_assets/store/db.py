"""Connections, the embedded PostgreSQL default, and versioned schema migrations."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from importlib import resources
from pathlib import Path

import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

EMBEDDED_DATABASE = "face_assets"
# The embedded server is ours to configure for privacy at rest (issue 18): a WAL segment past
# its checkpoint is unlinked, not renamed for reuse with the old bytes still inside; errors
# are logged without DETAIL (a unique-name violation's DETAIL quotes the name) and without the
# statement, because the log file lives in the data directory a forget must leave clean.
EMBEDDED_SETTINGS = {
    "wal_recycle": "off",
    "log_error_verbosity": "terse",
    "log_min_error_statement": "panic",
}
# An external database host that silently drops packets would otherwise hold a connect (and
# with it the Store's first use, which migrates as Dagster loads the code location) for the
# OS TCP timeout (~2 min on Linux); 10 s is libpq's recommended minimum of 2 s with room for a
# slow link. A connect_timeout in the URL wins.
CONNECT_TIMEOUT_S = 10
MIGRATION_LOCK_KEY = 7_341_902_118  # advisory lock id: parallel step processes migrate once
_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

log = logging.getLogger(__name__)


def embedded_database_url(pgdata: Path | str) -> str:
    """Start (or join) the embedded PostgreSQL 16 + pgvector server of the pgserver wheel.

    The server is left running when this process exits so that every Dagster step process,
    the webserver and the CLI share one server; `face-assets db stop` stops it.
    """
    import pgserver

    pgdata = Path(pgdata).expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        configure_embedded(conn)
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,)
        ).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(EMBEDDED_DATABASE))
                )
    return server.get_uri(EMBEDDED_DATABASE)


def configure_embedded(conn: psycopg.Connection) -> bool:
    """Apply EMBEDDED_SETTINGS (ALTER SYSTEM + reload) where they differ; True if changed."""
    changed = False
    for name, value in EMBEDDED_SETTINGS.items():
        if conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0] != value:
            conn.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
            )
            changed = True
    if changed:
        conn.execute("SELECT pg_reload_conf()")
    return changed


def stop_embedded_server(pgdata: Path | str) -> bool:
    """Stop the embedded server of this data directory if it runs; True when one was stopped."""
    from pgserver import pg_ctl

    pgdata = Path(pgdata).expanduser().resolve()
    if not (pgdata / "postmaster.pid").exists():
        return False
    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    return True


def _open(url: str, autocommit: bool) -> psycopg.Connection:
    """psycopg.connect with CONNECT_TIMEOUT_S unless the URL names its own connect_timeout."""
    if "connect_timeout" in conninfo_to_dict(url):
        return psycopg.connect(url, autocommit=autocommit)
    return psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S)


def connect(url: str, autocommit: bool = False) -> psycopg.Connection:
    conn = _open(url, autocommit)
    try:
        register_vector(conn)
    except psycopg.ProgrammingError:
        # The vector type does not exist before the first migration creates the extension.
        if not autocommit:
            conn.rollback()
    return conn


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("face_assets.store.migrations").iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text()))
    return sorted(found)


def ping(conn: psycopg.Connection) -> None:
    """The cheapest round trip: raises when the server does not answer."""
    conn.execute("SELECT 1")


def migrate(url: str) -> list[int]:
    """Apply the migrations this database lacks, each in its own transaction; returns them."""
    applied_now = []
    with _open(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, name, script in _migrations():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(script)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (version, name),
                    )
                log.info("applied migration %04d_%s", version, name)
                applied_now.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied_now
