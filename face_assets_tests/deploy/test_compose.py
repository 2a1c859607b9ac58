"""docker-compose.yml, the Dockerfile and the token proxy, checked without a Docker engine."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import yaml

from face_assets_tests.conftest import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DAGSTER_SERVICES = ("user_code", "user_code_gpu", "webserver", "daemon")
NGINX_TEMPLATE = REPO_ROOT / "deploy" / "nginx" / "face_assets.conf.template"
VAR = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$, enough for these files."""

    def one(match: re.Match) -> str:
        name, op, arg = match.groups()
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return VAR.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def mounts(service: dict) -> dict[str, str]:
    """container path -> host path (relative, as written) of the bind mounts."""
    out = {}
    for volume in service.get("volumes", []):
        source, target = re.split(r":(?![^{]*\})", volume)[:2]  # not the ":?" in ${..}
        out[target] = source
    return out


def test_every_service_has_an_image_or_a_build():
    for name, service in SERVICES.items():
        assert service.get("image") or service.get("build"), name


def test_healthchecks_and_startup_order():
    for name in ("postgres", "user_code", "user_code_gpu", "webserver", "daemon"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert "pg_isready" in " ".join(SERVICES["postgres"]["healthcheck"]["test"])
    assert "grpc-health-check" in SERVICES["user_code"]["healthcheck"]["test"]
    for name in ("webserver", "daemon"):
        needs = SERVICES[name]["depends_on"]
        assert needs["postgres"]["condition"] == "service_healthy"
        assert needs["user_code"]["condition"] == "service_healthy"
        # The GPU server only exists with --profile gpu: a required dependency would fail.
        assert needs["user_code_gpu"]["required"] is False
    assert SERVICES["proxy"]["depends_on"]["webserver"]["condition"] == "service_healthy"


def test_gpu_code_server_is_a_profile_with_an_nvidia_reservation():
    gpu = SERVICES["user_code_gpu"]
    assert gpu["profiles"] == ["gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)
    assert gpu["build"]["args"]["ONNXRUNTIME_EXTRAS"] == "cuda,cudnn"
    assert gpu["image"] != SERVICES["user_code"]["image"]  # the CPU image stays CPU
    assert "profiles" not in SERVICES["user_code"]


def test_only_the_token_proxy_is_published_and_only_on_localhost_by_default():
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"proxy"}  # never the webserver (no auth) nor postgres
    ui, app = SERVICES["proxy"]["ports"]
    assert interpolate(ui, {}) == "127.0.0.1:3000:8080"
    assert interpolate(app, {}) == "127.0.0.1:8765:8081"  # the HTTP app, which checks the token
    assert SERVICES["webserver"]["expose"] == ["3000"]
    assert SERVICES["app"]["expose"] == ["8765"]
    assert "FACE_ASSETS_UI_TOKEN" in SERVICES["app"]["environment"]["FACE_ASSETS_API_TOKEN"]


def test_files_and_modules_named_by_the_services_exist():
    for name, service in SERVICES.items():
        for target, source in mounts(service).items():
            if source.startswith("./"):
                assert (REPO_ROOT / source).exists(), f"{name}: {source} -> {target}"
        command = service.get("command") or []
        for flag, value in zip(command, command[1:], strict=False):
            if flag == "-m":
                assert importlib.util.find_spec(value), f"{name}: module {value}"
            if flag == "-w":
                # /opt/dagster/deploy is ./deploy, mounted read-only.
                path = interpolate(value, {})
                assert mounts(service)["/opt/dagster/deploy"] == "./deploy"
                assert (REPO_ROOT / "deploy" / Path(path).name).is_file(), f"{name}: {path}"
        if service.get("build"):
            assert (REPO_ROOT / service["build"]["context"] / "Dockerfile").is_file()
    template = mounts(SERVICES["proxy"])["/etc/nginx/templates/default.conf.template"]
    assert (REPO_ROOT / template) == NGINX_TEMPLATE
    init = REPO_ROOT / "deploy" / "postgres-init" / "10-dagster-database.sh"
    assert init.stat().st_mode & 0o111, "the postgres entrypoint runs only executable .sh files"


def test_dagster_processes_share_the_instance_and_its_storage_settings():
    instance = (REPO_ROOT / "deploy" / "dagster.yaml").read_text()
    instance_env = set(re.findall(r"env: (\w+)", instance))
    assert instance_env == {f"DAGSTER_PG_{k}" for k in ("HOST", "PORT", "USER", "PASSWORD", "DB")}
    for name in DAGSTER_SERVICES:
        service = SERVICES[name]
        home = service["environment"]["DAGSTER_HOME"]
        assert mounts(service)[f"{home}/dagster.yaml"] == "./deploy/dagster.yaml", name
        assert instance_env <= set(service["environment"]), name
    for name in ("user_code", "user_code_gpu"):
        env = SERVICES[name]["environment"]
        assert env["FACE_ASSETS_LIBRARY"] == "/photos" and env["FACE_ASSETS_HOME"] == "/data"
        assert mounts(SERVICES[name])["/photos"].startswith("${FACE_ASSETS_PHOTOS")
        assert any(v.endswith(":/photos:ro") for v in SERVICES[name]["volumes"])


def test_workspaces_point_at_the_code_servers():
    for file, service in (
        ("workspace.docker.yaml", "user_code"),
        ("workspace.docker-gpu.yaml", "user_code_gpu"),
    ):
        (entry,) = yaml.safe_load((REPO_ROOT / "deploy" / file).read_text())["load_from"]
        command = SERVICES[service]["command"]
        assert entry["grpc_server"]["host"] == service
        assert str(entry["grpc_server"]["port"]) == command[command.index("-p") + 1]
        location = command[command.index("--location-name") + 1]
        assert entry["grpc_server"]["location_name"] == location


def test_no_literal_secrets():
    env = {
        "POSTGRES_PASSWORD": "pw-from-env",
        "FACE_ASSETS_UI_TOKEN": "t",
        "FACE_ASSETS_PHOTOS": "/p",
    }
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if re.search("PASSWORD|TOKEN|SECRET|DATABASE_URL", key):
                # Required interpolation: no default, so nothing secret is written here.
                assert re.search(r"\$\{\w+:\?", value), f"{name}.{key}"
                assert "pw-from-env" in interpolate(value, env) or "TOKEN" in key
    # Without the .env values compose refuses to start instead of using a default.
    with pytest.raises(KeyError):
        interpolate(SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"], {})
    example = dict(
        line.split("=", 1)
        for line in (REPO_ROOT / "deploy" / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert example["POSTGRES_PASSWORD"] == "" and example["FACE_ASSETS_UI_TOKEN"] == ""
    # Every value compose requires (${VAR:?...}) is blank in the example, so compose's guard
    # stops a copy that was not filled in (a placeholder such as /path/to/photos would pass).
    compose = (REPO_ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", compose))
    assert {"FACE_ASSETS_PHOTOS", "FACE_ASSETS_UI_TOKEN", "POSTGRES_PASSWORD"} <= required
    assert {name: example.get(name) for name in required} == dict.fromkeys(required, "")
    # ...and every optional one is listed with its default (or named in a comment).
    text = (REPO_ROOT / "deploy" / "env.example").read_text()
    for name, default in re.findall(r"\$\{(\w+):-([^}]*)\}", compose):
        assert example.get(name) == default or (name not in example and name in text), name
    assert ".env" in (REPO_ROOT / ".dockerignore").read_text().split()


def test_dockerfile_installs_like_the_makefile_and_drops_root():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "\nFROM python:3.11-slim\n" in dockerfile
    install = dockerfile.index("-e .")
    no_deps = dockerfile.index("pip install --no-deps -r requirements/no-deps.txt")
    assert install < no_deps < dockerfile.index("! pip show --quiet onnxruntime")
    assert "onnxruntime-gpu[$ONNXRUNTIME_EXTRAS]" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    for excluded in (".venv", "var", ".git"):
        assert excluded in ignored
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.M):
        *sources, _ = shlex.split(line)
        for source in sources:
            assert (REPO_ROOT / source).exists() and source.rstrip("/") not in ignored, source


def test_token_proxy_template_refuses_requests_without_the_token():
    text = NGINX_TEMPLATE.read_text()
    assert SERVICES["proxy"]["environment"]["NGINX_ENVSUBST_FILTER"] == "^FACE_ASSETS_"
    assert set(re.findall(r"\$\{(\w+)\}", text)) == {"FACE_ASSETS_UI_TOKEN"}
    assert '"Bearer ${FACE_ASSETS_UI_TOKEN}" 1;' in text
    assert '"00" 1;' in text  # denied unless header or cookie matched
    assert re.search(r"if \(\$face_assets_denied\) \{[^}]*return 401", text)
    assert "proxy_pass http://webserver:3000;" in text
    assert text.index("return 401") < text.index("proxy_pass")
