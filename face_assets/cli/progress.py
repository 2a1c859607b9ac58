"""The CLI's progress display: a bar per month and stage (files scanned, photos decoded,
faces embedded, faces scored) with counts, rate and ETA, drawn with rich on stderr while
services report their steps (services/progress.py). Nothing is drawn when stderr is not a
terminal (a pipe, a log file, CI): the per-month summary lines are printed either way."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from face_assets.services.progress import Step, listening

STAGE_LABELS = {  # what the user sees per stage
    "scan": "files scanned",
    "detect": "photos decoded",
    "embed": "faces embedded",
    "score": "faces scored",
}
REFRESH_PER_SECOND = 4  # redraws a second: smooth enough, cheap on a busy core


def eta_text(step: Step) -> str:
    eta = step.eta_seconds
    if step.done >= step.total:
        return "done"
    if eta is None:
        return "ETA --:--"
    minutes, seconds = divmod(int(eta + 0.5), 60)
    return f"ETA {minutes:d}:{seconds:02d}"


@contextmanager
def shown() -> Iterator[None]:
    """Draw the bars of the work done inside the block (on a terminal only)."""
    from rich.console import Console

    if not sys.stderr.isatty():
        yield
        return
    # A copy of the terminal's descriptor: while a Dagster step runs, the instance's compute
    # log capture points descriptors 1 and 2 at its log files, which would swallow the bars.
    terminal = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
    console = Console(file=terminal)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>12}"),
        TextColumn("{task.fields[eta]}"),
        console=console,
        refresh_per_second=REFRESH_PER_SECOND,
    )
    tasks: dict[tuple[str, str], int] = {}

    def on_step(step: Step) -> None:
        if step.total == 0:
            return
        key = (step.month, step.stage)
        rate = f"{step.rate:.1f} {step.unit}/s"
        if key not in tasks:
            label = f"{step.month or 'library'} {STAGE_LABELS.get(step.stage, step.stage)}"
            tasks[key] = progress.add_task(label, total=step.total, rate=rate, eta="")
        progress.update(
            tasks[key], completed=step.done, total=step.total, rate=rate, eta=eta_text(step)
        )

    try:
        with progress, listening(on_step):
            yield
    finally:
        terminal.close()
