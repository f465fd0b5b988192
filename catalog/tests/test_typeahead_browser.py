"""The header search box's type-ahead in a real browser (Playwright + Debian's Chromium): suggestions as
you type, ArrowDown/ArrowUp/Enter to open one, Escape to close, Enter without a choice searches; nothing
is loaded from outside the hub and the Content-Security-Policy raises no error (static/js/typeahead.js)."""

from __future__ import annotations

import pytest

from catalog.models import Visibility
from catalog.tests.browser import screenshot
from catalog.tests.factories import DatasetFactory, MLModelFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the live server answers from another thread


@pytest.fixture
def catalogue(db):
    google, lab = UserFactory(username="google"), UserFactory(username="lab")
    MLModelFactory(owner=google, name="bert-base-uncased", downloads=50)
    MLModelFactory(owner=google, name="bert-large-cased", downloads=10)
    MLModelFactory(owner=lab, name="bert-secret", visibility=Visibility.PRIVATE)
    DatasetFactory(owner=lab, name="bert-pretraining-corpus")


def test_type_ahead_suggests_and_opens_with_the_keyboard(live_server, browser_page, catalogue):
    base, page = live_server.url, browser_page
    page.set_default_timeout(120_000)  # the live server shares two cores with the rest of the suite
    page.goto(f"{base}/")
    box = page.locator("#top-q")
    box.press_sequentially("bert", delay=30)
    options = page.locator("#top-q-list [role=option]")
    options.first.wait_for()
    assert options.all_inner_texts() == [
        "google/bert-base-uncased",
        "google/bert-large-cased",
        "lab/bert-pretraining-corpus",
    ]
    assert box.get_attribute("aria-expanded") == "true"
    screenshot(page, "search-type-ahead")
    box.press("ArrowDown")
    box.press("ArrowDown")
    box.press("ArrowUp")
    assert page.locator("#top-q-list [aria-selected=true]").inner_text() == "google/bert-base-uncased"
    assert box.get_attribute("aria-activedescendant") == "top-q-option-0"
    box.press("Enter")
    page.wait_for_url(f"{base}/models/google/bert-base-uncased/")

    page.goto(f"{base}/")
    box = page.locator("#top-q")
    box.press_sequentially("bert-l", delay=30)
    page.locator("#top-q-list [role=option]").first.wait_for()
    box.press("Escape")
    assert page.locator("#top-q-list").is_hidden() and box.get_attribute("aria-expanded") == "false"
    box.press("Enter")  # no suggestion chosen: the search page
    page.wait_for_url(f"{base}/search/?q=bert-l")
    assert "google/bert-large-cased" in page.locator("main").inner_text()
    assert page.log.errors == [] and page.log.outside(base) == []
