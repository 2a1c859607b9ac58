"""The `face-assets` command as a newcomer meets it (issue 17), as real processes: each common
mistake gives one line with a remedy and a non-zero exit, never a traceback; a long ingest
shows a progress bar with a rate and an ETA on a terminal (a pseudo-terminal here)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import psycopg

from face_assets_tests.test_cli_failures import CLI, _env, _error_lines

PROGRESS_PHOTOS = 300  # the folder size
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
DECODED_BAR = re.compile(r"photos decoded.*?(\d+)/(\d+).*?/s\s+(ETA \d+:\d\d)")


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args],
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _one_error_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    (line,) = _error_lines(done.stderr)
    assert line.startswith("error: ")
    return line


def test_a_library_path_that_does_not_exist(tmp_path):
    line = _one_error_line(_run(tmp_path, "ingest", str(tmp_path / "no-such-folder")))
    assert "no folder" in line and "give the folder that holds your photos" in line


def test_a_month_that_is_not_a_month(tmp_path):
    (tmp_path / "photos").mkdir()
    line = _one_error_line(_run(tmp_path, "ingest", str(tmp_path / "photos"), "--month", "2019-13"))
    assert "--month 2019-13 is not a month" in line and "YYYY-MM" in line


def test_an_empty_folder_says_no_photos_were_found(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a photo")
    done = _run(tmp_path, "ingest", str(folder))
    line = _one_error_line(done)
    assert f"no photos in {folder}" in line and ".jpg" in line
    assert "month" not in done.stdout  # no store table printed


def test_a_folder_of_non_images_lists_files_and_reasons_and_files_nothing(tmp_path, database_url):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.png").write_text("this is no picture")
    done = _run(tmp_path, "ingest", str(folder), FACE_ASSETS_DATABASE_URL=database_url)
    line = _one_error_line(done)
    assert "none of the 2 files" in line and "nothing was filed" in line
    assert "empty.jpg: empty_file" in done.stdout
    assert "text.png: not_an_image" in done.stdout
    with psycopg.connect(database_url) as conn:  # filed under no month, the current one neither
        assert conn.execute("SELECT count(*) FROM library_files").fetchone()[0] == 0


def test_a_closed_pipe_ends_quietly(tmp_path, database_url):
    """`face-assets clusters | head`: the reader went away before the table was written."""
    cli = subprocess.Popen(
        [*CLI, "clusters"],
        env=_env(tmp_path, FACE_ASSETS_DATABASE_URL=database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    cli.stdout.close()  # as `head` does once it has its lines
    stderr = cli.stderr.read()
    cli.wait(timeout=120)
    assert cli.returncode != 0
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
    assert _error_lines(stderr) == []


def test_a_guessable_token_is_refused(tmp_path):
    guessable = "password1234567890qwerty"  # long enough: refused for its words, not length
    line = _one_error_line(_run(tmp_path, "serve", FACE_ASSETS_API_TOKEN=guessable))
    assert "guessable" in line and "secrets.token_urlsafe" in line


def test_packs_lists_the_registry_without_a_store(tmp_path):
    """`packs` only reads the registry and the model folder: it neither starts the embedded
    server (no pgdata appears in a fresh home) nor connects to a configured one (nothing
    listens at this URL, which would be exit 3)."""
    from face_assets.vision.packs import PACKS
    from face_assets_tests.deploy.processes import free_port

    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none?connect_timeout=2"
    embedded = _run(tmp_path, "packs")
    configured = _run(tmp_path, "packs", "--auto", "balanced", FACE_ASSETS_DATABASE_URL=url)
    for done in (embedded, configured):
        assert done.returncode == 0, done.stdout + done.stderr
        assert "store: " not in done.stderr and _error_lines(done.stderr) == []
        listed = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
        assert listed[: len(PACKS)] == list(PACKS)
    assert "auto (balanced): " in configured.stdout
    assert not (tmp_path / "home").exists()  # no pgdata, no sample library, nothing


def test_a_model_pack_that_needs_a_download_offline(tmp_path, database_url, shared_data):
    folder = tmp_path / "photos"
    folder.mkdir()
    _photo_folder(folder, shared_data, 1)
    offline = "http://127.0.0.1:9"  # nothing listens: a download fails at once, as offline
    done = _run(
        tmp_path,
        "ingest",
        str(folder),
        "--no-identities",
        FACE_ASSETS_DATABASE_URL=database_url,
        FACE_ASSETS_PACK="buffalo_l",
        HOME=str(tmp_path),  # an empty ~/.insightface
        HTTPS_PROXY=offline,
        HTTP_PROXY=offline,
    )
    line = _one_error_line(done)
    assert "model pack 'buffalo_l'" in line and "could not be downloaded" in line
    assert "unzip it into" in line  # the remedy


def _photo_folder(root: Path, shared_data: Path, count: int) -> Path:
    """`count` real photos of lfw_dev, copied (the library refuses links that leave it)."""
    photos = sorted((shared_data / "lfw_dev").glob("*/*.jpg"))[:count]
    assert len(photos) == count
    for photo in photos:
        shutil.copyfile(photo, root / photo.name)
    return root


def _pty_lines(fd: int, seconds: float):
    """Screen updates of a pseudo-terminal, ANSI codes removed, until `seconds` pass."""
    deadline = time.monotonic() + seconds
    pending = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536).decode(errors="replace")
        except OSError:  # the child closed the terminal
            return
        pending += chunk
        *lines, pending = re.split(r"[\r\n]", pending)
        for line in lines:
            yield ANSI.sub("", line)


def test_ingest_on_a_terminal_shows_a_progress_bar_that_advances_with_an_eta(
    tmp_path, database_url, shared_data
):
    folder = tmp_path / "photos"
    folder.mkdir()
    _photo_folder(folder, shared_data, PROGRESS_PHOTOS)
    primary, secondary = pty.openpty()
    size = struct.pack("HHHH", 40, 160, 0, 0)  # rows, columns: room for the bar
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, size)
    env = _env(tmp_path, FACE_ASSETS_DATABASE_URL=database_url, TERM="xterm-256color")
    cli = subprocess.Popen(
        [*CLI, "ingest", str(folder), "--no-identities"],
        env=env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,
    )
    os.close(secondary)
    seen: dict[int, str] = {}  # photos decoded -> ETA shown with it
    transcript = []
    try:
        for line in _pty_lines(primary, 400):
            transcript.append(line)
            found = DECODED_BAR.search(line)
            if found and int(found.group(2)) == PROGRESS_PHOTOS:
                done = int(found.group(1))
                if 0 < done < PROGRESS_PHOTOS:
                    seen[done] = found.group(3)
            if len(seen) >= 3:
                break
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
        cli.wait(timeout=60)
        os.close(primary)
    tail = "\n".join(transcript[-20:])
    assert len(seen) >= 3, f"no advancing bar with an ETA; the terminal showed:\n{tail}"
    assert any("files scanned" in line for line in transcript), tail
    assert all(eta.startswith("ETA ") for eta in seen.values())
    assert "Traceback" not in "\n".join(transcript)


def test_ingest_through_a_pipe_draws_no_bar(tmp_path, database_url, shared_data):
    folder = tmp_path / "photos"
    folder.mkdir()
    _photo_folder(folder, shared_data, 2)
    done = _run(
        tmp_path, "ingest", str(folder), "--no-identities", FACE_ASSETS_DATABASE_URL=database_url
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "photos decoded" not in done.stdout + done.stderr  # quiet when not a terminal
    assert re.search(r"\d{4}-\d\d: done in", done.stdout)
    again = _run(
        tmp_path, "ingest", str(folder), "--no-identities", FACE_ASSETS_DATABASE_URL=database_url
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert "nothing new" in again.stdout and "done in" not in again.stdout


def test_every_verb_and_argument_has_a_help_text():
    import argparse

    from face_assets.cli import build_parser

    parser = build_parser()
    (verbs,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    missing = [
        f"{name} {action.dest}"
        for name, verb in verbs.choices.items()
        for action in verb._actions
        if not action.help and not isinstance(action, argparse._HelpAction)
    ]
    assert not missing
    assert all(verb.description for verb in verbs.choices.values())
    assert {"label", "db", "clusters"} <= set(verbs.choices)


def test_every_launchpad_field_has_a_description():
    """What the Launchpad shows beside each config field of every op and resource."""
    import inspect

    from dagster import Config, ConfigurableResource

    from face_assets.defs import resources
    from face_assets.defs.assets import faces, identities, projection

    classes = [
        cls
        for module in (faces, identities, projection, resources)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Config | ConfigurableResource)
        and cls.__module__.startswith("face_assets")
    ]
    assert len(classes) >= 7
    missing = [
        f"{cls.__name__}.{name}"
        for cls in classes
        for name, field in cls.model_fields.items()
        if not field.description
    ]
    assert not missing
