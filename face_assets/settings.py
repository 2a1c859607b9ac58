"""The environment, read in one place: home, database, library, model pack, start month.

The CLI, the Dagster definitions and the HTTP app all build their settings here, so a
variable means the same thing everywhere (the pack a label goes to is the pack runs use).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from face_assets.vision.packs import DEFAULT_PACK, pack_info

HOME_ENV = "FACE_ASSETS_HOME"
DEFAULT_HOME = "~/.face_assets"  # embedded database, media, models and sample library live here
DATABASE_URL_ENV = "FACE_ASSETS_DATABASE_URL"  # points everything at an external server
LIBRARY_ENV = "FACE_ASSETS_LIBRARY"  # photo library root; unset = the sample library
PACK_ENV = "FACE_ASSETS_PACK"  # model pack of runs, labels and queries
START_MONTH_ENV = "FACE_ASSETS_START_MONTH"
DEFAULT_START_MONTH = "2000-01"  # early enough for scanned prints and the first digital cameras
AUTOMATION_ENV = "FACE_ASSETS_AUTOMATION"  # "on": sensors and schedules start running
SENSOR_INTERVAL_ENV = "FACE_ASSETS_SENSOR_INTERVAL"
DEFAULT_SENSOR_INTERVAL = 60  # seconds: photo uploads are not latency-critical
SAMPLE_LIBRARY_DIR = "sample_library"  # under home: what `face-assets demo` builds
_TRUE = ("1", "on", "true", "yes")


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    library: Path
    library_from_env: bool
    pack: str
    start_month: str
    automation: bool
    sensor_interval: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the environment once; a bad value fails here, by name."""
        env = os.environ if env is None else env
        home = Path(env.get(HOME_ENV) or DEFAULT_HOME).expanduser()
        library = env.get(LIBRARY_ENV) or ""
        pack = env.get(PACK_ENV) or DEFAULT_PACK
        pack_info(pack)  # ValueError naming the known packs
        start = env.get(START_MONTH_ENV) or DEFAULT_START_MONTH
        try:
            datetime.strptime(start, "%Y-%m")
        except ValueError as exc:
            raise ValueError(f"{START_MONTH_ENV}={start!r} is not a month like 2015-01") from exc
        interval = env.get(SENSOR_INTERVAL_ENV) or str(DEFAULT_SENSOR_INTERVAL)
        if not interval.isdigit() or int(interval) < 1:
            raise ValueError(f"{SENSOR_INTERVAL_ENV}={interval!r} is not a number of seconds")
        return cls(
            home=home,
            database_url=env.get(DATABASE_URL_ENV) or None,
            library=Path(library).expanduser() if library else home / SAMPLE_LIBRARY_DIR,
            library_from_env=bool(library),
            pack=pack,
            start_month=start,
            automation=(env.get(AUTOMATION_ENV) or "").strip().lower() in _TRUE,
            sensor_interval=int(interval),
        )
