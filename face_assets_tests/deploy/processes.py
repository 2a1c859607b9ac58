"""Start, wait for and stop the deployment's processes in tests, always with a bound."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], object], timeout: float, what: str, log: Path | None = None):
    """check() until it returns something truthy; fail with the log's tail after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if result := check():
                return result
        if time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise AssertionError(f"{what} not ready after {timeout:.0f} s\n{tail}")
        time.sleep(0.25)


@contextlib.contextmanager
def running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A process with its output in log, stopped with everything it started on exit."""
    with log.open("w") as out:
        process = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen, grace: float = 10) -> None:
    # The code server and the webserver start subprocesses of their own: end those by pid too.
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for proc in [process, *children]:
        with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
            os.kill(proc.pid, signal.SIGTERM)
    _, alive = psutil.wait_procs(
        [p for p in [_as_psutil(process), *children] if p is not None], timeout=grace
    )
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)


def _as_psutil(process: subprocess.Popen) -> psutil.Process | None:
    try:
        return psutil.Process(process.pid)
    except psutil.NoSuchProcess:
        return None
