"""The Dagster UI, in Chromium, on a three-month library (issue 17): the monthly partitions
start at the library's first month, not at 2000-01, so the UI does not offer 300 empty months
to backfill. The webserver loads workspace.yaml as `make dev` does, with no start month set."""

from __future__ import annotations

import os
import sys
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from face_assets_tests.chromium import system_chromium
from face_assets_tests.conftest import REPO_ROOT
from face_assets_tests.deploy.processes import free_port, running, wait_until

BIN = Path(sys.executable).parent
UI_SECONDS = 240  # the webserver loads the code location (and the store) first


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def browser():
    with system_chromium() as launched:
        yield launched


def test_the_ui_lists_the_library_months_only(tmp_path, database_url, browser):
    from face_assets.library import month_of
    from face_assets.sample_library import SAMPLE_MONTHS, build_sample_library
    from face_assets.services import registration
    from face_assets.store import Store

    library = tmp_path / "library"
    build_sample_library(library)
    store = Store(database_url, tmp_path / "home")
    months = registration.scan_months(store, library, lambda moment: month_of(moment, "2000-01"))
    assert list(months) == list(SAMPLE_MONTHS)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "FACE_ASSETS_"))}
    env.update(
        DAGSTER_HOME=str(dagster_home),
        FACE_ASSETS_HOME=str(tmp_path / "home"),
        FACE_ASSETS_DATABASE_URL=database_url,
        FACE_ASSETS_LIBRARY=str(library),
        PYTHONWARNINGS="ignore",
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    webserver = [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)]
    webserver += ["-w", str(REPO_ROOT / "workspace.yaml")]
    log = tmp_path / "webserver.log"
    with running(webserver, env, log):
        wait_until(lambda: _up(url), UI_SECONDS, "the Dagster webserver", log)
        page = browser.new_page()
        page.set_default_timeout(UI_SECONDS * 1000)
        page.goto(f"{url}/assets/raw_images?view=partitions")
        newest = datetime.now().strftime("%Y-%m")
        page.get_by_text(newest, exact=True).first.wait_for()
        text = page.inner_text("body")
        expected = 12 * (int(newest[:4]) - 2024) + int(newest[5:]) - 1 + 1  # 2024-01..now
        assert f"{expected} partitions" in text.lower() or f"{expected} missing" in text.lower(), (
            text[:3000]
        )
        assert "2023-12" not in text and "2000-01" not in text
