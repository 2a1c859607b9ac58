"""README.md's Layout names every module of the package, and only modules that exist.

The fenced block under `## Layout` is a tree: a line whose first word ends in `/` is a folder,
nested by its indentation (`face_assets/`, then `  defs/`, then `    assets/`); every other line
belongs to the innermost folder indented less than it (so a wrapped description, indented
deeper, stays with its folder, and a line back at a folder's own indentation leaves it). Within
a folder's lines a module is named by its stem, with or without `.py` (`stored_crops.py` or
`stored_crops`), as a whole word. The test asks that:

- every module `face_assets/**/*.py` except `__init__.py` is named in its own folder's lines;
- every subpackage (a folder with an `__init__.py`) is a folder line under its parent;
- every `name.py` and every folder the block mentions exists where the block puts it.

So a split or a rename that forgets the README fails here, and so does a README that still
names a module that moved."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "face_assets"
FOLDER_LINE = re.compile(r"^( *)([\w.-]+)/(?:\s|$)")
PY_NAME = re.compile(r"(?<![\w./])(\w+)\.py\b")


def _layout_block() -> list[str]:
    """The lines of the first fenced block after the `## Layout` heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1].strip("\n").splitlines()


def _folders() -> dict[str, str]:
    """Each folder of the block (a path from the repository root) -> the text of its lines."""
    texts: dict[str, list[str]] = {}
    stack: list[tuple[int, str]] = []  # (indentation, path) of the open folders
    for line in _layout_block():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        folder = FOLDER_LINE.match(line)
        if folder:
            parent = stack[-1][1] + "/" if stack else ""
            stack.append((indent, parent + folder.group(2)))
            line = line[folder.end() :]
        assert stack, f"the Layout's line {line!r} comes before any folder"
        texts.setdefault(stack[-1][1], []).append(line)
    return {path: "\n".join(lines) for path, lines in texts.items()}


def _names(text: str, stem: str) -> bool:
    return re.search(rf"(?<![\w./]){re.escape(stem)}(?:\.py)?(?![\w/])", text) is not None


def test_layout_names_every_module() -> None:
    folders = _folders()
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        folder = path.parent.relative_to(ROOT).as_posix()
        if not _names(folders.get(folder, ""), path.stem):
            missing.append(path.relative_to(ROOT).as_posix())
    assert not missing, "README.md's Layout does not name these modules:\n" + "\n".join(missing)


def test_layout_has_every_subpackage() -> None:
    folders = _folders()
    missing = [
        init.parent.relative_to(ROOT).as_posix()
        for init in sorted(PACKAGE.rglob("__init__.py"))
        if init.parent.relative_to(ROOT).as_posix() not in folders
    ]
    assert not missing, "README.md's Layout has no folder line for:\n" + "\n".join(missing)


def test_layout_names_only_what_exists() -> None:
    stale = [folder + "/" for folder in _folders() if not (ROOT / folder).is_dir()]
    for folder, text in _folders().items():
        stale += [
            f"{folder}/{name}.py"
            for name in PY_NAME.findall(text)
            if not (ROOT / folder / f"{name}.py").is_file()
        ]
    assert not stale, "README.md's Layout names what does not exist:\n" + "\n".join(stale)
