"""The charts draw in a real browser (Debian's Chromium driven by Playwright) without console errors."""

import pytest


pytestmark = pytest.mark.django_db(transaction=True)  # live_server runs in another thread


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def drawn_charts(page) -> dict:
    """For each canvas: the number of data points Chart.js holds and whether pixels were painted."""
    return page.evaluate("""() => Object.fromEntries(
        Array.from(document.querySelectorAll('canvas[data-insights-stat]')).map(canvas => {
            const chart = Chart.getChart(canvas);
            const points = chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : 0;
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
            return [canvas.dataset.insightsStat, {points, painted, width: canvas.width}];
        }))""")


def test_the_insights_page_draws_every_chart_without_console_errors(
    live_server, browser_page, catalogue, admin_user, settings
):
    settings.DEBUG = False
    page = browser_page
    log_in(page, live_server, "admin", "admin-pass-123")
    page.goto(f"{live_server.url}/insights/")
    page.wait_for_function(
        "() => document.querySelectorAll('canvas[data-insights-stat]').length > 0 && "
        "Array.from(document.querySelectorAll('canvas[data-insights-stat]'))"
        ".every(c => window.Chart && Chart.getChart(c))"
    )
    page.wait_for_timeout(800)  # let the entry animation finish before reading pixels
    charts = drawn_charts(page)
    expected = {
        "models_by_media",
        "models_by_family",
        "models_by_training_type",
        "models_by_license_category",
        "models_media_task",
        "model_parameter_histogram",
        "models_per_month",
        "models_released",
        "most_downloaded_models",
        "lineage_relations",
        "lineage_deepest",
        "datasets_media_task",
        "dataset_size_histogram",
        "dataset_ethics",
        "dataset_domains",
        "datasets_per_year",
        "users_per_affiliation",
        "top_uploaders",
        "licenses",
    }
    assert set(charts) == expected
    for name, chart in charts.items():
        assert chart["points"] > 0 and chart["width"] > 0 and chart["painted"] > 500, (name, chart)
    assert charts["models_media_task"]["points"] == 4  # the four media x task cells of the fixture
    assert page.errors == []


def test_the_home_summary_charts_draw(live_server, browser_page, catalogue, settings):
    # The summary partial on a page of its own (the home page includes it too once wired).
    from insights.tests import summary_urls

    settings.ROOT_URLCONF = summary_urls.__name__
    page = browser_page
    page.goto(f"{live_server.url}/summary/")
    page.wait_for_function(
        "() => document.querySelectorAll('canvas[data-insights-stat]').length === 4 && "
        "Array.from(document.querySelectorAll('canvas[data-insights-stat]'))"
        ".every(c => window.Chart && Chart.getChart(c))"
    )
    assert all(c["points"] > 0 for c in drawn_charts(page).values())
    assert page.errors == []
