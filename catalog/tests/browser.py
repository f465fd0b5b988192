"""Browser fixtures shared by every app's browser tests (registered in the root conftest.py).

Playwright drives Debian's Chromium (``/usr/bin/chromium``; ``make test`` installs it when it is
missing and apt is usable). Without it the browser tests skip with a message saying so. Each page
records its console errors (Content-Security-Policy violations included) and every request it
makes, so a test can assert that nothing left the hub.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# Playwright's sync API runs its own event loop; Django refuses ORM calls from inside one otherwise.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(
            f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (make test does this "
            "when apt is usable); the browser tests need it"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageLog:
    """What a page did: console errors and uncaught exceptions, and the URL of every request."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))

    def _console(self, message) -> None:
        if message.type == "error" and not (message.location or {}).get("url", "").endswith("favicon.ico"):
            self.errors.append(message.text)

    def outside(self, base_url: str) -> list[str]:
        """Requests to anywhere but ``base_url``'s host and port (data: and blob: URLs stay inside)."""
        hub = urlsplit(base_url).netloc
        return [url for url in self.requests if not url.startswith(("data:", "blob:")) and urlsplit(url).netloc != hub]


def new_page(browser, **options):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, **options)
    page = context.new_page()
    page.log = PageLog(page)
    page.errors = page.log.errors  # the insights tests' name for them
    page.requests = page.log.requests
    return page


@pytest.fixture
def browser_page(chromium):
    """A fresh page in a fresh context (its own cookies) that records console errors and requests."""
    page = new_page(chromium)
    yield page
    page.context.close()


@pytest.fixture
def second_browser_page(chromium):
    """Another user's page: a separate context, so separate cookies."""
    page = new_page(chromium)
    yield page
    page.context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG under test-artifacts/screenshots/ (kept after the run for a person to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
