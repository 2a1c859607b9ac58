"""A real library of labelled faces (../shared/data), ingested once, cloned per test."""

from __future__ import annotations

import shutil
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

GROUP_PHOTO = "group/kit_with_rose.jpg"  # ../shared/data/group_photos/2.jpg


@dataclass
class RealLibrary:
    root: Path
    base_db: str
    base_home: Path


@pytest.fixture(scope="session")
def real_library(pg_server, tmp_path_factory, shared_data) -> RealLibrary:
    """faces_real (19 people, 59 photos) + one group photo, through the real ingest assets."""
    from face_assets.defs.partitions import partition_of
    from face_assets.services import ingest
    from face_assets.store import Store
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
    months = ingest.scan_months(store, root, partition_of)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_months(store, root, list(months))
    return RealLibrary(root, name, base / "home")


@pytest.fixture
def real_store(real_library, pg_server, tmp_path):
    """A private copy of the ingested store (database cloned from a template, media copied)."""
    from face_assets.store import Store

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(real_library.base_db)
            )
        )
    home = tmp_path / "home"
    shutil.copytree(real_library.base_home / "media", home / "media")
    return Store(pg_server.get_uri(name), home)
