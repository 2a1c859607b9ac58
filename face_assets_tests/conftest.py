"""Shared fixtures: a real embedded PostgreSQL + pgvector, real buffalo_s models, real photos."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
FACES_REAL = SHARED_DATA / "faces_real"
GROUP_PHOTOS = SHARED_DATA / "group_photos"


def pytest_configure(config):
    warnings.filterwarnings("ignore", category=FutureWarning, module="insightface")


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """One real PostgreSQL 16 + pgvector server (the pgserver wheel) for the whole session."""
    import pgserver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    yield server
    server.cleanup()


@pytest.fixture
def database_url(pg_server) -> str:
    """A fresh, empty database per test: tests never see each other's rows."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return pg_server.get_uri(name)


@pytest.fixture
def store(database_url, tmp_path):
    from face_assets.store import Store

    return Store(database_url, tmp_path / "home")


@pytest.fixture(scope="session")
def face_models():
    from face_assets.vision.models import load_face_models

    return load_face_models("buffalo_s", ("CPUExecutionProvider",))


@pytest.fixture(scope="session")
def t1_path() -> Path:
    import insightface

    return Path(insightface.__file__).parent / "data" / "images" / "t1.jpg"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not FACES_REAL.is_dir():
        pytest.fail(f"the shared test data is missing: expected {FACES_REAL} beside the checkout")
    return SHARED_DATA
