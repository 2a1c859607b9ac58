"""dagster.yaml, the Kubernetes values and the executor/tags that put model steps on GPUs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pgserver
import psycopg
import pytest
import yaml
from dagster import AssetKey, Definitions, ExecutorDefinition, asset
from dagster._core.instance.config import dagster_instance_config
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from face_assets.defs import deployment
from face_assets.defs.deployment import GPU_RUN_TAG, MODEL_OP_TAGS, MODEL_POOL, TRAINING_RUN_TAG
from face_assets_tests.conftest import REPO_ROOT

VALUES = yaml.safe_load((REPO_ROOT / "deploy" / "k8s" / "values.yaml").read_text())
EXPECTED_RUN_LIMITS = [
    {"key": GPU_RUN_TAG, "value": "true", "limit": 2},
    {"key": TRAINING_RUN_TAG, "limit": 1},
]


@pytest.fixture
def pg_env(monkeypatch):
    for name, value in {
        "HOST": "db",
        "PORT": "5432",
        "USER": "u",
        "PASSWORD": "p",
        "DB": "d",
    }.items():
        monkeypatch.setenv(f"DAGSTER_PG_{name}", value)


def test_dagster_yaml_passes_dagsters_own_validation(pg_env):
    config, custom_class = dagster_instance_config(str(REPO_ROOT / "deploy"))
    assert custom_class is None
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["runs"]["tag_concurrency_limits"] == EXPECTED_RUN_LIMITS
    assert config["concurrency"]["pools"]["default_limit"] >= 1
    assert config["storage"]["postgres"]["postgres_db"]["password"] == {
        "env": "DAGSTER_PG_PASSWORD"
    }


def test_dagster_yaml_makes_a_working_instance_on_postgres(pg_server, tmp_path, monkeypatch):
    """The repo's dagster.yaml, unchanged, against a real PostgreSQL: storage, queue, pools."""
    from dagster import DagsterInstance
    from dagster._core.launcher import DefaultRunLauncher
    from dagster._core.run_coordinator import QueuedRunCoordinator

    name = f"dagster_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    # pgserver listens on a socket only: an empty host makes libpq use PGHOST, the socket dir.
    monkeypatch.setenv("PGHOST", conninfo_to_dict(pg_server.get_uri())["host"])
    for key, value in {
        "HOST": "",
        "PORT": "5432",
        "USER": "postgres",
        "PASSWORD": "",
        "DB": name,
    }.items():
        monkeypatch.setenv(f"DAGSTER_PG_{key}", value)
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")

    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert isinstance(instance.run_launcher, DefaultRunLauncher)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 8
        assert queue.tag_concurrency_limits == EXPECTED_RUN_LIMITS
        info = instance.event_log_storage.get_concurrency_info(MODEL_POOL)
        assert info.limit == 2 and info.using_default_limit
        # What `dagster instance concurrency set face_models 1` does.
        instance.event_log_storage.set_concurrency_slots(MODEL_POOL, 1)
        assert instance.event_log_storage.get_concurrency_info(MODEL_POOL).limit == 1
    finally:
        instance.dispose()


def test_k8s_values_use_our_image_the_k8s_launcher_and_secrets_only():
    (deployment_values,) = VALUES["dagster-user-deployments"]["deployments"]
    args = deployment_values["codeServerArgs"]
    assert args[args.index("-m") + 1] == "face_assets.definitions"
    env = {e["name"]: e["value"] for e in deployment_values["env"]}
    assert env[deployment.EXECUTOR_ENV] == "k8s"
    assert deployment.executor_for(env) is not None
    assert deployment_values["envSecrets"] == [{"name": "face-assets-env"}]
    assert deployment_values["includeConfigInLaunchedRuns"]["enabled"] is True
    assert VALUES["runLauncher"]["type"] == "K8sRunLauncher"
    assert VALUES["postgresql"]["enabled"] is False
    assert VALUES["generatePostgresqlPasswordSecret"] is False
    assert not re.search(r'"(postgresql)?password"\s*:', json.dumps(VALUES), re.I)


def test_k8s_limits_match_dagster_yaml(pg_env):
    config, _ = dagster_instance_config(str(REPO_ROOT / "deploy"))
    helm = VALUES["concurrency"]
    assert helm["enabled"] is True
    assert helm["runs"]["maxConcurrentRuns"] == config["concurrency"]["runs"]["max_concurrent_runs"]
    assert helm["runs"]["tagConcurrencyLimits"] == EXPECTED_RUN_LIMITS
    assert helm["pools"]["defaultLimit"] == config["concurrency"]["pools"]["default_limit"]
    assert helm["pools"]["granularity"] == config["concurrency"]["pools"]["granularity"]
    monitoring = VALUES["dagsterDaemon"]["runMonitoring"]
    assert monitoring["enabled"] is config["run_monitoring"]["enabled"] is True
    assert monitoring["maxRuntimeSeconds"] == config["run_monitoring"]["max_runtime_seconds"]


