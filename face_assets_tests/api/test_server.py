"""`face-assets serve` builds the app from the settings as read: each model and worker
setting reaches create_app under its own name (app.SETTINGS_OPTIONS)."""

from __future__ import annotations

import inspect
from dataclasses import fields
from pathlib import Path

import pytest

from face_assets.api import app, server
from face_assets.settings import Settings


class _Built(Exception):
    """create_app was called: stop serve before uvicorn listens."""


def test_serve_passes_the_settings_to_create_app(monkeypatch, tmp_path):
    settings = Settings.from_env(
        {
            "FACE_ASSETS_HOME": str(tmp_path),
            "FACE_ASSETS_LIBRARY": str(tmp_path / "photos"),
            "FACE_ASSETS_PACK": "buffalo_s",
            "FACE_ASSETS_PROVIDERS": "cpu",
            "FACE_ASSETS_MODEL_CONCURRENCY": "3",
            "FACE_ASSETS_JOB_WORKERS": "2",
            "DET_SIZE": "480",
            "MODEL_CACHE_DIR": str(tmp_path / "models"),
        }
    )
    seen = {}

    def create_app(store, pack, token, **options):
        seen.update(options, pack=pack, token=token)
        raise _Built

    monkeypatch.setattr(server, "create_app", create_app)
    with pytest.raises(_Built):
        server.serve(settings, "t" * 40)
    assert seen["pack"] == "buffalo_s" and seen["token"] == "t" * 40
    assert seen["library_root"] == tmp_path / "photos"
    assert (seen["providers"], seen["model_concurrency"], seen["job_workers"]) == (("cpu",), 3, 2)
    assert (seen["det_size"], seen["model_root"]) == (480, Path(tmp_path / "models"))


def test_settings_options_are_settings_fields_and_create_app_parameters():
    parameters = inspect.signature(app.create_app).parameters
    settings = {f.name for f in fields(Settings)}
    for name in app.SETTINGS_OPTIONS:
        assert name in settings and parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
