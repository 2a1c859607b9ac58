"""The `face-assets` command when things break under it, as real processes: a database that is
not there or dies mid-run gives one clear line and a non-zero exit, no traceback; a killed
ingest's Dagster run does not stay STARTED."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from face_assets_tests.defs.assets.helpers import dated_copy
from face_assets_tests.deploy.processes import free_port, wait_until

CLI = [sys.executable, "-m", "face_assets.cli"]
STORE_DOWN_EXIT = 3  # cli.main: StoreUnavailableError
PHOTOS = 24  # enough that detection is still running when the fault hits


@pytest.fixture
def library(tmp_path, shared_data) -> Path:
    root = tmp_path / "library"
    photos = sorted(p for p in (shared_data / "faces_real").glob("*/*") if p.suffix != ".md")
    for k, photo in enumerate(photos[:PHOTOS]):
        dated_copy(photo, root / f"{k:03d}.jpg", datetime(2021, 3, 1 + k % 28))
    return root


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACE_ASSETS_", "DAGSTER"))}
    env.update(FACE_ASSETS_HOME=str(tmp_path / "home"), PYTHONWARNINGS="ignore", **extra)
    return env


INFO_PREFIXES = ("store: ", "runs: ")  # which store and instance: said once, not errors


def _error_lines(stderr: str) -> list[str]:
    return [
        line for line in stderr.splitlines() if line.strip() and not line.startswith(INFO_PREFIXES)
    ]


def test_database_that_is_not_there_is_one_line(tmp_path, library):
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none?connect_timeout=2"
    done = subprocess.run(
        [*CLI, "ingest", str(library)],
        env=_env(tmp_path, FACE_ASSETS_DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == STORE_DOWN_EXIT
    (line,) = _error_lines(done.stderr)
    assert line.startswith("error: the database is unreachable")
    assert "Traceback" not in done.stdout + done.stderr


def test_train_with_a_database_that_is_not_there_exits_as_ingest_does(tmp_path):
    """The one failure reading of defs/launcher: `train` too exits 3 with one line."""
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none?connect_timeout=2"
    done = subprocess.run(
        [*CLI, "train", "--epochs", "1"],
        env=_env(tmp_path, FACE_ASSETS_DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == STORE_DOWN_EXIT, done.stdout + done.stderr
    (line,) = _error_lines(done.stderr)
    assert "the database is unreachable" in line and "(run " in line
    assert "Traceback" not in done.stdout + done.stderr


@pytest.fixture
def own_server(tmp_path):
    """A PostgreSQL of this test alone: it gets killed."""
    import pgserver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE fa")
    yield server, server.get_uri("fa"), tmp_path / "pg"
    with contextlib.suppress(Exception):  # the test killed it: nothing may be left to stop
        server.cleanup()


def _faces(url: str) -> int:
    with psycopg.connect(url, connect_timeout=2) as conn:
        return conn.execute("SELECT count(*) FROM faces").fetchone()[0]


def test_database_killed_mid_ingest_is_one_line(tmp_path, library, own_server):
    server, url, pgdata = own_server
    cli = subprocess.Popen(
        [*CLI, "ingest", str(library), "--no-identities"],
        env=_env(tmp_path, FACE_ASSETS_DATABASE_URL=url, DAGSTER_HOME=str(tmp_path / "dh")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: _faces(url) > 0, 240, "the first faces")
        postmaster = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
        os.kill(postmaster, signal.SIGKILL)  # the server dies under the running job
        stdout, stderr = cli.communicate(timeout=300)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == STORE_DOWN_EXIT, stderr[-2000:]
    (line,) = _error_lines(stderr)
    assert "the database is unreachable" in line and "run the same command again" in line
    assert "Traceback" not in stdout + stderr


def test_killed_ingest_run_is_marked_failed_by_the_next_cli_start(tmp_path, library, database_url):
    from dagster import DagsterInstance, DagsterRunStatus

    dagster_home = tmp_path / "dh"
    env = _env(tmp_path, FACE_ASSETS_DATABASE_URL=database_url, DAGSTER_HOME=str(dagster_home))
    cli = subprocess.Popen([*CLI, "ingest", str(library), "--no-identities"], env=env)
    try:
        wait_until(lambda: _faces(database_url) > 0, 240, "the first faces")
        cli.send_signal(signal.SIGKILL)
        cli.wait(timeout=30)
    finally:
        if cli.poll() is None:
            cli.kill()

    def statuses() -> list[DagsterRunStatus]:
        os.environ["DAGSTER_HOME"] = str(dagster_home)
        try:
            with DagsterInstance.get() as instance:
                return [run.status for run in instance.get_runs()]
        finally:
            del os.environ["DAGSTER_HOME"]

    assert statuses() == [DagsterRunStatus.STARTED]  # what Dagster alone would keep forever
    started = time.monotonic()
    again = subprocess.run(
        [*CLI, "ingest", str(library), "--no-identities"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert "marked failed" in again.stdout
    found = statuses()
    assert found.count(DagsterRunStatus.FAILURE) == 1  # the killed run
    assert found.count(DagsterRunStatus.SUCCESS) == 1  # the re-run finished the month
    assert time.monotonic() - started < 600
