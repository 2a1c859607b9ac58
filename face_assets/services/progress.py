"""Progress of long work (files scanned, photos decoded, faces embedded and scored), told
to whoever listens in this process and, now and then, to a log.

The services report; they know nothing of terminals or Dagster. The CLI listens and draws
a progress bar per month and stage (cli/progress.py); the Dagster assets pass their run
log, which gets a line every PROGRESS_LOG_SECONDS and one at the end of each stage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PROGRESS_LOG_SECONDS = 10.0  # a run-log line this often: a month of photos is minutes of work


@dataclass(frozen=True)
class Step:
    """Where one stage of one month stands."""

    stage: str  # "scan", "detect", "embed", "score"
    month: str  # "" for work not split by month (the library scan)
    done: int
    total: int
    unit: str  # "files", "photos", "faces"
    seconds: float  # since the stage started

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None

    def line(self, name: str) -> str:
        """A run-log line: 'detected_faces 2021-03: 120/300 photos, 4.1/s, ETA 44 s'."""
        eta = self.eta_seconds
        tail = "done" if self.done >= self.total else f"ETA {eta:.0f} s" if eta else "ETA -"
        where = f" {self.month}" if self.month else ""
        return f"{name}{where}: {self.done}/{self.total} {self.unit}, {self.rate:.1f}/s, {tail}"


Listener = Callable[[Step], None]
Log = Callable[[str], None]  # a run log: one line at a time (Dagster's context.log.info)
_listeners: list[Listener] = []
_lock = threading.Lock()


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Tell `listener` every step of the work done in this process while the block runs."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


class Reporter:
    """One stage of one month: call `advance(n)` as items finish."""

    def __init__(
        self,
        stage: str,
        month: str,
        total: int,
        unit: str,
        log: Callable[[str], None] | None = None,
        name: str | None = None,
    ) -> None:
        self.stage, self.month, self.total, self.unit = stage, month, total, unit
        self.log, self.name = log, name or stage
        self.done = 0
        self.started = time.monotonic()
        self._logged = self.started
        self._tell()

    def step(self) -> Step:
        seconds = time.monotonic() - self.started
        return Step(self.stage, self.month, self.done, self.total, self.unit, seconds)

    def _tell(self) -> None:
        step = self.step()
        for listener in list(_listeners):
            listener(step)

    def advance(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        self._tell()
        now = time.monotonic()
        if self.log and self.done < self.total and now - self._logged >= PROGRESS_LOG_SECONDS:
            self._logged = now
            self.log(self.step().line(self.name))

    def finish(self) -> None:
        """The stage is over (all items, or fewer when some were skipped)."""
        self.total = self.done
        self._tell()
        if self.log:
            self.log(self.step().line(self.name))
