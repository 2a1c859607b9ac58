"""The import rules of ARCHITECTURE.md, checked on the source: layers import downwards only,
SQL drivers only in store/, Dagster only in the Dagster wing and the entry points."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "face_assets"

# What each part of the package may import from face_assets (itself always allowed).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "records": set(),
    "defaults": set(),
    "identity": {"errors", "defaults"},
    "vision": {"errors", "defaults"},
    "library": {"vision", "records", "errors"},
    "media": {"errors"},
    "sample_library": set(),
    "settings": {"vision", "errors"},
    "store": {"records", "vision", "errors", "defaults"},
    "services": {
        "store",
        "identity",
        "vision",
        "library",
        "media",
        "records",
        "errors",
        "settings",
        "defaults",
    },  # fmt: skip
    "defs": {
        "services",
        "store",
        "identity",
        "vision",
        "library",
        "settings",
        "errors",
        "records",
        "defaults",
    },  # fmt: skip
    "definitions": {"defs", "settings"},
}
NO_DAGSTER = {"errors", "records", "defaults", "identity", "vision", "library", "media",
              "settings", "store", "services", "sample_library"}  # fmt: skip
SQL_DRIVERS = ("psycopg", "pgvector", "pgserver")


def _part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_follow_the_layers(path):
    part = _part(path)
    names = _imports(path)
    if part != "store":
        drivers = sorted(n for n in names if n.split(".")[0] in SQL_DRIVERS)
        assert not drivers, f"{path.name} imports {drivers}: SQL belongs in store/"
    if part in NO_DAGSTER:
        dagster = sorted(n for n in names if n.split(".")[0].startswith("dagster"))
        assert not dagster, f"{path.name} ({part}/) imports {dagster}: Dagster lives in defs/"
    if part in ALLOWED:
        ours = {n.split(".")[1] for n in names if n.startswith("face_assets.")}
        upward = sorted(ours - ALLOWED[part] - {part})
        assert not upward, f"{path.name} ({part}) imports {upward}, above or beside its layer"


def test_the_rules_cover_every_part_of_the_package():
    parts = {_part(p) for p in MODULES} - {"__init__"}
    entry_points = {"cli", "api"}  # the top: they may import any layer
    assert parts - entry_points <= set(ALLOWED), parts - entry_points - set(ALLOWED)
