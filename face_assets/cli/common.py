"""What every verb of the CLI shares: its declaration with its handler (add_verb), its
settings, its store, its job launcher, the Dagster report after a labelling operation and
JSON output."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from face_assets.settings import DATABASE_URL_ENV, HOME_ENV, LIBRARY_ENV, Settings

_TOLD: set[str] = set()  # what this process already said on stderr (once each)
ENVIRONMENTS_KEPT = 4  # a process sees one environment; tests switch between a few
Verb = Callable[[argparse.Namespace], int]  # a verb's handler: parsed arguments -> exit status


@functools.lru_cache(maxsize=ENVIRONMENTS_KEPT)
def _settings_of(environment: frozenset[tuple[str, str]]) -> Settings:
    return Settings.from_env(dict(environment))


def settings() -> Settings:
    """The settings of the environment as it is now, read once per environment rather than at
    each of a verb's calls (store, pack, launcher): with FACE_ASSETS_PACK=auto every read
    measured free memory again (nvidia-smi on cuda) and could pick another pack mid-command."""
    return _settings_of(frozenset(os.environ.items()))


def tell_once(key: str, line: str) -> None:
    """A line on stderr, once per process: which store and which Dagster instance."""
    if key not in _TOLD:
        _TOLD.add(key)
        print(line, file=sys.stderr, flush=True)


def store_description(current: Settings) -> str:
    """Where the data lives, without credentials."""
    if current.database_url:
        parts = urlsplit(current.database_url)
        where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
        return f"PostgreSQL at {where} ({DATABASE_URL_ENV}), media in {current.home}"
    return f"{current.home} (embedded PostgreSQL in {current.home / 'pgdata'}; {HOME_ENV})"


def store():
    """The store these settings name: the same one the Dagster resources hand out. The first
    call of a process says which one it is."""
    from face_assets.store import Store

    current = settings()
    tell_once("store", f"store: {store_description(current)}")
    return Store(current.database_url, current.home)


def pack() -> str:
    return settings().pack


def models():
    """The settings' model pack on their providers (loaded per call: verbs load it once)."""
    from face_assets.vision.models import load_face_models

    current = settings()
    return load_face_models(current.pack, current.providers)


def photo_library() -> Path:
    """The photo library the settings name, or a one-line ValueError before any work: a verb
    that reads photos from a missing folder would record each photo as unreadable."""
    root = settings().library
    if not root.is_dir():
        raise ValueError(f"no photo library at {root}: set {LIBRARY_ENV} to your photo folder")
    return root


def launcher(library_root: Path | None = None):
    """A JobLauncher on these settings; it says so when it marks killed CLI runs failed."""
    from face_assets.defs.launcher import JobLauncher

    def told(stale: list[str]) -> None:
        print(f"  {len(stale)} run(s) of killed face-assets processes marked failed")

    current = settings()
    if current.dagster_home is not None:
        tell_once("runs", f"runs: Dagster instance {current.dagster_home} (what `make dev` shows)")
    return JobLauncher(current, library_root=library_root, on_stale=told)


def report_labels_changed() -> None:
    """Tell Dagster the person_labels source changed, so automation refreshes prototypes."""
    dagster_home = settings().dagster_home
    if dagster_home is None:
        return
    from face_assets.defs.instance import report_labels_changed as report

    report(store(), dagster_home)


def add_verb(
    sub: argparse._SubParsersAction, name: str, text: str, func: Verb
) -> argparse.ArgumentParser:
    """A verb declared once with its handler (`main` calls `args.func`), whose one-line text
    shows both in `face-assets -h` and in its own `-h`."""
    parser = sub.add_parser(name, help=text, description=text)
    parser.set_defaults(func=func)
    return parser


def print_json(result: dict) -> None:
    print(json.dumps(result, default=str))
