"""A newcomer's first commands on a fresh clone (issue 17), with nothing exported: `make demo`,
then the commands the demo's last lines and the README name, in order, each a subprocess
with a clean environment. They must all find the demo's store, and the CLI's Dagster runs
must be where `make dev` looks.

The clone is the checkout's tracked files copied to a temporary folder; its `.venv` is a
link to the installed environment (so `make` installs nothing) and PYTHONPATH names the
clone, so the code under test is the clone's."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from face_assets_tests.conftest import REPO_ROOT

DEMO_SECONDS = 900  # the embedded server's first start plus three months and identities
STEP_SECONDS = 300
NAME = "Ada Lovelace"


def _clone(target: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout
    for rel in filter(None, listed.decode().split("\0")):
        source = REPO_ROOT / rel
        if source.is_file():  # a file deleted in the work tree is not in the clone either
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
    (target / ".venv").symlink_to(Path(sys.prefix))
    return target


class Shell:
    """Runs the README's commands in the clone, recording a transcript."""

    def __init__(self, clone: Path, home: Path) -> None:
        self.clone = clone
        self.env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(clone),
        }
        self.transcript: list[str] = []

    def __call__(self, command: str, timeout: int = STEP_SECONDS) -> subprocess.CompletedProcess:
        done = subprocess.run(
            command,
            shell=True,
            cwd=self.clone,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.transcript += [f"$ {command}", done.stdout.rstrip(), done.stderr.rstrip()]
        assert done.returncode == 0, "\n".join(self.transcript[-3:])[-4000:]
        assert "Traceback" not in done.stdout + done.stderr
        return done


@pytest.fixture
def shell(tmp_path):
    if shutil.which("make") is None:
        pytest.fail("`make` is missing: the README's first command needs it")
    run = Shell(_clone(tmp_path / "face_assets"), tmp_path / "home")
    yield run
    subprocess.run(  # never leave the clone's embedded PostgreSQL running
        [str(run.clone / ".venv" / "bin" / "face-assets"), "db", "stop"],
        cwd=run.clone,
        env=run.env,
        capture_output=True,
        timeout=120,
    )
    print("\n".join(line for line in run.transcript if line))


def test_fresh_clone_demo_then_the_readme_commands_find_one_store(shell):
    clone = shell.clone
    demo = shell("make -o .venv/.installed demo", DEMO_SECONDS)
    told = re.search(
        r"(\d+) clusters \((\d+) faces\) to review with `face-assets clusters`", demo.stdout
    )
    assert told, demo.stdout[-2000:]
    clusters = int(told.group(1))
    assert clusters > 0

    listed = shell(".venv/bin/face-assets clusters")
    assert f"store: {clone / 'var'}" in listed.stderr  # the demo's store, said
    assert f"{clusters} clusters of unlabelled faces" in listed.stdout
    first = re.search(r"^(clu_\w+)\s", listed.stdout, re.M).group(1)

    # A typo, taken back: the cluster is listed again, then named right.
    typo = json.loads(shell(f'.venv/bin/face-assets label {first} "{NAME}x"').stdout)
    undone = json.loads(shell(f".venv/bin/face-assets undo-label {typo['event_id']}").stdout)
    assert undone["faces_released"] == typo["faces"] and undone["person_removed"]
    assert first in shell(".venv/bin/face-assets clusters").stdout
    labelled = shell(f'.venv/bin/face-assets label {first} "{NAME}"')
    assert '"faces"' in labelled.stdout
    persons = shell(".venv/bin/face-assets persons")
    assert NAME in persons.stdout
    stats = shell(".venv/bin/face-assets stats")
    assert re.search(r"^2024-01\s", stats.stdout, re.M)

    # The runs the CLI made are in the instance `make dev` opens.
    dev = shell("make -n -o .venv/.installed dev")
    dagster_home = clone / "var" / "dagster_home"
    assert str(dagster_home) in dev.stdout
    from dagster import DagsterInstance

    instance = DagsterInstance.from_config(str(dagster_home))
    try:
        jobs = {run.job_name for run in instance.get_runs()}
    finally:
        instance.dispose()
    assert {"ingest_month", "refresh_identities"} <= jobs
    assert "runs: Dagster instance" in demo.stderr
