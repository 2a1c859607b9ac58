"""The definitions load as `dagster dev` loads them, with every asset, check and job."""

from __future__ import annotations

import os
import subprocess
import sys

from dagster import AssetKey, Definitions

from face_assets_tests.conftest import REPO_ROOT


def test_definitions_validate_in_process():
    from face_assets.definitions import defs

    Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"raw_images", "detected_faces", "face_embeddings", "face_quality"} <= keys
    assert graph.get(AssetKey("face_embeddings")).parent_keys == {AssetKey("detected_faces")}
    assert defs.resolve_job_def("ingest_month").partitions_def is not None


def test_dagster_cli_validates_the_workspace_with_no_environment(tmp_path):
    """A fresh clone: no DAGSTER_HOME and no DAGSTER_PG_* (the root dagster.yaml is read)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DAGSTER_", "FACE_ASSETS_")) or k == "DAGSTER_DISABLE_TELEMETRY"
    }
    env["HOME"] = str(tmp_path)  # FACE_ASSETS_HOME defaults under it
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    result = subprocess.run(
        [dagster, "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "face_assets" in result.stdout + result.stderr


def test_external_database_url_is_an_env_var_not_a_literal(monkeypatch):
    from face_assets.definitions import store_resource
    from face_assets.settings import Settings

    monkeypatch.setenv("FACE_ASSETS_DATABASE_URL", "postgresql://u:secret@db/x")
    resource = store_resource(Settings.from_env())
    assert "secret" not in repr(resource.database_url)  # an EnvVar, resolved at run time
