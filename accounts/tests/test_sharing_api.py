"""Grants and invitations: permission defaults to read everywhere (issue 14, item 3); accepting an
invitation leaves one grant at the higher permission, API invitations are mailed like the page's and
accepted through the API (issue 14, item 4)."""

import pytest
from django.db import IntegrityError, transaction

from accounts import services
from accounts.models import Grant, Invitation
from catalog.tests.factories import DatasetFactory, MLModelFactory
from openmodelhub.testing import api

pytestmark = pytest.mark.django_db

FACTORIES = {"models": MLModelFactory, "datasets": DatasetFactory}


@pytest.fixture(params=list(FACTORIES))
def kind(request) -> str:
    return request.param


@pytest.fixture
def asset(kind, owner):
    return FACTORIES[kind](owner=owner, name="secret", visibility="private")


def active_grants(asset, user) -> list[str]:
    return list(Grant.objects.active().for_asset(asset).filter(user=user).values_list("permission", flat=True))


def test_a_grant_or_invitation_without_permission_is_read_access_not_a_server_error(kind, asset, owner, grantee):
    base = f"/api/v1/{kind}/owner/secret"
    response = api(owner).post(f"{base}/grants/", {"user": "grantee"}, format="json")
    assert response.status_code == 201 and response.json()["permission"] == "read"
    assert active_grants(asset, grantee) == ["read"]
    response = api(owner).post(f"{base}/invitations/", {"email": "x@example.org"}, format="json")
    assert response.status_code == 201 and response.json()["permission"] == "read"
    bad = api(owner).post(f"{base}/grants/", {"user": "grantee", "permission": "admin"}, format="json")
    assert bad.status_code == 400 and "permission" in bad.json()


@pytest.mark.parametrize(
    "held, offered, result",
    [
        ("write", "read", "write"),
        ("manage", "write", "manage"),
        ("read", "read", "read"),
        ("read", "write", "write"),
        ("write", "manage", "manage"),
    ],
)
def test_accepting_an_invitation_leaves_one_grant_at_the_higher_permission(
    client, kind, asset, owner, grantee, held, offered, result
):
    services.grant_access(by=owner, asset=asset, permission=held, user=grantee)
    invitation, token = services.invite(by=owner, asset=asset, permission=offered, invited_user=grantee)
    grant = services.accept_invitation(user=grantee, token=token)
    assert grant.permission == result and active_grants(asset, grantee) == [result]
    assert Grant.objects.for_asset(asset).filter(user=grantee, revoked_at__isnull=True).count() == 1
    client.force_login(grantee)
    assert client.get("/accounts/shared-with-me/").content.decode().count(f'href="{asset.get_absolute_url()}"') == 1
    services.revoke_invitation(by=owner, invitation=invitation)
    # the invitation's own grant ends with it; a higher grant held before stays
    assert active_grants(asset, grantee) == ([] if offered == result and held != offered else [held])


def test_the_database_holds_one_unrevoked_grant_per_grantee_and_asset(asset, owner, grantee):
    services.grant_access(by=owner, asset=asset, permission="read", user=grantee)
    field = "model" if asset._meta.model_name == "mlmodel" else "dataset"
    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.create(**{field: asset}, user=grantee, permission="write", created_by=owner)


def test_an_api_invitation_is_mailed_and_accepted_through_the_api(kind, asset, owner, grantee, stranger, mailoutbox):
    response = api(owner).post(
        f"/api/v1/{kind}/owner/secret/invitations/",
        {"email": "Grantee@example.org", "permission": "write"},
        format="json",
    )
    assert response.status_code == 201
    token = response.json()["token"]
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["grantee@example.org"]
    assert f"/accounts/invitations/{token}/" in mailoutbox[0].body and "owner shared" in mailoutbox[0].subject
    assert api().post("/api/v1/invitations/accept/", {"token": token}, format="json").status_code in (401, 403)
    refused = api(stranger).post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert refused.status_code == 400 and "another e-mail" in refused.json()["token"][0]
    forged = api(grantee).post("/api/v1/invitations/accept/", {"token": "forged"}, format="json")
    assert forged.status_code == 400 and "does not exist" in forged.json()["token"][0]
    assert api(grantee).post("/api/v1/invitations/accept/", {}, format="json").status_code == 400
    accepted = api(grantee).post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["asset"] == {"kind": kind[:-1], "id": asset.pk, "owner": "owner", "name": "secret"}
    assert accepted.json()["permission"] == "write" and active_grants(asset, grantee) == ["write"]
    assert api(grantee).get(f"/api/v1/{kind}/owner/secret/").status_code == 200
    again = api(grantee).post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert again.status_code == 400 and "accepted" in again.json()["token"][0]
    assert Invitation.objects.get().accepted_by == grantee


def test_page_and_api_invitations_send_the_same_mail(client, asset, kind, owner, mailoutbox):
    client.force_login(owner)
    client.post(
        f"/accounts/share/{kind}/owner/secret/",
        {"action": "invite", "invite-recipient": "a@example.org", "invite-permission": "read", "invite-days": 14},
    )
    api(owner).post(f"/api/v1/{kind}/owner/secret/invitations/", {"email": "a@example.org"}, format="json")
    page, by_api = mailoutbox
    assert page.subject == by_api.subject and page.to == by_api.to
    strip = [line for line in page.body.splitlines() if "invitations" not in line and "token" not in line]
    assert strip == [line for line in by_api.body.splitlines() if "invitations" not in line and "token" not in line]
