"""Shared fixtures: a real embedded PostgreSQL + pgvector, real buffalo_s models, real photos."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
FACES_REAL = SHARED_DATA / "faces_real"
GROUP_PHOTOS = SHARED_DATA / "group_photos"
# Partitions start at the library's first month unless this is set (defs/partitions.py):
# the tests' processes get fixed partitions, whatever store FACE_ASSETS_HOME names.
os.environ.setdefault("FACE_ASSETS_START_MONTH", "2000-01")


def pytest_configure(config):
    warnings.filterwarnings("ignore", category=FutureWarning, module="insightface")
    # pytest keeps only its 3 newest numbered temp dirs and deletes older ones, even while
    # another session on this machine still runs its PostgreSQL in one: each session gets its
    # own base directory instead, removed when the session ends.
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix=f"face_assets_tests_{os.getpid()}_")
        config._face_assets_basetemp = config.option.basetemp


def pytest_unconfigure(config):
    basetemp = getattr(config, "_face_assets_basetemp", None)
    if basetemp:
        shutil.rmtree(basetemp, ignore_errors=True)


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


# --- a real library of labelled faces (../shared/data), ingested once, cloned per test ----


@dataclass
class RealLibrary:
    root: Path
    base_db: str
    base_home: Path


@pytest.fixture(scope="session")
def real_library(pg_server, tmp_path_factory, shared_data) -> RealLibrary:
    """faces_real (19 people, 59 photos) + one group photo, through the real ingest assets."""
    from face_assets.defs.partitions import partition_of
    from face_assets.services import registration
    from face_assets.store import Store
    from face_assets_tests.defs.assets.conftest import GROUP_PHOTO
    from face_assets_tests.defs.assets.helpers import run_months

    base = tmp_path_factory.mktemp("real")
    root = base / "library"
    for photo in sorted((shared_data / "faces_real").glob("*/*")):
        if photo.parent.is_dir() and photo.suffix.lower() in {".jpg", ".jpeg", ".png"}:
            target = root / photo.parent.name / photo.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(photo, target)
    (root / "group").mkdir()
    shutil.copy2(shared_data / "group_photos" / "2.jpg", root / GROUP_PHOTO)

    name = f"real_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    store = Store(pg_server.get_uri(name), base / "home")
    months = registration.scan_months(store, root, partition_of)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_months(store, root, list(months))
    return RealLibrary(root, name, base / "home")


@pytest.fixture
def real_store(real_library, pg_server, tmp_path):
    """A private copy of the ingested store (database cloned from a template, media copied)."""
    from face_assets.store import Store

    name = f"t_{uuid.uuid4().hex[:12]}"
    create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(real_library.base_db)
    )
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        # A template in use cannot be copied, and this process may keep an idle connection
        # to it (the store reuses connections per thread): close those first.
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (real_library.base_db,),
        )
        conn.execute(create)
    home = tmp_path / "home"
    shutil.copytree(real_library.base_home / "media", home / "media")
    return Store(pg_server.get_uri(name), home)


@pytest.fixture
def cli_on_real_store(real_store, monkeypatch, capsys):
    """`face-assets ARGV...` on the real store (no Dagster server, the default pack), as
    invoke(*argv) -> (exit code, stdout, stderr)."""
    from face_assets import cli

    for name in ("DAGSTER_HOME", "FACE_ASSETS_DAGSTER_URL", "FACE_ASSETS_PACK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FACE_ASSETS_DATABASE_URL", real_store.database_url)
    monkeypatch.setenv("FACE_ASSETS_HOME", str(real_store.home_path))

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke
