"""The import rules of ARCHITECTURE.md, checked on the source.

Layers import downwards only; SQL drivers only in store/; Dagster only in the Dagster wing and
the entry points; the store imports no vision (it executes, the services decide); the assets
call services (configuration defaults come from `defaults` or `settings`, never from the pure
core); the CLI and the HTTP app reach the database only through services (they may hold the
plain `Store` handle they give the services, never a store module with SQL)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "face_assets"

# What each part of the package may import from face_assets (itself always allowed).
PURE = {"errors", "defaults"}
# What both entry points (the CLI and the HTTP app) may reach: every layer but the store's modules.
ENTRY_POINT_LAYERS = {"defs", "services", "identity", "vision", "library", "media", "records",
                      "settings", *PURE}  # fmt: skip
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "records": set(),
    "defaults": set(),  # shared defaults, each with its source: imports nothing
    "sample_library": set(),
    "identity": PURE,
    "vision": PURE,
    "media": {"errors"},
    "library": {"vision", "records", *PURE},
    "settings": {"vision", *PURE},
    "store": {"records", *PURE},  # no vision: domain decisions are the services'
    "services": {"store", "identity", "vision", "library", "media", "records", "settings", *PURE},
    "defs": {"services", "settings", "records", *PURE},  # assets call services
    "definitions": {"defs", "settings", *PURE},
    # The entry points: any layer but the store's modules (the database only through services);
    # the CLI also launches the Dagster definitions, the HTTP app and the sample library.
    "cli": {"api", "definitions", "sample_library", *ENTRY_POINT_LAYERS},
    "api": ENTRY_POINT_LAYERS,
}
# The plain store handle (URL, transactions, media root; no SQL of its own) that the wiring and
# the entry points construct and hand to the services.
STORE_HANDLE = {"face_assets.store.Store"}
# Wiring beyond the defaults, by module, each with its reason; assets get none.
WIRING: dict[str, set[str]] = {
    # hands the services the pack's models, validating pack names and loading them
    "defs/resources.py": {"face_assets.vision.models", "face_assets.vision.packs"},
    # the month partitions follow the library's one month rule
    "defs/partitions.py": {"face_assets.library.month_of"},
}
NO_DAGSTER = {"errors", "records", "defaults", "identity", "vision", "library", "media",
              "settings", "store", "services", "sample_library"}  # fmt: skip
SQL_DRIVERS = ("psycopg", "pgvector", "pgserver")
ENTRY_POINTS = ("cli", "api")


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _part(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """Every imported module and every name imported from a module, as dotted names."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _ours(names: set[str]) -> set[str]:
    return {n for n in names if n.startswith("face_assets.")}


def _allowed(rel: str, part: str, target: str) -> bool:
    layer = target.split(".")[1]
    if layer == part or layer in ALLOWED[part]:
        return True
    if target in STORE_HANDLE and part in ("defs", *ENTRY_POINTS) and "/assets/" not in rel:
        return True
    return any(target == w or target.startswith(w + ".") for w in WIRING.get(rel, ()))


SQL_CALLS = ("execute", "executemany")  # psycopg's: a query text goes through one of these


def _sql_calls(path: Path) -> list[int]:
    """Lines that hand an SQL text (a string literal, f-string or concatenation, or a module
    name bound to one) to `.execute(` or `.executemany(`: outside store/ that is SQL written
    beside the store."""
    tree = ast.parse(path.read_text(), filename=str(path))
    texts: set[str] = set()  # module-level names bound to a text (QUERY = "SELECT ...")
    for stmt in tree.body:
        assigned = isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None
        if assigned and _is_text(stmt.value, texts):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            texts.update(t.id for t in targets if isinstance(t, ast.Name))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_CALLS
            and node.args
            and _is_text(node.args[0], texts)
        ):
            found.append(node.lineno)
    return sorted(found)


def _is_text(node: ast.expr, texts: set[str]) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp):
        return _is_text(node.left, texts) or _is_text(node.right, texts)
    if isinstance(node, ast.Name):
        return node.id in texts
    return isinstance(node, ast.JoinedStr)


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_module_imports_follow_the_layers(path):
    part, rel = _part(path), _rel(path)
    names = _imports(path)
    if part != "store":
        drivers = sorted(n for n in names if n.split(".")[0] in SQL_DRIVERS)
        assert not drivers, f"{rel} imports {drivers}: SQL belongs in store/"
    if part in NO_DAGSTER:
        dagster = sorted(n for n in names if n.split(".")[0].startswith("dagster"))
        assert not dagster, f"{rel} ({part}/) imports {dagster}: Dagster lives in defs/"
    if part == "__init__":
        return
    wrong = sorted(n for n in _ours(names) if not _allowed(rel, part, n))
    assert not wrong, f"{rel} ({part}) imports {wrong}, above or beside its layer"


@pytest.mark.parametrize("path", [p for p in MODULES if _part(p) != "store"], ids=_rel)
def test_sql_is_executed_only_in_the_store(path):
    lines = _sql_calls(path)
    assert not lines, f"{_rel(path)} runs SQL on lines {lines}: queries belong in store/"


def test_the_rules_cover_every_part_of_the_package():
    parts = {_part(p) for p in MODULES} - {"__init__"}
    assert parts <= set(ALLOWED), parts - set(ALLOWED)
    assert set(ENTRY_POINTS) <= parts  # the CLI and the HTTP app are checked too


def test_the_rules_catch_what_they_forbid(tmp_path):
    """The checker itself: the imports this file exists to refuse are refused."""
    cases = {
        "store/x.py": "from face_assets.vision.matching import iou",
        "defs/assets/x.py": "from face_assets.identity.graph import DEFAULT_K",
        "defs/assets/y.py": "from face_assets.store import Store",
        "defs/jobs.py": "from face_assets.store import faces",
        "cli/x.py": "from face_assets.store import db",
        "api/x.py": "from face_assets.store.persons import find_person",
        "services/x.py": "from face_assets.defs import jobs",
    }
    for rel, line in cases.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(line + "\n")
        part = rel.split("/")[0]
        assert not all(_allowed(rel, part, n) for n in _ours(_imports(path))), line
    # services/face_removal.py's old _marks, and the same through a module-level text.
    sql = tmp_path / "services_sql.py"
    sql.write_text(
        "def _marks(conn, mark_id):\n"
        '    row = conn.execute("SELECT image_id FROM forgotten_faces WHERE id = %s",'
        " (mark_id,)).fetchone()\n"
        "    conn.execute(f'DELETE FROM t WHERE id = {mark_id}')\n"
        "    conn.executemany('INSERT INTO t VALUES (%s)' + ' ON CONFLICT DO NOTHING', [])\n"
        "    conn.execute(QUERY, (mark_id,))\n"
        "    launcher.execute(job, partition_key=mark_id)\n"  # a name not bound to a text: fine
        'QUERY = "SELECT 1 FROM t WHERE id = %s"\n'
    )
    assert _sql_calls(sql) == [2, 3, 4, 5]
    ok = tmp_path / "ok.py"
    ok.write_text("from face_assets.store import Store\nfrom face_assets import defaults\n")
    assert all(_allowed("cli/x.py", "cli", n) for n in _ours(_imports(ok)))
