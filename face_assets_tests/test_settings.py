"""Seed 001's environment names work beside ours, through Settings only."""

from __future__ import annotations

from pathlib import Path

import pytest

from face_assets.settings import (
    DEFAULT_APP_HOST,
    DEFAULT_APP_PORT,
    SEED_ALIASES,
    Settings,
    env_value,
)


def test_seed_001s_names_are_read_and_ours_win():
    seed = {
        "HOST": "0.0.0.0",
        "PORT": "8100",
        "ONNX_PROVIDERS": "MIGraphXExecutionProvider",
        "INSIGHTFACE_MODEL": "buffalo_l",
        "DET_SIZE": "480",
        "LOG_LEVEL": "DEBUG",
        "MODEL_CACHE_DIR": "/tmp/models",
    }
    got = Settings.from_env(seed)
    assert (got.app_host, got.app_port) == ("0.0.0.0", 8100)
    assert got.providers == ("MIGraphXExecutionProvider",) and got.pack == "buffalo_l"
    assert (got.det_size, got.log_level, got.model_root) == (480, "debug", Path("/tmp/models"))
    ours = Settings.from_env(
        {**seed, "FACE_ASSETS_PROVIDERS": "cpu", "FACE_ASSETS_PACK": "buffalo_s"}
    )
    assert ours.providers == ("cpu",) and ours.pack == "buffalo_s"
    plain = Settings.from_env({})
    assert (plain.app_host, plain.app_port, plain.det_size) == (
        DEFAULT_APP_HOST, DEFAULT_APP_PORT, None
    )  # fmt: skip


@pytest.mark.parametrize(
    "env, name",
    [
        ({"PORT": "http"}, "PORT"),
        ({"DET_SIZE": "500"}, "DET_SIZE"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    ],
)
def test_a_bad_seed_value_fails_by_name(env, name):
    with pytest.raises(ValueError, match=name):
        Settings.from_env(env)


def test_amd_providers_never_fall_back_silently():
    from face_assets.vision.providers import GPU_PROVIDERS, normalise_providers

    assert normalise_providers(["rocm", "migraphx"]) == [
        "ROCMExecutionProvider", "MIGraphXExecutionProvider"
    ]  # fmt: skip
    assert {"ROCMExecutionProvider", "MIGraphXExecutionProvider"} <= GPU_PROVIDERS


@pytest.mark.parametrize("ours, seeds", sorted(SEED_ALIASES.items()))
def test_each_seed_alias_is_read_when_ours_is_unset(ours, seeds):
    """The one table of seed 001's aliases: the seed's name alone is read, ours wins."""
    assert env_value({seeds: "seed-value"}, ours) == "seed-value"
    assert env_value({seeds: "seed-value", ours: "our-value"}, ours) == "our-value"
    assert env_value({}, ours) == "" and env_value({seeds: "x"}, "UNRELATED") == ""


def test_the_cli_reads_an_environment_once(monkeypatch):
    """`auto` is resolved once per environment, not at each of a verb's settings() calls; a
    changed environment is read again."""
    from face_assets import settings as settings_module
    from face_assets.cli import common

    real_choose, calls = settings_module.choose, []

    def counted(*args):
        calls.append(args)
        return real_choose(*args)

    monkeypatch.setattr(settings_module, "choose", counted)
    monkeypatch.setenv("FACE_ASSETS_PACK", "auto")
    monkeypatch.setenv("FACE_ASSETS_PACK_REQUIREMENT", "speed")
    first = common.settings()
    assert common.settings() is first and common.pack() == first.pack and len(calls) == 1
    monkeypatch.setenv("FACE_ASSETS_PACK_REQUIREMENT", "balanced")
    assert common.settings() is not first and len(calls) == 2


def test_job_workers_are_a_setting_with_a_measured_default():
    from face_assets.settings import DEFAULT_JOB_WORKERS, JOB_WORKERS_ENV

    assert Settings.from_env({}).job_workers == DEFAULT_JOB_WORKERS
    assert Settings.from_env({JOB_WORKERS_ENV: "3"}).job_workers == 3
    for bad in ("0", "two"):
        with pytest.raises(ValueError, match=JOB_WORKERS_ENV):
            Settings.from_env({JOB_WORKERS_ENV: bad})
