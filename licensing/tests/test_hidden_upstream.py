"""A private upstream asset in a public model's compliance report and BOM, as a stranger sees them:
that it exists and the known licence that binds the model, never its name, database id or declared text."""

import json
import re

import pytest
from rest_framework.test import APIClient

from licensing import bom, services
from licensing.tests.factories import dataset, derive, model, train
from licensing.tests.test_bom import validate_cyclonedx, validate_spdx

pytestmark = pytest.mark.django_db

SECRET_TEXT = "Acme internal licence, contract 4711"


@pytest.fixture
def family(owner):
    parent = model("secret-parent", owner=owner, visibility="private", declared=SECRET_TEXT)
    gemma = model("secret-gemma", "gemma-tou-2024-04-01", owner=owner, visibility="private")
    data = dataset("secret-data", owner=owner, visibility="private", declared=SECRET_TEXT + " (data)")
    child = model("public-child", "apache-2.0", owner=owner)
    derive(child, parent)
    derive(child, gemma, "merge")
    train(child, data)
    services.analyse_models(None)  # what the task queued by the writes does; reads never analyse
    return {"child": child, "hidden": [parent, gemma], "data": data}


def assert_nothing_private(text: str, family) -> None:
    assert SECRET_TEXT not in text and "contract" not in text.lower()
    assert "secret" not in text
    for hidden in [*family["hidden"], family["data"]]:
        kind = "model" if hidden in family["hidden"] else "dataset"
        assert not re.search(rf"(?<!hidden-)\b{kind}[-:]{hidden.pk}\b", text), f"{kind} id {hidden.pk} appears"


def test_the_compliance_report_of_a_public_child_shows_no_private_metadata(family, stranger):
    api = APIClient()
    api.force_authenticate(stranger)

    data = api.get("/api/v1/models/owner/public-child/compliance").json()

    text = json.dumps(data)
    assert_nothing_private(text, family)
    unknown = [f for f in data["findings"] if f["code"] == "unknown-license"]
    assert unknown and all(
        f["path"][-1] == {"kind": f["path"][-1]["kind"], "name": "a private upstream asset", "hidden": True}
        for f in unknown
    )
    assert any("declares a licence, which matches no licence" in f["explanation"] for f in unknown)
    assert "Gemma Terms of Use" in text  # the known licence that binds the model is still named


def test_the_model_page_shows_no_private_metadata_of_a_hidden_upstream(family, stranger, client):
    client.force_login(stranger)

    page = client.get("/models/owner/public-child/").content.decode()

    assert "a private upstream asset" in page
    assert_nothing_private(page, family)


def test_the_owner_still_reads_the_declared_text(family, owner):
    api = APIClient()
    api.force_authenticate(owner)

    text = json.dumps(api.get("/api/v1/models/owner/public-child/compliance").json())

    assert SECRET_TEXT in text and "owner/secret-parent" in text


@pytest.mark.parametrize("fmt", bom.FORMATS)
def test_the_bom_of_a_public_child_shows_no_private_metadata(family, stranger, fmt):
    document = bom.export(family["child"], fmt, viewer=stranger)

    (validate_spdx if fmt == "spdx" else validate_cyclonedx)(document)
    text = json.dumps(document)
    assert_nothing_private(text, family)
    assert "hidden-model-1" in text and "hidden-model-2" in text and "hidden-dataset-1" in text
    assert bom.WITHHELD_LICENSE in text
    assert "Gemma Terms of Use" in text  # the known licence that binds the model


def test_the_bom_api_shows_no_private_metadata_either(family, stranger):
    api = APIClient()
    api.force_authenticate(stranger)

    for fmt in bom.FORMATS:
        response = api.get(f"/api/v1/models/owner/public-child/bom?format={fmt}")
        assert response.status_code == 200
        assert_nothing_private(response.content.decode(), family)
