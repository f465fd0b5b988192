"""In Chromium: a model with a licence violation shows it at a glance (the badge in its header and in
its list row, the summary with the lineage chain at the top), the answers keep their words whole, a
like is a real CSRF-checked form, and the sort menu and the facets read as words.

Screenshots go to docs/screenshots/ (README shows them) as well as test-artifacts/screenshots/."""

import shutil
from pathlib import Path

import pytest

from catalog.models import Media, MediaType, MLModel, Task
from catalog.tests.browser import log_in, screenshot
from catalog.tests.factories import UserFactory
from licensing import services
from licensing.tests.factories import derive, model

pytestmark = pytest.mark.django_db(transaction=True)  # the live server answers from another thread

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "Correct-horse-battery-42"


@pytest.fixture
def violating(db):
    MediaType.objects.bulk_create([MediaType(slug=slug) for slug in Media.values], ignore_conflicts=True)
    text_gen, _ = Task.objects.get_or_create(slug="text-generation", defaults={"name": "Text generation"})
    gemma = model("gemma-2-9b", "gemma-tou-2024-04-01", owner=UserFactory(username="google"), downloads=120_000)
    apollo = model(
        "Apollo2-9B",
        "apache-2.0",
        owner=UserFactory(username="FreedomIntelligence"),
        architecture_family="transformer",
        architecture_name="Gemma2ForCausalLM",
        parameter_count=9_241_705_984,
        downloads=3_400,
        card="# Apollo2-9B\n\nA medical fine-tune of Gemma 2 9B. Paper: https://arxiv.org/abs/2409.07314",
    )
    derive(apollo, gemma)
    clean = model("tuned", "mit", owner=UserFactory(username="lab"))
    derive(clean, model("base", "apache-2.0", owner=clean.owner))
    for m in MLModel.objects.all():
        m.tasks.set([text_gen])
        services.analyse_model(m.pk)
    reader = UserFactory(username="reader")
    reader.set_password(PASSWORD)
    reader.save()
    return apollo


def keep(page, name: str) -> None:
    path = screenshot(page, name)
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS_SCREENSHOTS / f"{name}.png")


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def test_a_violating_model_shows_its_verdict_at_a_glance(live_server, browser_page, violating):
    page, base = browser_page, live_server.url
    log_in(page, base, "reader", PASSWORD)
    page.goto(f"{base}{violating.get_absolute_url()}")
    badge = page.locator(".asset-head .verdict")
    expect(badge).to_have_text("1 licence violation")
    assert badge.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(253, 226, 226)"  # red, not grey
    summary = page.locator(".compliance-summary")
    expect(summary).to_be_visible()
    assert summary.bounding_box()["y"] < page.locator("article.card-body").bounding_box()["y"]  # above the card
    nodes = summary.locator(".chain-node a")
    expect(nodes).to_have_text(["FreedomIntelligence/Apollo2-9B", "google/gemma-2-9b"])
    first, second = (nodes.nth(i).bounding_box() for i in range(2))
    assert second["x"] > first["x"] + first["width"]  # drawn left to right as a chain
    expect(page.locator(".card-body a[href='https://arxiv.org/abs/2409.07314']")).to_have_attribute(
        "rel", "noopener noreferrer nofollow"
    )
    # every answer on one line: no word broken in the middle
    for cell in page.locator(".verdicts .answer-cell strong").all():
        box = cell.evaluate("e => [e.getClientRects().length, e.scrollWidth <= e.parentElement.clientWidth]")
        assert box == [1, True]
    keep(page, "model-verdict")

    page.click(".like-form button")
    page.wait_for_load_state("networkidle")
    expect(page.locator(".like-form button")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".like-count")).to_have_text("1")
    assert MLModel.objects.get(pk=violating.pk).likes == 1
    assert page.log.errors == [] and page.log.outside(base) == []


def test_the_list_shows_badges_human_sort_labels_and_the_violations_filter(live_server, browser_page, violating):
    page, base = browser_page, live_server.url
    page.goto(f"{base}/models/")
    row = page.locator(".assets li", has_text="Apollo2-9B")
    expect(row.locator(".verdict")).to_have_class("verdict verdict-violation")
    expect(page.locator(".assets li", has_text="lab/tuned").locator(".verdict")).to_have_text("Licence OK")
    options = page.locator("#id_sort option").all_inner_texts()
    assert "Most downloaded" in options and "Least downloaded" in options and "-downloads" not in options
    page.select_option("#id_sort", "-downloads")  # the form submits itself
    page.wait_for_url("**sort=-downloads**")
    names = page.locator(".assets .asset-name").all_inner_texts()
    assert names.index("lab/tuned") < names.index("FreedomIntelligence/Apollo2-9B") < names.index("google/gemma-2-9b")
    keep(page, "model-list-verdicts")
    page.check("input[name=violations]")
    page.wait_for_url("**violations=true**")
    expect(page.locator(".assets .asset-name")).to_have_text(["FreedomIntelligence/Apollo2-9B"])
    assert page.log.errors == []
