"""The sections an asset page loads after it is shown (static/js/hub.js: "Datasets suited to this model",
"Models for this dataset") arrive in a real browser, from the hub only, with no CSP or script error."""

from __future__ import annotations

import pytest

from catalog.tests.factories import TaskFactory, UserFactory
from licensing.tests.factories import dataset, model

pytestmark = pytest.mark.django_db(transaction=True)  # the live server answers from another thread


def test_the_asset_pages_load_their_costly_sections(live_server, browser_page):
    alice = UserFactory(username="alice")
    vit = model("vit", "apache-2.0", owner=alice)  # tasks, no media: datasets are still found by task
    photos = dataset("photos", "apache-2.0", owner=alice)
    task = TaskFactory(slug="image-classification")
    vit.tasks.set([task])
    photos.tasks.set([task])
    base, page = live_server.url, browser_page
    page.set_default_timeout(120_000)  # the live server shares two cores with the rest of the suite

    page.goto(f"{base}/models/alice/vit/")
    suited = page.locator("section.suited:not([data-lazy-section])")
    suited.locator("a", has_text="alice/photos").wait_for()  # the section the hub rendered replaced the link
    page.goto(f"{base}/datasets/alice/photos/")
    page.locator("section.recommendations:not([data-lazy-section]) a", has_text="alice/vit").wait_for()

    loaded = [url for url in page.log.requests if "partial=1" in url]
    assert len(loaded) == 2
    assert page.log.outside(base) == []
    assert page.log.errors == []
