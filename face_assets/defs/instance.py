"""The local Dagster instance and what entry points tell it outside a run: the CLI and the
HTTP app both report here after a labelling operation, so automation sees new labels.

The instance's folder comes from Settings.dagster_home (DAGSTER_HOME), never from the
environment directly: this is the one place that opens it.
"""

from __future__ import annotations

from pathlib import Path

from dagster import AssetKey, AssetObservation, DagsterInstance

from face_assets.services import inspection
from face_assets.settings import DAGSTER_HOME_ENV, checkout_root
from face_assets.store import Store

PERSON_LABELS = AssetKey("person_labels")
# How Dagster records a source asset's data version on an observation.
DATA_VERSION_TAG = "dagster/data_version"
NEW_INSTANCE_CONFIG = "telemetry:\n  enabled: false\n"  # local SQLite instance


def new_instance_config() -> str:
    """What a new local instance's dagster.yaml holds: the checkout's (the one `make dev`
    copies: queue, limits, run monitoring), else SQLite with telemetry off."""
    checkout = checkout_root()
    if checkout is not None:
        return (checkout / "dagster.yaml").read_text()
    return NEW_INSTANCE_CONFIG


def instance_at(dagster_home: Path, create: bool = True) -> DagsterInstance:
    """The instance in this folder; created (new_instance_config) when `create` and new.
    FileNotFoundError when the folder is missing and may not be created."""
    home = dagster_home.expanduser().resolve()
    if not create and not home.is_dir():
        raise FileNotFoundError(f"{DAGSTER_HOME_ENV}={home} is not a folder")
    config = home / "dagster.yaml"
    if create and not config.exists():
        home.mkdir(parents=True, exist_ok=True)
        config.write_text(new_instance_config())
    return DagsterInstance.from_config(str(home))


def local_instance(dagster_home: Path | None) -> DagsterInstance:
    """The instance under `dagster_home` (Settings.dagster_home), else an ephemeral one."""
    if dagster_home is not None:
        return instance_at(dagster_home)
    return DagsterInstance.ephemeral()


def report_labels_changed(store: Store, dagster_home: Path | None) -> str | None:
    """Tell Dagster the person_labels source changed (its new data version), so automation
    refreshes prototypes. Nothing to tell without an instance; returns the version sent."""
    if dagster_home is None:
        return None
    state = inspection.labels_state(store)
    version = state.pop("version")
    instance_at(dagster_home).report_runless_asset_event(
        AssetObservation(  # with the counts the asset's own observation shows
            asset_key=PERSON_LABELS, tags={DATA_VERSION_TAG: version}, metadata=state
        )
    )
    return version