def test_local_dagster_yaml_needs_no_server_and_keeps_the_limits(monkeypatch):
    """The root dagster.yaml is what `dagster dev` reads in a fresh clone: SQLite storage,
    no DAGSTER_PG_* variables, the deployment's queue limits and run monitoring."""
    for name in ("HOST", "PORT", "USER", "PASSWORD", "DB"):
        monkeypatch.delenv(f"DAGSTER_PG_{name}", raising=False)
    local, _ = dagster_instance_config(str(REPO_ROOT))
    deployed = yaml.safe_load((REPO_ROOT / "deploy" / "dagster.yaml").read_text())
    assert "storage" not in local
    assert local["concurrency"] == deployed["concurrency"]
    assert local["run_coordinator"] == deployed["run_coordinator"]
    assert local["run_monitoring"] == deployed["run_monitoring"]


def test_executor_for_reads_face_assets_executor(monkeypatch):
    from dagster import in_process_executor
    from dagster_k8s import k8s_job_executor

    assert deployment.executor_for({}) is in_process_executor  # models load once per run
    assert deployment.executor_for({"FACE_ASSETS_EXECUTOR": "multiprocess"}) is None
    k8s = deployment.executor_for({"FACE_ASSETS_EXECUTOR": "k8s"})
    assert isinstance(k8s, ExecutorDefinition) and k8s.name == k8s_job_executor.name
    config = k8s.config_schema.resolve_config({}).value["config"]
    assert config["max_concurrent"] == deployment.K8S_MAX_CONCURRENT
    env = {"FACE_ASSETS_EXECUTOR": "K8S", "FACE_ASSETS_K8S_MAX_CONCURRENT": "2"}
    assert (
        deployment.executor_for(env)
        .config_schema.resolve_config({})
        .value["config"]["max_concurrent"]
        == 2
    )
    with pytest.raises(ValueError, match="FACE_ASSETS_K8S_MAX_CONCURRENT"):
        deployment.executor_for({**env, "FACE_ASSETS_K8S_MAX_CONCURRENT": "0"})
    with pytest.raises(ValueError, match="FACE_ASSETS_EXECUTOR='celery'.*k8s"):
        deployment.executor_for({"FACE_ASSETS_EXECUTOR": "celery"})

    @asset(op_tags=MODEL_OP_TAGS, pool=MODEL_POOL)
    def model_step() -> None:
        pass

    defs = Definitions(assets=[model_step], executor=k8s)
    Definitions.validate_loadable(defs)
    assert defs.resolve_implicit_global_asset_job_def().executor_def is k8s


def test_dagster_k8s_parses_the_gpu_tags_of_exactly_the_model_assets():
    from dagster_k8s.job import get_user_defined_k8s_config

    from face_assets.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    inference = {"detected_faces", "face_embeddings", "video_faces", "imported_face_tags"}
    model_assets = inference | ({"projection_head"} & keys)
    assert {"raw_images", "face_quality"} <= keys - model_assets
    for key in keys:
        op = defs.resolve_assets_def(AssetKey.from_user_string(key)).op
        k8s = get_user_defined_k8s_config(op.tags)  # what the k8s executor does per step
        gpu = (k8s.container_config.get("resources") or {}).get("limits", {}).get("nvidia.com/gpu")
        if key in model_assets:
            assert gpu == "1", key
            assert k8s.container_config["resources"]["requests"]["nvidia.com/gpu"] == "1"
            assert k8s.pod_spec_config["tolerations"][0]["key"] == "nvidia.com/gpu"
            if key in inference:  # inference: the face_models pool
                assert op.pool == MODEL_POOL, key
        else:
            assert gpu is None and "dagster-k8s/config" not in op.tags, key
            assert op.pool != MODEL_POOL, key


def test_postgres_init_script_creates_the_dagster_database(pg_server, tmp_path):
    """deploy/postgres-init/ as the postgres image's entrypoint runs it, with pgserver's psql."""
    app_db, dagster_db = f"app_{uuid.uuid4().hex[:8]}", f"dagster_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(app_db)))
    bin_dir = Path(pgserver.__file__).parent / "pginstall" / "bin"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PGHOST": conninfo_to_dict(pg_server.get_uri())["host"],
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": app_db,
        "DAGSTER_PG_DB": dagster_db,
    }
    script = REPO_ROOT / "deploy" / "postgres-init" / "10-dagster-database.sh"
    result = subprocess.run([script], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    with psycopg.connect(pg_server.get_uri(app_db)) as conn:
        assert conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
    with psycopg.connect(pg_server.get_uri(dagster_db)) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (dagster_db,)
