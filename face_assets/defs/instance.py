"""The local Dagster instance and what entry points tell it outside a run: the CLI and the
HTTP app both report here after a labelling operation, so automation sees new labels.

The instance's folder comes from Settings.dagster_home (DAGSTER_HOME), never from the
environment directly: this is the one place that opens it.
"""

from __future__ import annotations

from pathlib import Path

from dagster import AssetKey, AssetObservation, DagsterInstance

from face_assets.services import inspection
from face_assets.settings import DAGSTER_HOME_ENV
from face_assets.store import Store

PERSON_LABELS = AssetKey("person_labels")
# How Dagster records a source asset's data version on an observation.
DATA_VERSION_TAG = "dagster/data_version"
NEW_INSTANCE_CONFIG = "telemetry:\n  enabled: false\n"  # local SQLite instance


def instance_at(dagster_home: Path, create: bool = True) -> DagsterInstance:
    """The instance in this folder; created (SQLite, telemetry off) when `create` and new.
    Deployments put the repository's dagster.yaml there first. FileNotFoundError when the
    folder is missing and may not be created."""
    home = dagster_home.expanduser().resolve()
    if not create and not home.is_dir():
        raise FileNotFoundError(f"{DAGSTER_HOME_ENV}={home} is not a folder")
    config = home / "dagster.yaml"
    if create and not config.exists():
        home.mkdir(parents=True, exist_ok=True)
        config.write_text(NEW_INSTANCE_CONFIG)
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
    version = inspection.labels_state(store)["version"]
    instance_at(dagster_home).report_runless_asset_event(
        AssetObservation(asset_key=PERSON_LABELS, tags={DATA_VERSION_TAG: version})
    )
    return version
