import json

import pytest
from rest_framework.test import APIClient

from accounts import services as accounts_services
from licensing import services
from licensing.tests.factories import dataset, derive, license_for, model, train

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def lineage(owner):
    """A public Apache fine-tune of the owner's private Gemma model, trained on a public CC-BY-NC dataset."""
    secret = model("secret-gemma", "gemma-tou-2024-04-01", owner=owner, visibility="private")
    public = model("apollo", "apache-2.0", owner=owner)
    derive(public, secret)
    train(public, dataset("nc-data", "cc-by-nc-4.0", owner=owner))
    private = model("private-model", "mit", owner=owner, visibility="private")
    services.analyse_models(None)  # what the task queued by the writes does; reads never analyse
    return {"secret": secret, "public": public, "private": private}


def url(m, what: str) -> str:
    return f"/api/v1/models/{m.owner.username}/{m.name}/{what}"


def test_the_licence_list_filters_by_category_and_key(api):
    for key in ("apache-2.0", "mit", "gemma-tou-2024-04-01", "llama-3.1-license-2024"):
        license_for(key)

    by_category = api.get("/api/v1/licenses/", {"category": "proprietary"}).json()
    by_key = api.get("/api/v1/licenses/", {"key": "mit"}).json()

    assert {r["key"] for r in by_category["results"]} == {"gemma-tou-2024-04-01", "llama-3.1-license-2024"}
    assert all(r["is_agreement"] for r in by_category["results"])
    assert [r["key"] for r in by_key["results"]] == ["mit"]


def test_a_licence_is_read_by_its_key_and_is_read_only(api, owner):
    license_for("llama-3.1-license-2024")

    response = api.get("/api/v1/licenses/llama-3.1-license-2024/")
    api.force_authenticate(owner)

    assert response.status_code == 200
    assert response.json()["relicensing"] == "same"
    assert api.delete("/api/v1/licenses/llama-3.1-license-2024/").status_code == 405
    assert api.get("/api/v1/licenses/no-such-licence/").status_code == 404


def test_the_licence_list_rejects_an_unknown_category(api):
    assert api.get("/api/v1/licenses/", {"category": "nonsense"}).status_code == 400


def test_anonymous_visitors_see_findings_without_the_private_ancestor(api, lineage):
    response = api.get(url(lineage["public"], "compliance"))

    assert response.status_code == 200
    data = response.json()
    assert data["has_violations"] is True
    assert {"relicensed-derivative", "non-commercial-upstream"} <= {f["code"] for f in data["findings"]}
    assert "secret-gemma" not in json.dumps(data)
    assert "a private upstream asset" in json.dumps(data)


def test_a_stranger_does_not_see_the_private_ancestor_either(api, lineage, stranger):
    api.force_authenticate(stranger)

    data = api.get(url(lineage["public"], "compliance")).json()

    assert "secret-gemma" not in json.dumps(data)


def test_the_owner_and_an_admin_see_every_asset_on_the_path(api, lineage, owner, admin_user):
    for user in (owner, admin_user):
        api.force_authenticate(user)
        data = api.get(url(lineage["public"], "compliance")).json()
        relicensed = next(f for f in data["findings"] if f["code"] == "relicensed-derivative")
        assert relicensed["path"][-1] == {"kind": "model", "name": "owner/secret-gemma", "hidden": False}


def test_a_grantee_sees_what_is_shared_with_them(api, lineage, owner, grantee):
    accounts_services.grant_access(by=owner, asset=lineage["secret"], permission="read", user=grantee)
    api.force_authenticate(grantee)

    data = api.get(url(lineage["public"], "compliance")).json()

    assert "owner/secret-gemma" in json.dumps(data)


def test_a_hidden_model_answers_404_like_a_missing_one(api, lineage, stranger, owner):
    assert api.get(url(lineage["private"], "compliance")).status_code == 404
    assert api.get(url(lineage["private"], "bom")).status_code == 404
    api.force_authenticate(stranger)
    assert api.get(url(lineage["private"], "compliance")).status_code == 404
    assert api.get(url(lineage["private"], "bom")).status_code == 404
    assert api.get("/api/v1/models/owner/no-such-model/compliance").status_code == 404
    api.force_authenticate(owner)
    assert api.get(url(lineage["private"], "compliance")).status_code == 200


def test_the_purpose_parameter_answers_may_i_use_it(api, lineage):
    data = api.get(url(lineage["public"], "compliance"), {"purpose": "commercial"}).json()

    assert data["purpose"] == "commercial"
    assert data["answer"] == "no"
    assert list(data["verdicts"]) == ["commercial"]
    assert (
        "owner/nc-data is under CC-BY-NC-4.0, which does not allow commercial use."
        in data["verdicts"]["commercial"]["reasons"]
    )


def test_an_unknown_purpose_is_a_400_with_a_message(api, lineage):
    response = api.get(url(lineage["public"], "compliance"), {"purpose": "world-domination"})

    assert response.status_code == 400
    assert response.json() == {"purpose": ["Must be one of commercial, research, redistribution."]}


def test_the_bom_comes_in_both_formats(api, lineage):
    spdx = api.get(url(lineage["public"], "bom"), {"format": "spdx"})
    cyclonedx = api.get(url(lineage["public"], "bom"), {"format": "cyclonedx"})

    assert spdx.status_code == 200 and spdx["Content-Type"] == "application/spdx+json"
    assert json.loads(spdx.content)["@context"] == "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
    assert cyclonedx.status_code == 200
    assert json.loads(cyclonedx.content)["specVersion"] == "1.6"
    assert "secret-gemma" not in spdx.content.decode() + cyclonedx.content.decode()


def test_an_unknown_bom_format_is_a_400_with_a_message(api, lineage):
    response = api.get(url(lineage["public"], "bom"), {"format": "pdf"})

    assert response.status_code == 400
    assert response.json() == {"format": ["Must be one of spdx, cyclonedx."]}


def test_api_tokens_authenticate_the_compliance_endpoint(api, lineage, owner):
    _, secret = accounts_services.create_api_token(user=owner, name="ci", scope="read")

    response = api.get(url(lineage["private"], "compliance"), HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert response.status_code == 200
