"""The compliance verdict where people look: a badge in the model header and list rows, the problems
summarised at the top with their path through the lineage, ?violations= in the API and the pages."""

import pytest

from catalog.tests.factories import UserFactory
from licensing import services
from licensing.tests.factories import derive, model
from openmodelhub.testing import api


@pytest.fixture
def analysed(db):
    google = UserFactory(username="google")
    gemma = model("gemma-2-9b", "gemma-tou-2024-04-01", owner=google)
    apollo = model("Apollo2-9B", "apache-2.0", owner=UserFactory(username="FreedomIntelligence"))
    derive(apollo, gemma)
    base = model("base", "apache-2.0")
    tuned = model("tuned", "mit")
    derive(tuned, base)
    unanalysed = model("fresh", "mit")
    for m in (gemma, apollo, base, tuned):
        services.analyse_model(m.pk)
    return {"gemma": gemma, "apollo": apollo, "tuned": tuned, "fresh": unanalysed}


def test_a_violating_model_has_a_red_badge_and_its_problem_summarised_at_the_top(client, analysed):
    html = client.get(analysed["apollo"].get_absolute_url()).content.decode()
    header = html.split('<header class="asset-head">')[1].split("</header>")[0]
    assert '<span class="verdict verdict-violation"' in header and "1 licence violation" in header
    summary = html.split('class="compliance-summary')[1].split("</section>")[0]
    assert html.index('class="compliance-summary') < html.index('aria-label="Model card"')  # at the top
    assert "Licence problems found" in summary and "gemma-2-9b" in summary
    chain = summary.split('<ol class="chain"')[1].split("</ol>")[0]
    assert chain.index("FreedomIntelligence/Apollo2-9B") < chain.index("google/gemma-2-9b")
    assert 'href="/models/google/gemma-2-9b/"' in chain
    assert 'href="#licence-compliance"' in summary and 'id="licence-compliance"' in html


def test_ok_warning_and_unknown_verdicts_have_their_own_badges(client, analysed):
    tuned = client.get(analysed["tuned"].get_absolute_url()).content.decode()
    assert "verdict-ok" in tuned and "compliance-summary" not in tuned  # an obligation is not a problem
    fresh = client.get(analysed["fresh"].get_absolute_url()).content.decode()
    assert "verdict-unknown" in fresh and "Licence not analysed" in fresh
    rows = client.get("/models/").content.decode()
    for name, verdict in (("Apollo2-9B", "violation"), ("tuned", "ok"), ("fresh", "unknown")):
        row = rows.split(f">FreedomIntelligence/{name}<" if name == "Apollo2-9B" else f">maker/{name}<")[1]
        assert row.split("</li>")[0].count(f"verdict-{verdict}") == 1, name


def test_a_hidden_base_is_neither_named_nor_linked_in_the_chain(client, analysed, stranger):
    gemma = analysed["gemma"]
    type(gemma).objects.filter(pk=gemma.pk).update(visibility="private")
    client.force_login(stranger)
    html = client.get(analysed["apollo"].get_absolute_url()).content.decode()
    assert "gemma-2-9b" not in html and "/models/google/" not in html
    assert "a private upstream asset" in html


def test_the_violations_filter_gives_the_same_models_in_the_api_and_the_pages(client, analysed):
    for value, wanted in (("true", ["Apollo2-9B"]), ("1", ["Apollo2-9B"]), ("false", ["base", "gemma-2-9b", "tuned"])):
        from_api = sorted(m["name"] for m in api().get("/api/v1/models/", {"violations": value}).json()["results"])
        from_page = sorted(m.name for m in client.get("/models/", {"violations": value}).context["page"].rows)
        assert from_api == from_page == wanted, value
    assert api().get("/api/v1/models/", {"violations": "maybe"}).status_code == 400
    page = client.get("/models/", {"violations": "true"}).content.decode()
    assert 'name="violations" value="true" checked' in page
