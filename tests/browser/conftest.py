"""The browser fixtures every page test shares (test_pages.py, test_guests.py): one headless
Chromium for the session, and a page in a browser context of its own per call of new_page."""
import os

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The browser's own zone, far from the test venues': the page must show the venue's wall clock.
BROWSER_TZ = "America/Los_Angeles"


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture
def new_page(browser):
    """new_page(**context options): a page in a browser context of its own (its own storage,
    like a separate person). Uncaught script errors and Content-Security-Policy refusals fail
    the test."""
    contexts, problems = [], []

    def make(**opts):
        opts.setdefault("viewport", {"width": 1280, "height": 900})
        opts.setdefault("timezone_id", BROWSER_TZ)
        ctx = browser.new_context(**opts)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
        page.on("console", lambda m: problems.append(f"console: {m.text}")
                if "Content Security Policy" in m.text or "Refused to" in m.text else None)
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert not problems, problems
