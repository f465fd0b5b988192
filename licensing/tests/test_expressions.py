"""Licence expressions (issue 21, item 3): a declared ``A AND B`` / ``A OR B`` is stored parsed next to the
resolved licence, by every write, and the compliance analysis reads it with AND/OR semantics."""

import pytest
from rest_framework.test import APIClient

from catalog.models import Dataset, MLModel
from catalog.tests.factories import UserFactory
from licensing import services
from licensing.tests.factories import dataset, derive, license_for, model

pytestmark = pytest.mark.django_db

KEYS = ("apache-2.0", "mit", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-nd-4.0", "gpl-3.0")


@pytest.fixture(autouse=True)
def licences():
    return {key: license_for(key) for key in KEYS}


def declared(cls, name: str, text: str, **kwargs):
    """An asset declaring ``text``, stored as every door stores it (licence and expression)."""
    asset = (model if cls is MLModel else dataset)(name, declared=text, **kwargs)
    cls.objects.filter(pk=asset.pk).update(**services.license_fields(text))
    asset.refresh_from_db()
    return asset


def by_code(result, code: str) -> list[dict]:
    return [f for f in result.findings if f["code"] == code]


def test_an_and_expression_is_stored_parsed_next_to_the_most_restrictive_licence():
    resolution = services.resolve_declared("Apache-2.0 AND CC-BY-NC-ND-4.0")

    assert resolution.license.key == "cc-by-nc-nd-4.0"
    assert resolution.expression == "apache-2.0 AND cc-by-nc-nd-4.0"
    assert services.resolve_declared("MIT OR (Apache-2.0 AND GPL-3.0)").expression == "mit OR (apache-2.0 AND gpl-3.0)"
    assert services.resolve_declared("MIT").expression == ""  # a single licence keeps no expression
    assert services.resolve_declared("MIT AND Unheard-Of-1.0") == services.Resolution(None)  # flagged unknown


def test_the_api_stores_the_expression_and_clears_it_with_a_single_licence():
    owner = UserFactory(username="owner")
    client = APIClient()
    client.force_authenticate(owner)

    created = client.post(
        "/api/v1/models/", {"name": "combo", "license_declared": "Apache-2.0 AND CC-BY-NC-ND-4.0"}, format="json"
    )
    assert created.status_code == 201, created.content
    stored = MLModel.objects.get(name="combo")
    assert (stored.license.key, stored.license_expression) == ("cc-by-nc-nd-4.0", "apache-2.0 AND cc-by-nc-nd-4.0")

    changed = client.patch("/api/v1/models/owner/combo/", {"license_declared": "MIT"}, format="json")
    assert changed.status_code == 200, changed.content
    stored.refresh_from_db()
    assert (stored.license.key, stored.license_expression) == ("mit", "")


def test_under_and_every_upstream_term_binds():
    # Resolved alone, "CC-BY-SA-4.0 AND CC-BY-NC-4.0" is CC-BY-NC-4.0: the share-alike term would be lost.
    base = declared(MLModel, "base", "CC-BY-SA-4.0 AND CC-BY-NC-4.0")
    tuned = model("tuned", "mit")
    derive(tuned, base)

    result = services.analyse_model(tuned.pk)

    assert by_code(result, "copyleft-not-preserved"), result.findings
    assert "CC-BY-SA-4.0" in by_code(result, "copyleft-not-preserved")[0]["text"]
    assert "CC-BY-NC-4.0" in by_code(result, "non-commercial-upstream")[0]["text"]


def test_a_model_declaring_and_is_held_to_every_term():
    own = declared(MLModel, "combo", "Apache-2.0 AND CC-BY-NC-4.0")

    verdicts = services.analyse_model(own.pk).verdicts

    assert verdicts["commercial"]["answer"] == "no"
    assert any("CC-BY-NC-4.0" in r["text"] for r in verdicts["commercial"]["reasons"])


def test_under_or_upstream_the_choice_the_model_honours_is_taken_and_stated():
    # Resolved alone, the OR is CC-BY-SA-4.0 (the more permissive category), which a CC-BY-NC-4.0 model breaks.
    base = declared(MLModel, "base", "CC-BY-SA-4.0 OR CC-BY-NC-4.0")
    tuned = model("tuned", "cc-by-nc-4.0")
    derive(tuned, base)

    result = services.analyse_model(tuned.pk)

    assert not by_code(result, "copyleft-not-preserved"), result.findings
    (choice,) = by_code(result, "licence-choice")
    assert choice["severity"] == "info"
    assert "offered under CC-BY-SA-4.0 OR CC-BY-NC-4.0: the analysis takes CC-BY-NC-4.0" in choice["text"]


def test_under_or_each_purpose_gets_the_most_permissive_alternative_that_allows_it():
    own = declared(MLModel, "dual", "CC-BY-NC-4.0 OR GPL-3.0")

    verdicts = services.analyse_model(own.pk).verdicts

    assert verdicts["commercial"]["answer"] != "no"
    assert any("for commercial use the choice is GPL-3.0" in r["text"] for r in verdicts["commercial"]["reasons"])


def test_reresolution_stores_the_expression_too():
    owner = UserFactory(username="owner")
    asset = Dataset.objects.create(owner=owner, name="late", license_declared="MIT AND Late-Licence-1.0")
    late = license_for("apache-2.0")
    late.pk, late.key, late.spdx_id, late.name = None, "late-licence-1.0", "Late-Licence-1.0", "Late Licence"
    late.save()

    services.reresolve_assets()

    asset.refresh_from_db()
    assert asset.license_expression == "mit AND late-licence-1.0"
