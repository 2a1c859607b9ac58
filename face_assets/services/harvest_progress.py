"""Where a harvest run stands (issue 20): the progress a faces_embed run writes as it goes,
throttled, and reads back for GET /jobs/{id}. Apart from the harvest itself so that the API
reads progress without importing the decoding and matching."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from face_assets.services.progress import PROGRESS_LOG_SECONDS
from face_assets.store import Store
from face_assets.store import run_progress as progress_store

PROGRESS_WRITE_SECONDS = 2.0  # a run's progress row is rewritten at most this often while
# frames are sampled (a sampled frame takes ~0.1 s on a CPU), and at every clip's end
# A run that ended without its harvest saying "done" (it failed, or was canceled, mid-harvest)
# left "running" in its row; its Dagster status (DagsterRunStatus values) says what it became.
ENDED_RUN_STATES = {"FAILURE": "failed", "CANCELED": "canceled"}


@dataclass
class HarvestProgress:
    """Where a run's harvest stands: what GET /jobs/{id} answers while and after it runs."""

    state: str = "running"  # "running", then "done"; read back "failed" or "canceled" for a
    # run that ended before its harvest was done (run_progress, from the run's status)
    months: int = 0  # months the run harvests
    months_done: int = 0
    month: str | None = None  # the month being harvested
    clips: int = 0  # clips of the months begun so far
    clips_done: int = 0  # looked at: harvested, unchanged or unusable
    clips_harvested: int = 0
    clip: str | None = None  # the clip being harvested (library path)
    frames_sampled: int = 0
    faces_embedded: int = 0
    faces_kept: int = 0  # after volume control, of the clips done
    tracks: int = 0  # of the clips done


class HarvestTracker:
    """Tells the store (run_progress, by run id) where a harvest run stands: at most every
    PROGRESS_WRITE_SECONDS while frames are sampled, and at every clip's and month's end; and
    `log` (the run log) a line every PROGRESS_LOG_SECONDS, as the photo stages do."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        job_name: str,
        months: int,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store, self.run_id, self.job_name, self.clock = store, run_id, job_name, clock
        self.log = log
        self.progress = HarvestProgress(months=months)
        self._clip_base = (0, 0)  # frames sampled and faces embedded before this clip
        self._written = None
        self._logged = clock()
        self._write()

    def line(self) -> str:
        """A run-log line: 'harvest 2023-11: clip 2/5 (party.mp4), 120 frames sampled, ...'."""
        p = self.progress
        where = f" {p.month}" if p.month else ""
        clip = f" ({p.clip})" if p.clip else ""
        return (
            f"harvest{where}: clip {min(p.clips_done + 1, p.clips)}/{p.clips}{clip},"
            f" {p.frames_sampled} frames sampled, {p.faces_embedded} faces embedded,"
            f" {p.tracks} tracks"
        )

    def _write(self, force: bool = True) -> None:
        now = self.clock()
        if self.log is not None and now - self._logged >= PROGRESS_LOG_SECONDS:
            self._logged = now
            self.log(self.line())
        if not force and self._written is not None and now - self._written < PROGRESS_WRITE_SECONDS:
            return
        self._written = now
        with self.store.transaction() as conn:
            progress_store.write_progress(
                conn, self.run_id, self.job_name, dataclasses.asdict(self.progress)
            )

    def month(self, month: str, clips: int) -> None:
        self.progress.month = month
        self.progress.clips += clips
        self._write()

    def clip(self, rel_path: str) -> None:
        self.progress.clip = rel_path
        self._clip_base = (self.progress.frames_sampled, self.progress.faces_embedded)
        self._write(force=False)

    def frame(self, sampled: int, embedded: int) -> None:
        """harvest_video's on_frame: the clip's frames sampled and faces embedded so far."""
        self.progress.frames_sampled = self._clip_base[0] + sampled
        self.progress.faces_embedded = self._clip_base[1] + embedded
        self._write(force=False)

    def clip_done(self, harvested: bool = False, faces: int = 0, tracks: int = 0) -> None:
        self.progress.clips_done += 1
        self.progress.clips_harvested += harvested
        self.progress.faces_kept += faces
        self.progress.tracks += tracks
        self.progress.clip = None
        self._write(force=harvested)

    def month_done(self) -> None:
        self.progress.months_done += 1
        self._write()

    def done(self) -> None:
        self.progress.state, self.progress.month = "done", None
        self._write()


def run_progress(store: Store, run_id: str, run_status: str | None = None) -> dict | None:
    """A run's progress as it last wrote it (with `updated_at`), or None when it wrote none.

    Given the run's Dagster status, a run that failed or was canceled while its harvest was
    still "running" answers "failed" or "canceled": the harvest never gets to write that (the
    process may be gone), and a poller must not wait on "running" forever."""
    with store.transaction() as conn:
        found = progress_store.read_progress(conn, run_id)
    if found is None:
        return None
    progress, when = found
    if progress.get("state") == "running" and run_status in ENDED_RUN_STATES:
        progress = {**progress, "state": ENDED_RUN_STATES[run_status]}
    return {**progress, "updated_at": when.isoformat()}
