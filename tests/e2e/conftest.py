"""Browser journeys: the real hub under uvicorn on a loopback port, driven by headless Chromium.

One browser per test session (starting Chromium is the slow part); each test gets a fresh hub
(its own database, seeded with the small city of ``tests/web/web_city.py``) and a fresh
browser context, so cookies never leak between journeys.  Chromium is Debian's
(``/usr/bin/chromium``, or ``BITGOEUL_E2E_CHROMIUM``): Playwright's own browser download is not
used.  Without it the journeys are skipped (``scripts/test`` says so; CI requires them).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bitgoeul.cli.server import make_server
from bitgoeul.config import Settings

# The journeys use the same small city as the page tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from web_city import build_small_city

from live_hub import serving

CHROMIUM = os.environ.get("BITGOEUL_E2E_CHROMIUM", "/usr/bin/chromium")
# Generous waits: the suite runs beside other test processes (pytest -n) on busy CI machines.
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt install it, or set BITGOEUL_E2E_CHROMIUM")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def hub_url(settings: Settings, tmp_path: Path) -> Iterator[str]:
    server = make_server(settings, host="127.0.0.1", port=0, log_level="warning", run_jobs=True)
    app = server.config.app
    build_small_city(app.state.sessionmaker, app.state.store, settings, tmp_path)
    with serving(server) as url:
        yield url


@pytest.fixture
def page(browser: Browser, hub_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=hub_url, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    """Keep a full-page screenshot for a person to look at, when ``BITGOEUL_E2E_SCREENSHOTS``
    names a folder (screenshots are never committed)."""
    folder = os.environ.get("BITGOEUL_E2E_SCREENSHOTS")

    def take(page: Page, name: str) -> None:
        if folder:
            page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)

    return take
