"""The graph page in a real browser (Playwright + Debian's Chromium): it draws the embedded neighbourhood,
a click on a node on the canvas fetches and merges that node's neighbours, a private neighbour shows as an
unnamed node, and no request leaves the hub nor does the Content-Security-Policy raise an error."""

from __future__ import annotations

import pytest

from catalog.models import Visibility
from catalog.tests.browser import screenshot
from catalog.tests.factories import UserFactory
from licensing import services
from licensing.tests.factories import dataset, derive, model, train

pytestmark = pytest.mark.django_db(transaction=True)  # the live server answers from another thread


@pytest.fixture
def neighbourhood(db):
    alice = UserFactory(username="alice")
    base = model("base", "apache-2.0", owner=alice, downloads=100)
    tuned = model("tuned", "mit", owner=alice)
    derive(tuned, base)
    derive(model("secret-tune", "mit", owner=alice, visibility=Visibility.PRIVATE), base)
    corpus = dataset("corpus", "cc-by-nc-4.0", owner=alice)
    train(tuned, corpus)
    train(model("other", "cc-by-nc-4.0", owner=alice), corpus)
    services.analyse_model(tuned.pk)


def node_ids(page) -> set[str]:
    return set(page.evaluate("() => window.omhGraph.nodes().map(n => n.id())"))


def click_node(page, node_id: str) -> None:
    """A real mouse click on the node where Cytoscape drew it on the canvas."""
    x, y = page.evaluate(
        "id => { const p = window.omhGraph.getElementById(id).renderedPosition(); return [p.x, p.y]; }", node_id
    )
    box = page.locator("#graph").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_the_graph_draws_expands_on_click_and_stays_inside_the_hub(live_server, browser_page, neighbourhood):
    base, page = live_server.url, browser_page
    page.set_default_timeout(120_000)  # the live server shares two cores with the rest of the suite
    page.goto(f"{base}/graph/?asset=models/alice/tuned")
    page.locator("#graph[data-ready='1'] canvas").first.wait_for()
    assert node_ids(page) == {"models/alice/tuned", "models/alice/base", "datasets/alice/corpus", "licenses/mit"}
    violation = page.evaluate("() => window.omhGraph.edges('.violation').map(e => e.target().id())")
    assert violation == ["datasets/alice/corpus"]
    assert page.evaluate("() => window.omhGraph.getElementById('models/alice/tuned').hasClass('violation')")

    click_node(page, "datasets/alice/corpus")
    page.locator("#graph[data-expansions='1']").wait_for()
    assert {"models/alice/other", "licenses/cc-by-nc-4.0"} <= node_ids(page)
    assert page.locator("#graph-nodes a", has_text="alice/other").count() == 1

    click_node(page, "models/alice/base")
    page.locator("#graph[data-expansions='2']").wait_for()
    assert "private/models/alice/base" in node_ids(page)
    assert page.locator("#graph-nodes li.kind-private").inner_text().endswith("private asset")
    assert "secret" not in page.content()
    screenshot(page, "graph-expanded")

    graph_calls = [url for url in page.log.requests if "/api/v1/graph?" in url]
    assert len(graph_calls) == 2  # one per click: the first neighbourhood came with the page
    assert page.log.outside(base) == []
    assert page.log.errors == []
