"""The system Chromium driven by playwright, for the tests that use a real browser."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")  # Debian's is `chromium`


@contextlib.contextmanager
def system_chromium() -> Iterator:
    """A launched system Chromium (playwright cannot download browsers here); the test is
    skipped, saying why, where none is installed."""
    path = next((shutil.which(n) for n in CHROMIUM_NAMES if shutil.which(n)), None)
    if path is None:
        pytest.skip(
            "no Chromium: `make test` installs Debian's chromium where apt-get runs as root"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()
