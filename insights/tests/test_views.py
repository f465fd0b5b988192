import csv
import io
import json

import pytest
from django.template import Context, RequestContext, Template
from django.test import RequestFactory
from django.urls import reverse

from insights import selectors

pytestmark = pytest.mark.django_db

PAGE = reverse("insights:page")


@pytest.mark.parametrize("role", ["admin_user", "curator"])
def test_the_page_renders_every_chart_for_admins_and_curators(client, catalogue, request, role):
    client.force_login(request.getfixturevalue(role))
    response = client.get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    data = json.loads(body.split('id="insights-data" type="application/json">')[1].split("</script>")[0])
    charted = {s.name for s in selectors.stats_for(request.getfixturevalue(role)) if s.chart != "table"}
    assert charted <= set(data)
    for name in charted:
        assert f'data-insights-stat="{name}"' in body
        assert data[name]["rows"], name
    assert "vendor/chartjs/chart.umd.min.js" in body and "insights/charts.js" in body
    assert "<script>" not in body  # no inline script: the CSP will forbid it
    assert "Users per affiliation" in body and "owner/m4" in body


def test_the_page_is_forbidden_to_other_users_and_asks_anonymous_visitors_to_log_in(client, catalogue, owner):
    response = client.get(PAGE)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(owner)
    assert client.get(PAGE).status_code == 403
    assert client.get(PAGE, {"format": "csv", "stat": "models_by_media"}).status_code == 403


def test_the_page_offers_each_table_as_csv(client, catalogue, admin_user):
    client.force_login(admin_user)
    response = client.get(PAGE, {"format": "csv", "stat": "models_by_family"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="insights-models_by_family.csv"' in response["Content-Disposition"]
    assert response.content.decode().splitlines() == [
        "family,count,share",
        "cnn,2,0.4",
        "transformer,2,0.4",
        "other,1,0.2",
    ]
    assert client.get(PAGE, {"format": "csv", "stat": "nope"}).status_code == 404


def test_the_csv_matches_the_json_for_every_statistic(client, catalogue, admin_user):
    client.force_login(admin_user)
    for stat in selectors.stats_for(admin_user):
        url = reverse("api:insights-stat", args=[stat.name])
        data = client.get(url).json()
        table = list(csv.reader(io.StringIO(client.get(url, {"format": "csv"}).content.decode())))
        assert table[0] == data["columns"], stat.name
        expected = [["" if row.get(c) is None else str(row.get(c)) for c in data["columns"]] for row in data["rows"]]
        assert table[1:] == expected, stat.name
        page_csv = client.get(PAGE, {"format": "csv", "stat": stat.name}).content.decode()
        assert list(csv.reader(io.StringIO(page_csv))) == table, stat.name


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(client, catalogue, admin_user):
    from accounts.models import Affiliation

    Affiliation.objects.create(name='=HYPERLINK("http://evil")')
    client.force_login(admin_user)
    body = client.get(PAGE, {"format": "csv", "stat": "users_per_affiliation"}).content.decode()
    assert "'=HYPERLINK" in body and "\n=HYPERLINK" not in body


def test_the_home_summary_counts_only_what_the_viewer_may_see(catalogue, anonymous, owner):
    public = selectors.home_summary(anonymous)
    assert public["counts"] == {"models": 4, "datasets": 2}
    assert selectors.home_summary(owner)["counts"] == {"models": 5, "datasets": 3}
    media = next(c for c in public["charts"] if c["name"] == "models_by_media")
    assert media["rows"] == [
        {"label": "Image", "value": 2},
        {"label": "Text", "value": 2},
        {"label": "No media type", "value": 1},
    ]


def test_the_home_summary_template_tag_renders_charts_and_tables(catalogue, anonymous):
    request = RequestFactory().get("/")
    request.user = anonymous
    html = Template("{% load insights %}{% insights_home_summary %}").render(RequestContext(request, {}))
    assert 'data-insights-stat="models_by_media"' in html and 'id="insights-summary-data"' in html
    assert "<strong>4</strong> models" in html and "all insights" not in html
    direct = Template('{% include "insights/_home_summary.html" %}').render(
        Context({"insights_summary": selectors.home_summary(anonymous), "user": anonymous})
    )
    assert 'data-insights-stat="dataset_domains"' in direct


def test_the_page_shows_human_labels_and_years_as_years(client, catalogue, admin_user):
    client.force_login(admin_user)
    body = client.get(PAGE).content.decode()
    family = body.split('id="stat-models_by_family"')[1].split("</article>")[0]
    assert ">CNN<" in family and ">cnn<" not in family
    media = body.split('id="stat-models_by_media"')[1].split("</article>")[0]
    assert ">No media type<" in media and ">none<" not in media
    years = body.split('id="stat-datasets_per_year"')[1].split("</article>")[0]
    assert ">2020<" in years and "2,020" not in years
    data = json.loads(body.split('id="insights-data" type="application/json">')[1].split("</script>")[0])
    assert data["models_by_family"]["labels"]["cnn"] == "CNN"
    assert data["models_released"]["series"] == {"count": "Count", "cumulative": "Cumulative"}
