"""The local Dagster instance and what entry points tell it outside a run: the CLI and the
HTTP app both report here after a labelling operation, so automation sees new labels."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import AssetKey, AssetObservation, DagsterInstance

from face_assets.services import inspection
from face_assets.store import Store

DAGSTER_HOME_ENV = "DAGSTER_HOME"
PERSON_LABELS = AssetKey("person_labels")
# How Dagster records a source asset's data version on an observation.
DATA_VERSION_TAG = "dagster/data_version"


def local_instance() -> DagsterInstance:
    """The instance under DAGSTER_HOME (created with telemetry off if new), else ephemeral."""
    if os.environ.get(DAGSTER_HOME_ENV):
        dagster_home = Path(os.environ[DAGSTER_HOME_ENV])
        dagster_home.mkdir(parents=True, exist_ok=True)
        config = dagster_home / "dagster.yaml"
        if not config.exists():  # local SQLite instance; deployments use the repo's dagster.yaml
            config.write_text("telemetry:\n  enabled: false\n")
        return DagsterInstance.get()
    return DagsterInstance.ephemeral()


def report_labels_changed(store: Store) -> str | None:
    """Tell Dagster the person_labels source changed (its new data version), so automation
    refreshes prototypes. Nothing to tell without DAGSTER_HOME; returns the version sent."""
    if not os.environ.get(DAGSTER_HOME_ENV):
        return None
    version = inspection.labels_state(store)["version"]
    local_instance().report_runless_asset_event(
        AssetObservation(asset_key=PERSON_LABELS, tags={DATA_VERSION_TAG: version})
    )
    return version
