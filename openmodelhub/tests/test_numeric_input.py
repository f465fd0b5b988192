"""Ids and numbers from user input are ASCII digits or nothing (openmodelhub.params): "²" (isdigit() is
true, int() fails) is a 404 or a 400, never a 500, and "١٢" (int() reads 12) names nothing."""

import pytest
from rest_framework.test import APIClient

from accounts import services as sharing
from accounts.models import ApiToken, Grant
from catalog import files, services
from catalog.models import ModelDataset, ModelLineage
from catalog.tests.factories import DatasetFactory, MLModelFactory
from openmodelhub.params import ascii_int

pytestmark = pytest.mark.django_db

ARABIC_INDIC = {ord("0") + i: chr(0x660 + i) for i in range(10)}


def crafted_ids(pk: int) -> list[str]:
    """Values that str.isdigit() or int() accept although they are no ASCII id; the last reads as ``pk``."""
    return ["²", "¹²", "x", "", " 1", "+1", "1_0", "9" * 30, str(pk).translate(ARABIC_INDIC)]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("12", 12),
        ("0", 0),
        ("9" * 18, int("9" * 18)),
        ("9" * 19, None),
        ("²", None),
        ("١٢", None),
        (" 12", None),
        ("+12", None),
        ("1_2", None),
        ("", None),
        (None, None),
        (12, None),
    ],
)
def test_only_ascii_digits_read_as_a_number(value, expected):
    assert ascii_int(value) == expected


@pytest.fixture
def edited_model(owner):
    model = MLModelFactory(owner=owner, name="edited")
    services.add_base_model(user=owner, model=model, base=MLModelFactory(owner=owner), relation="fine_tune")
    services.link_dataset(user=owner, model=model, dataset=DatasetFactory(owner=owner), role="trained_on")
    return model


@pytest.mark.parametrize("action, links", [("remove-base", ModelLineage), ("unlink-dataset", ModelDataset)])
def test_removing_a_lineage_link_with_a_crafted_id_is_a_404_and_removes_nothing(
    client, owner, edited_model, action, links
):
    client.force_login(owner)
    link = links.objects.get(model=edited_model)
    for value in crafted_ids(link.pk):
        response = client.post("/models/owner/edited/edit/", {"action": action, "id": value})
        assert response.status_code == 404, value
    assert links.objects.filter(pk=link.pk).exists()


def test_revoking_a_grant_an_invitation_or_a_token_with_a_crafted_id_is_a_404(client, owner, grantee):
    model = MLModelFactory(owner=owner, name="shared", visibility="private")
    grant = sharing.grant_access(by=owner, asset=model, permission="read", user=grantee)
    invitation, _ = sharing.invite(by=owner, asset=model, permission="read", email="x@example.org")
    token, _ = sharing.create_api_token(user=owner, name="ci", scope="read")
    client.force_login(owner)
    for action, pk in (("revoke-grant", grant.pk), ("revoke-invitation", invitation.pk)):
        for value in crafted_ids(pk):
            response = client.post("/accounts/share/models/owner/shared/", {"action": action, "id": value})
            assert response.status_code == 404, (action, value)
    for value in crafted_ids(token.pk):
        assert client.post("/accounts/tokens/", {"action": "revoke", "id": value}).status_code == 404, value
    assert Grant.objects.get(pk=grant.pk).revoked_at is None
    invitation.refresh_from_db()
    assert invitation.revoked_at is None and ApiToken.objects.get(pk=token.pk).revoked_at is None


@pytest.mark.parametrize("code", ["²", "١", "1_0", " 1"])
def test_the_agent_api_refuses_an_entity_type_that_is_no_ascii_code(owner, code):
    api = APIClient()
    api.force_authenticate(owner)
    response = api.post("/api/v1/agent/query", {"question": "Which models?", "entity_type": code}, format="json")
    assert response.status_code == 400 and "entity_type" in response.json()


@pytest.mark.parametrize(
    "header", ["bytes=-١٠", "bytes=١٠-", "bytes=10-١٩", "bytes=+10-19", "bytes=1_0-19", "bytes=²-"]
)
def test_a_range_with_other_than_ascii_digits_sends_the_whole_file(header):
    assert files.parse_range(header, 100) == (0, 100, False)
