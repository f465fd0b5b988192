import json

import pytest

from licensing import services
from licensing.tests.factories import derive, license_for, model

pytestmark = pytest.mark.django_db


@pytest.fixture
def lineage(owner):
    secret = model("secret-gemma", "gemma-tou-2024-04-01", owner=owner, visibility="private")
    public = model("apollo", "apache-2.0", owner=owner)
    derive(public, secret)
    services.analyse_models(None)  # what the task queued by the writes does; reads never analyse
    return {"public": public, "private": model("private-model", "mit", owner=owner, visibility="private")}


def test_the_licence_list_filters_and_searches(client):
    for key in ("apache-2.0", "mit", "gemma-tou-2024-04-01"):
        license_for(key)

    everything = client.get("/licences/")
    agreements = client.get("/licences/", {"category": "proprietary"})
    search = client.get("/licences/", {"q": "MIT"})

    assert everything.status_code == 200
    assert b"Gemma Terms of Use" in agreements.content and b"Apache License" not in agreements.content
    assert b"MIT License" in search.content and b"Gemma" not in search.content


def test_the_licence_page_shows_terms_and_only_visible_models(client, lineage, stranger):
    client.force_login(stranger)

    response = client.get("/licences/gemma-tou-2024-04-01/")

    assert response.status_code == 200
    assert b"Licence agreement" in response.content
    assert b"secret-gemma" not in response.content
    assert client.get("/licences/no-such-licence/").status_code == 404


def test_the_model_page_shows_the_findings_without_naming_hidden_assets(client, lineage, stranger, owner):
    client.force_login(stranger)
    page = client.get(lineage["public"].get_absolute_url())

    assert page.status_code == 200
    assert b"Licence compliance" in page.content
    assert b"relicensed-derivative" in page.content
    assert b"secret-gemma" not in page.content
    assert b"a private upstream asset" in page.content
    client.force_login(owner)
    assert b"owner/secret-gemma" in client.get(lineage["public"].get_absolute_url()).content


def test_the_bom_downloads_from_the_model_page(client, lineage):
    response = client.get("/licences/models/owner/apollo/bom.cyclonedx.json")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="owner_apollo.cdx.json"'
    assert json.loads(response.content)["bomFormat"] == "CycloneDX"
    assert client.get("/licences/models/owner/apollo/bom.pdf.json").status_code == 404


def test_a_hidden_model_bom_is_404_for_a_stranger(client, lineage, stranger):
    client.force_login(stranger)
    assert client.get("/licences/models/owner/private-model/bom.spdx.json").status_code == 404
