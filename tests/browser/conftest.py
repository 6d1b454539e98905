"""Headless Chromium (Debian's, driven by Playwright) for browser tests.

Fixtures: ``browser`` (one Chromium per test module), ``page`` (a fresh context and page
per test, desktop size, that records console errors and every request it makes) and
``screenshot(page, name)`` (saves to ``test-artifacts/screenshots/NAME.png``). Browser
tests are ``@pytest.mark.slow`` and use pytest-django's ``live_server`` with
``@pytest.mark.django_db(transaction=True)``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("NEWSEVAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module.

    Playwright's sync API keeps an event loop running in this thread, and Django refuses
    ORM calls there unless DJANGO_ALLOW_ASYNC_UNSAFE is set; the ORM calls the tests make
    (setting up studies, checking stored answers) are ordinary synchronous ones. The
    variable is set only while the browser runs, so no later test or subprocess inherits it.
    """
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(20_000)  # a loaded 2-core machine
    pg = context.new_page()
    pg.console_errors = []  # type: ignore[attr-defined]
    pg.requested = []  # type: ignore[attr-defined]
    pg.on("console", lambda msg: msg.type == "error" and pg.console_errors.append(msg.text))
    pg.on("pageerror", lambda exc: pg.console_errors.append(str(exc)))
    pg.on("request", lambda req: pg.requested.append(req.url))
    yield pg
    context.close()


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(pg, name: str, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        pg.screenshot(path=str(path), full_page=full_page)
        return path

    return take
