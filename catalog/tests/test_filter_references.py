"""Asset references in filters, forms and serializers resolve through visible_to: for someone who may
not see it, a private asset's reference answers exactly like a reference to nothing (same status,
same body, same counts) on lists, pages and facets (issue 13, item 3)."""

import re
import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts import services as sharing
from catalog.models import Media, MediaType, ModelDataset, ModelLineage
from catalog.tests.factories import DatasetFactory, MLModelFactory, TaskFactory

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/models/", "/api/v1/models/facets", "/models/"]
PARAMS = ["base_model", "dataset"]


@pytest.fixture(autouse=True)
def media_types(db):
    MediaType.objects.bulk_create([MediaType(slug=slug) for slug in Media.values], ignore_conflicts=True)


@pytest.fixture
def hidden(owner, stranger, grantee):
    """A private model and a private dataset with public models derived from / trained on them."""
    task = TaskFactory(slug="text-generation")
    base = MLModelFactory(owner=owner, name="hidden-base", visibility="private")
    data = DatasetFactory(owner=owner, name="hidden-data", visibility="private")
    for name in ("child-a", "child-b"):
        child = MLModelFactory(owner=stranger, name=name, architecture_family="transformer")
        child.tasks.set([task])
        child.media.set(["text"])
        ModelLineage.objects.create(model=child, base=base, relation="fine_tune")
        ModelDataset.objects.create(model=child, dataset=data, role="trained_on")
    MLModelFactory(owner=stranger, name="unrelated")
    sharing.grant_access(by=owner, asset=base, permission="read", user=grantee)
    sharing.grant_access(by=owner, asset=data, permission="read", user=grantee)
    return {"base_model": base, "dataset": data}


def references(asset) -> list[tuple[str, str]]:
    """(a reference to the hidden asset, one to nothing) by owner/name and by id."""
    return [(asset.full_name, f"{asset.owner.username}/no-such-thing"), (str(asset.pk), "987654321")]


def normalised(response, param: str, ref: str) -> tuple[int, str]:
    """Status and body, with the echo of the caller's own input (links, the form, a quoted
    reference in a message) blanked."""
    text = response.content.decode()
    text = re.sub(rf'({param}(?:=|%3D|%253D))(?:(?!%26|%2526)[^&"\s])*', r"\1REF", text)
    text = re.sub(rf'name="(?:\w+-)?{param}" value="[^"]*"', "INPUT", text)
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)
    return response.status_code, text.replace(f"'{ref}'", "REF").replace(f"&#x27;{ref}&#x27;", "REF")


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
def test_a_hidden_reference_in_a_list_page_or_facet_filter_answers_like_a_missing_one(request, hidden, grantee, who):
    viewer = None if who == "anonymous" else request.getfixturevalue(who)
    for param, asset in hidden.items():
        for hidden_ref, missing_ref in references(asset):
            for url in LISTS:
                # someone who may see the asset fills any shared cache first: it must not answer the others
                seen = client_for(grantee).get(url, {param: hidden_ref})
                shown = "child-a" if "facets" not in url else '"total":2'
                assert seen.status_code == 200 and shown in seen.content.decode(), (url, param)
                hidden_answer = client_for(viewer).get(url, {param: hidden_ref})
                missing_answer = client_for(viewer).get(url, {param: missing_ref})
                assert normalised(hidden_answer, param, hidden_ref) == normalised(missing_answer, param, missing_ref), (
                    url,
                    param,
                    hidden_ref,
                )
                assert shown not in hidden_answer.content.decode(), (url, param, hidden_ref)


def test_facet_counts_for_a_hidden_reference_are_those_of_a_missing_one(hidden, stranger, grantee):
    for param, asset in hidden.items():
        for hidden_ref, missing_ref in references(asset):
            seen = APIClient()
            seen.force_authenticate(grantee)
            assert seen.get("/api/v1/models/facets", {param: hidden_ref}).json()["total"] == 2
            for user in (None, stranger):
                client = APIClient()
                client.force_authenticate(user)
                hidden_counts = client.get("/api/v1/models/facets", {param: hidden_ref}).json()
                assert hidden_counts == client.get("/api/v1/models/facets", {param: missing_ref}).json()
                assert hidden_counts["total"] == 0 and hidden_counts["facets"]["task"] == []


def test_a_hidden_base_or_dataset_is_refused_like_a_missing_one_by_the_api_and_the_edit_page(hidden, stranger):
    api = APIClient()
    api.force_authenticate(stranger)
    page = client_for(stranger)
    for param, asset in hidden.items():
        for hidden_ref, missing_ref in references(asset):
            path, field = ("lineage", "base") if param == "base_model" else ("datasets", "dataset")
            body = {field: hidden_ref, "relation": "fine_tune", "role": "trained_on"}
            url = f"/api/v1/models/stranger/unrelated/{path}/"
            hidden_answer = api.post(url, body, format="json")
            missing_answer = api.post(url, {**body, field: missing_ref}, format="json")
            assert hidden_answer.status_code == 400
            assert normalised(hidden_answer, field, hidden_ref) == normalised(missing_answer, field, missing_ref)
            if not hidden_ref.isdigit():  # the page's form takes owner/name
                action = "add-base" if field == "base" else "link-dataset"
                prefix = "base" if field == "base" else "link"
                post = {
                    "action": action,
                    f"{prefix}-{field}": hidden_ref,
                    f"{prefix}-relation": "fine_tune",
                    f"{prefix}-role": "trained_on",
                }
                hidden_page = page.post("/models/stranger/unrelated/edit/", post)
                missing_page = page.post("/models/stranger/unrelated/edit/", {**post, f"{prefix}-{field}": missing_ref})
                assert hidden_page.status_code == 400
                assert normalised(hidden_page, field, hidden_ref) == normalised(missing_page, field, missing_ref)
    assert not ModelLineage.objects.filter(model__name="unrelated").exists()
    assert not ModelDataset.objects.filter(model__name="unrelated").exists()


@pytest.mark.parametrize(
    "value",
    ["9" * 5000, "²", " 12 ", "owner/", "/"],
    ids=["5000-digits", "superscript-two", "spaced-id", "no-name", "slash"],
)
def test_odd_references_are_answered_not_a_server_error(hidden, value):
    for param in PARAMS:
        assert APIClient().get("/api/v1/models/", {param: value}).status_code == 200
        assert Client().get("/models/", {param: value}).status_code == 200
