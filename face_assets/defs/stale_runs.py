"""Runs of killed CLI processes: tagged with the process that runs them, failed afterwards.

`face-assets ingest` runs jobs in its own process (execute_in_process). Dagster's run monitor
(enabled in both dagster.yaml files) watches runs launched by a run launcher through the
daemon; nothing watches an in-process run, so a SIGKILLed CLI left its run STARTED forever.
Each CLI run carries a tag naming its process (host, pid, start time); the next CLI start
marks this host's STARTED runs whose process is gone as failed.
"""

from __future__ import annotations

import socket

import psutil
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

CLI_PROCESS_TAG = "face_assets/cli_process"
STALE_MESSAGE = "the face-assets process running it is gone (killed); marked failed"


def process_tag(pid: int | None = None) -> str:
    """host:pid:start time of a process (the start time tells a reused pid apart)."""
    process = psutil.Process(pid)
    return f"{socket.gethostname()}:{process.pid}:{process.create_time():.3f}"


def process_gone(tag: str) -> bool:
    """True when the process a tag names no longer runs on this host; False for another
    host's process (it cannot be seen from here) or a malformed tag."""
    host, _, rest = tag.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        return f"{psutil.Process(int(pid)).create_time():.3f}" != started
    except psutil.NoSuchProcess:
        return True


def fail_stale_runs(instance: DagsterInstance) -> list[str]:
    """Mark STARTED/STARTING runs of gone CLI processes of this host as failed; their ids."""
    stale = []
    runs = instance.get_runs(
        RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING])
    )
    for run in runs:
        tag = run.tags.get(CLI_PROCESS_TAG)
        if tag and process_gone(tag):
            instance.report_run_failed(run, message=STALE_MESSAGE)
            stale.append(run.run_id)
    return stale
