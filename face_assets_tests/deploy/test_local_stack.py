"""The compose services' processes, started without Docker on 127.0.0.1.

The code server, the webserver (loading it over gRPC, like deploy/workspace.docker.yaml) and
the daemon, with a temporary DAGSTER_HOME on SQLite and a temporary FACE_ASSETS_HOME: nothing
touches a database or downloads a model, and every process is stopped at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from face_assets_tests.conftest import REPO_ROOT
from face_assets_tests.deploy.processes import free_port, running, wait_until

BIN = Path(sys.executable).parent
FACE_ASSETS = {"raw_images", "detected_faces", "face_embeddings", "face_quality"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stack")
    home, face_home, photos = tmp / "dagster_home", tmp / "face_home", tmp / "photos"
    for folder in (home, face_home, photos):
        folder.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # SQLite storage
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DAGSTER_", "FACE_ASSETS_"))
    }
    env.update(DAGSTER_HOME=str(home), FACE_ASSETS_HOME=str(face_home))
    env.update(FACE_ASSETS_LIBRARY=str(photos), PYTHONWARNINGS="ignore")
    grpc_port, web_port = free_port(), free_port()
    # deploy/workspace.docker.yaml with the code server on localhost instead of `user_code`.
    workspace = yaml.safe_load((REPO_ROOT / "deploy" / "workspace.docker.yaml").read_text())
    workspace["load_from"][0]["grpc_server"].update(host="127.0.0.1", port=grpc_port)
    (tmp / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    ws = ["-w", str(tmp / "workspace.yaml")]

    code_server = [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1"]
    code_server += ["-p", str(grpc_port), "-m", "face_assets.definitions"]
    code_server += ["--location-name", "face_assets"]
    with running(code_server, env, tmp / "code_server.log") as server:
        wait_until(lambda: _grpc_serving(grpc_port), 45, "code server", tmp / "code_server.log")
        webserver = [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port), *ws]
        daemon = [str(BIN / "dagster-daemon"), "run", *ws]
        with (
            running(webserver, env, tmp / "webserver.log") as web,
            running(daemon, env, tmp / "daemon.log") as dmn,
        ):
            yield {
                "env": env,
                "tmp": tmp,
                "grpc_port": grpc_port,
                "web_port": web_port,
                "processes": {"code_server": server, "webserver": web, "daemon": dmn},
            }


def _grpc_serving(port: int) -> bool:
    from dagster._grpc.client import DagsterGrpcClient

    client = DagsterGrpcClient(port=port, host="127.0.0.1")
    return client.health_check_query() == "SERVING" and client.list_repositories()


def _dagster(stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        env=stack["env"],
        capture_output=True,
        text=True,
        timeout=30,
    )


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]


def test_code_server_answers_the_compose_health_check(stack):
    # The user_code service's healthcheck command, verbatim but for the host.
    result = _dagster(stack, "dagster", "api", "grpc-health-check", "-p", str(stack["grpc_port"]))
    assert result.returncode == 0, result.stdout + result.stderr


def test_webserver_lists_the_assets_of_the_grpc_location(stack):
    port, log = stack["web_port"], stack["tmp"] / "webserver.log"
    wait_until(
        lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2),
        45,
        "webserver",
        log,
    )
    data = _graphql(port, "{ assetNodes { assetKey { path } } }")
    keys = {"/".join(node["assetKey"]["path"]) for node in data["assetNodes"]}
    assert keys >= FACE_ASSETS, keys


def test_daemon_starts_and_stays_alive(stack):
    log = stack["tmp"] / "daemon.log"
    wait_until(lambda: "following daemons" in log.read_text(), 45, "daemon start", log)
    wait_until(
        lambda: _dagster(stack, "dagster-daemon", "liveness-check").returncode == 0,
        45,
        "daemon heartbeat",
        log,
    )
    for name, process in stack["processes"].items():
        assert process.poll() is None, f"{name} exited: {process.returncode}"


def test_loading_the_code_location_started_no_database(stack):
    # Resources are lazy: serving the definitions created nothing under FACE_ASSETS_HOME.
    assert list(Path(stack["env"]["FACE_ASSETS_HOME"]).iterdir()) == []
