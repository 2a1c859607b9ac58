"""What every verb of the CLI shares: its settings, its store, its job launcher, the
Dagster report after a labelling operation and JSON output."""

from __future__ import annotations

import json
from pathlib import Path

from face_assets.settings import Settings


def settings() -> Settings:
    return Settings.from_env()


def store():
    """The store these settings name: the same one the Dagster resources hand out."""
    from face_assets.store import Store

    current = settings()
    return Store(current.database_url, current.home)


def pack() -> str:
    return settings().pack


def launcher(library_root: Path | None = None):
    """A JobLauncher on these settings; it says so when it marks killed CLI runs failed."""
    from face_assets.defs.launcher import JobLauncher

    def told(stale: list[str]) -> None:
        print(f"  {len(stale)} run(s) of killed face-assets processes marked failed")

    return JobLauncher(settings(), library_root=library_root, on_stale=told)


def report_labels_changed() -> None:
    """Tell Dagster the person_labels source changed, so automation refreshes prototypes."""
    dagster_home = settings().dagster_home
    if dagster_home is None:
        return
    from face_assets.defs.instance import report_labels_changed as report

    report(store(), dagster_home)


def print_json(result: dict) -> None:
    print(json.dumps(result, default=str))
