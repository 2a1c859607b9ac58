"""The Definitions of the face_assets code location, built for given settings.

Built on demand here, not at import: `face_assets.definitions` builds the one Definitions
Dagster loads, while the CLI's launcher builds its own for the library it was handed,
without the import side effect of the code location module.
"""

from __future__ import annotations

from pathlib import Path

from dagster import Definitions, EnvVar

from face_assets.defs.assets import ASSETS, CHECKS
from face_assets.defs.automation import SCHEDULES, SENSORS
from face_assets.defs.deployment import executor_for
from face_assets.defs.jobs import JOBS
from face_assets.defs.resources import FaceModelsResource, FaceStoreResource, PhotoLibraryResource
from face_assets.settings import DATABASE_URL_ENV, Settings


def store_resource(settings: Settings) -> FaceStoreResource:
    # The URL is passed as an EnvVar so its credentials never show in the UI or run config.
    url = EnvVar(DATABASE_URL_ENV) if settings.database_url else None
    return FaceStoreResource(database_url=url, home=str(settings.home))


def pack_choice_text(choice) -> str:
    """The selector's choice (Settings.pack_choice) as one line for run metadata; '' if none."""
    if not choice:
        return ""
    return f"{choice['requirement']} on {choice['device']}: {choice['reason']}"


def build_definitions(
    settings: Settings | None = None, library_root: Path | None = None
) -> Definitions:
    """Definitions for these settings; `library_root` overrides the settings' library (the
    CLI passes the folder it was given, so nothing is written to the environment)."""
    settings = settings or Settings.from_env()
    root = library_root or settings.library
    return Definitions(
        assets=ASSETS,
        asset_checks=CHECKS,
        jobs=JOBS,
        sensors=SENSORS,
        schedules=SCHEDULES,
        executor=executor_for(settings.executor_env),
        resources={
            "face_models": FaceModelsResource(
                pack=settings.pack, pack_choice=pack_choice_text(settings.pack_choice)
            ),
            "store": store_resource(settings),
            "library": PhotoLibraryResource(root=str(root)),
        },
    )
