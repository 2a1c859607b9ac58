"""The environment, read in one place: home, database, library, model pack, start month,
the Dagster instance, the executor and the app's model providers.

The CLI, the Dagster definitions and the HTTP app all build their settings here, so a
variable means the same thing everywhere (the pack a label goes to is the pack runs use).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from face_assets.vision.packs import DEFAULT_PACK, pack_info
from face_assets.vision.selector import AUTO as AUTO_PACK
from face_assets.vision.selector import choose

HOME_ENV = "FACE_ASSETS_HOME"
DEFAULT_HOME = "~/.face_assets"  # embedded database, media, models and sample library live here
# Run from a source checkout (the README's `.venv/bin/face-assets ...`), the home is the
# checkout's var/: what the Makefile's FACE_ASSETS_HOME ?= $(CURDIR)/var names, so `make demo`
# and the commands after it find one store with nothing exported.
CHECKOUT_ROOT = Path(__file__).resolve().parents[1]
CHECKOUT_HOME_DIR = "var"
DAGSTER_HOME_DIR = "dagster_home"  # under home, as the Makefile's DAGSTER_HOME default
DATABASE_URL_ENV = "FACE_ASSETS_DATABASE_URL"  # points everything at an external server
LIBRARY_ENV = "FACE_ASSETS_LIBRARY"  # photo library root; unset = the sample library
PACK_ENV = "FACE_ASSETS_PACK"  # model pack of runs, labels and queries; "auto": the selector
PACK_REQUIREMENT_ENV = "FACE_ASSETS_PACK_REQUIREMENT"  # what "auto" optimises for
DEFAULT_PACK_REQUIREMENT = "balanced"  # the seed's default requirement
START_MONTH_ENV = "FACE_ASSETS_START_MONTH"  # older photos go to it; partitions start there
DEFAULT_START_MONTH = "2000-01"  # early enough for scanned prints and the first digital cameras
AUTOMATION_ENV = "FACE_ASSETS_AUTOMATION"  # "on": sensors and schedules start running
SENSOR_INTERVAL_ENV = "FACE_ASSETS_SENSOR_INTERVAL"
DEFAULT_SENSOR_INTERVAL = 60  # seconds: photo uploads are not latency-critical
SAMPLE_LIBRARY_DIR = "sample_library"  # under home: what `face-assets demo` builds
DAGSTER_HOME_ENV = "DAGSTER_HOME"  # Dagster's own name: the local instance's folder
DAGSTER_URL_ENV = "FACE_ASSETS_DAGSTER_URL"  # a Dagster webserver the app launches runs on
EXECUTOR_ENV = "FACE_ASSETS_EXECUTOR"  # "k8s" on Kubernetes; unset/"multiprocess" elsewhere
K8S_MAX_CONCURRENT_ENV = "FACE_ASSETS_K8S_MAX_CONCURRENT"  # step pods per run (defs/deployment)
PROVIDERS_ENV = "FACE_ASSETS_PROVIDERS"  # the app's ONNX providers, e.g. "cuda"; comma-separated
DEFAULT_PROVIDERS = ("CPUExecutionProvider",)
MODEL_CONCURRENCY_ENV = "FACE_ASSETS_MODEL_CONCURRENCY"
DEFAULT_MODEL_CONCURRENCY = 2  # model calls at once in the app (see api/models.py)
JOB_WORKERS_ENV = "FACE_ASSETS_JOB_WORKERS"
# Seed 000's job threads in the app. Measured (benchmarks/job_queue.py --jobs 60, shared
# 2-core CPU, paired runs): 1 thread 3.6 / 2.4 jobs/s, 2 threads 4.3 / 3.4 (README).
DEFAULT_JOB_WORKERS = 2
# Seed 001's names, read beside ours (ours win where both are set): the stateless service's
# bind address and port, providers, model, detector input size, log level and model cache.
SEED_HOST_ENV, SEED_PORT_ENV = "HOST", "PORT"
SEED_PROVIDERS_ENV = "ONNX_PROVIDERS"  # = FACE_ASSETS_PROVIDERS
SEED_MODEL_ENV = "INSIGHTFACE_MODEL"  # = FACE_ASSETS_PACK
DET_SIZE_ENV = "DET_SIZE"  # the app's SCRFD input size
LOG_LEVEL_ENV = "LOG_LEVEL"
MODEL_CACHE_ENV = "MODEL_CACHE_DIR"  # where the app's models are found (or downloaded)
# Where seed 001 and we both name a setting: {ours: the seed's}; the seed's is read when ours
# is unset (see env_value). HOST, PORT, DET_SIZE, LOG_LEVEL, MODEL_CACHE_DIR are the only names.
SEED_ALIASES = {PACK_ENV: SEED_MODEL_ENV, PROVIDERS_ENV: SEED_PROVIDERS_ENV}
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
DEFAULT_LOG_LEVEL = "info"  # seed 001's INFO
DEFAULT_APP_HOST = "127.0.0.1"  # loopback: the app speaks plain HTTP; put TLS in front to share it
DEFAULT_APP_PORT = 8765  # `face-assets serve`, docker-compose and the Helm chart
APP_URL_ENV = "FACE_ASSETS_APP_URL"  # where users open the app: asset metadata links to it
_TRUE = ("1", "on", "true", "yes")


def env_value(env: Mapping[str, str], name: str) -> str:
    """The variable's value, else its seed 001 alias's (SEED_ALIASES), else ""."""
    return env.get(name) or env.get(SEED_ALIASES.get(name, "")) or ""


def checkout_root() -> Path | None:
    """The source checkout face_assets runs from, None for an installed package."""
    markers = ("Makefile", "pyproject.toml", "dagster.yaml")
    return CHECKOUT_ROOT if all((CHECKOUT_ROOT / m).is_file() for m in markers) else None


def default_home() -> Path:
    """The home when FACE_ASSETS_HOME is unset: the checkout's var/, else ~/.face_assets."""
    checkout = checkout_root()
    return checkout / CHECKOUT_HOME_DIR if checkout else Path(DEFAULT_HOME).expanduser()


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
    dagster_home: Path | None = None  # the instance runs are recorded in (None: not recorded)
    dagster_url: str | None = None
    executor_env: Mapping[str, str] = field(default_factory=dict)  # defs/deployment reads it
    providers: tuple[str, ...] = DEFAULT_PROVIDERS
    model_concurrency: int = DEFAULT_MODEL_CONCURRENCY
    job_workers: int = DEFAULT_JOB_WORKERS
    app_host: str = DEFAULT_APP_HOST
    app_port: int = DEFAULT_APP_PORT
    det_size: int | None = None  # None: the pack's own
    model_root: Path | None = None  # None: the loader's default
    log_level: str = DEFAULT_LOG_LEVEL
    app_url: str | None = None
    start_month_from_env: bool = False  # FACE_ASSETS_START_MONTH set: partitions start there
    pack_choice: Mapping[str, object] | None = None  # why "auto" chose the pack (selector)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the environment once; a bad value fails here, by name."""
        env = os.environ if env is None else env
        home = Path(env[HOME_ENV]).expanduser() if env.get(HOME_ENV) else default_home()
        library = env.get(LIBRARY_ENV) or ""
        pack = env_value(env, PACK_ENV) or DEFAULT_PACK
        named = env_value(env, PROVIDERS_ENV)
        providers = tuple(p.strip() for p in named.split(",") if p.strip())
        choice = None
        if pack == AUTO_PACK:
            # Resolved once here, on the memory free now: a library keeps its pack afterwards
            # (set FACE_ASSETS_PACK to the chosen name; `face-assets repack` switches later).
            requirement = env.get(PACK_REQUIREMENT_ENV) or DEFAULT_PACK_REQUIREMENT
            wanted = named.lower()
            device = "cuda" if "cuda" in wanted or "tensorrt" in wanted else "cpu"
            picked = choose(requirement, device)
            pack, choice = picked.pack, picked.metadata()
            logging.getLogger("face_assets").info("pack auto: %s (%s)", pack, picked.reason)
        pack_info(pack)  # ValueError naming the known packs
        start = env.get(START_MONTH_ENV) or DEFAULT_START_MONTH
        try:
            datetime.strptime(start, "%Y-%m")
        except ValueError as exc:
            raise ValueError(f"{START_MONTH_ENV}={start!r} is not a month like 2015-01") from exc
        interval = env.get(SENSOR_INTERVAL_ENV) or str(DEFAULT_SENSOR_INTERVAL)
        if not interval.isdigit() or int(interval) < 1:
            raise ValueError(f"{SENSOR_INTERVAL_ENV}={interval!r} is not a number of seconds")
        concurrency = env.get(MODEL_CONCURRENCY_ENV) or str(DEFAULT_MODEL_CONCURRENCY)
        if not concurrency.isdigit() or int(concurrency) < 1:
            raise ValueError(f"{MODEL_CONCURRENCY_ENV}={concurrency!r} is not a positive number")
        job_workers = env.get(JOB_WORKERS_ENV) or str(DEFAULT_JOB_WORKERS)
        if not job_workers.isdigit() or int(job_workers) < 1:
            raise ValueError(f"{JOB_WORKERS_ENV}={job_workers!r} is not a positive number")
        port = env.get(SEED_PORT_ENV) or str(DEFAULT_APP_PORT)
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{SEED_PORT_ENV}={port!r} is not a TCP port")
        det_size = env.get(DET_SIZE_ENV) or ""
        if det_size and (not det_size.isdigit() or int(det_size) < 32 or int(det_size) % 32):
            raise ValueError(f"{DET_SIZE_ENV}={det_size!r} is not a multiple of 32 pixels")
        log_level = (env.get(LOG_LEVEL_ENV) or DEFAULT_LOG_LEVEL).strip().lower()
        if log_level not in LOG_LEVELS:
            raise ValueError(f"{LOG_LEVEL_ENV}={log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        model_root = env.get(MODEL_CACHE_ENV) or ""
        dagster_home = env.get(DAGSTER_HOME_ENV) or ""
        return cls(
            home=home,
            database_url=env.get(DATABASE_URL_ENV) or None,
            library=Path(library).expanduser() if library else home / SAMPLE_LIBRARY_DIR,
            library_from_env=bool(library),
            pack=pack,
            pack_choice=choice,
            start_month=start,
            automation=(env.get(AUTOMATION_ENV) or "").strip().lower() in _TRUE,
            sensor_interval=int(interval),
            dagster_home=(
                Path(dagster_home).expanduser() if dagster_home else home / DAGSTER_HOME_DIR
            ),
            dagster_url=env.get(DAGSTER_URL_ENV) or None,
            executor_env={k: env[k] for k in (EXECUTOR_ENV, K8S_MAX_CONCURRENT_ENV) if k in env},
            providers=providers or DEFAULT_PROVIDERS,
            model_concurrency=int(concurrency),
            job_workers=int(job_workers),
            app_host=env.get(SEED_HOST_ENV) or DEFAULT_APP_HOST,
            app_port=int(port),
            det_size=int(det_size) if det_size else None,
            model_root=Path(model_root).expanduser() if model_root else None,
            log_level=log_level,
            app_url=env.get(APP_URL_ENV) or None,
            start_month_from_env=bool(env.get(START_MONTH_ENV)),
        )
