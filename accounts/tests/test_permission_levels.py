"""Permission levels (accounts.models.Permission): a write grant edits metadata and files; changing the
visibility, deleting and sharing need manage, which owners, admins, curators and manage grantees hold.
The same rule through the querysets, the services, the API and the pages (issue 13, item 2)."""

import pytest
from django.core.exceptions import PermissionDenied

from accounts import services as sharing
from accounts.models import AuditEvent, Permission
from catalog import services
from catalog.models import Dataset, Media, MediaType, MLModel
from catalog.tests.factories import DatasetFactory, MLModelFactory
from catalog.tests.test_pages import dataset_post, model_post
from openmodelhub.testing import api

pytestmark = pytest.mark.django_db

KINDS = {"models": (MLModel, MLModelFactory), "datasets": (Dataset, DatasetFactory)}


@pytest.fixture(autouse=True)
def media_types(db):
    MediaType.objects.bulk_create([MediaType(slug=slug) for slug in Media.values], ignore_conflicts=True)


@pytest.fixture(params=list(KINDS))
def kind(request) -> str:
    return request.param


@pytest.fixture
def asset(kind, owner):
    return KINDS[kind][1](owner=owner, name="secret", visibility="private")


@pytest.fixture
def writer(asset, owner, grantee):
    sharing.grant_access(by=owner, asset=asset, permission="write", user=grantee)
    return grantee


def test_each_level_includes_the_ones_before_it():
    assert Permission.values == ["read", "write", "manage"]
    assert Permission.at_least("read") == ["read", "write", "manage"]
    assert Permission.at_least("write") == ["write", "manage"]
    assert Permission.highest("write", "read") == "write" and Permission.highest("read", "manage") == "manage"


def test_the_querysets_give_each_role_its_level(
    kind, asset, owner, grantee, stranger, anonymous, admin_user, curator, member, affiliation
):
    objects = KINDS[kind][0].objects
    sharing.grant_access(by=owner, asset=asset, permission="write", user=grantee)
    sharing.grant_access(by=owner, asset=asset, permission="manage", affiliation=affiliation)
    for user, levels in [
        (owner, 3),
        (admin_user, 3),
        (curator, 3),
        (member, 3),
        (grantee, 2),
        (stranger, 0),
        (anonymous, 0),
    ]:
        held = [level for level in Permission.values if objects.with_permission(user, level).filter(pk=asset.pk)]
        assert held == Permission.values[:levels], user
        assert [asset.has_permission(user, level) for level in Permission.values] == [True] * levels + [False] * (
            3 - levels
        ), user
    assert list(objects.manageable_by(grantee)) == [] and list(objects.editable_by(grantee)) == [asset]


def test_a_write_grant_may_not_make_the_asset_public_through_the_api(kind, asset, writer):
    url = f"/api/v1/{kind}/owner/secret/"
    response = api(writer).patch(url, {"visibility": "public"}, format="json")
    assert response.status_code == 403 and "change its visibility" in response.json()["detail"]
    asset.refresh_from_db()
    assert asset.visibility == "private"
    assert not AuditEvent.objects.filter(action__in=["asset.update", "asset.visibility"], actor=writer).exists()
    # metadata is theirs to edit, and sending the visibility it already has is no change
    response = api(writer).patch(url, {"card": "edited by a writer", "visibility": "private"}, format="json")
    assert response.status_code == 200 and response.json()["card"] == "edited by a writer"


def test_a_write_grant_may_not_delete_the_asset_through_the_api(kind, asset, writer):
    response = api(writer).delete(f"/api/v1/{kind}/owner/secret/")
    assert response.status_code == 403 and "delete it" in response.json()["detail"]
    response = api(writer).delete(f"/api/v1/{kind}/{asset.pk}/")
    assert response.status_code == 403
    assert KINDS[kind][0].objects.filter(pk=asset.pk).exists()


def test_a_write_grant_may_not_share_through_the_api(kind, asset, writer, stranger):
    base = f"/api/v1/{kind}/owner/secret"
    assert api(writer).get(f"{base}/grants/").status_code == 403
    assert (
        api(writer).post(f"{base}/grants/", {"user": "stranger", "permission": "read"}, format="json").status_code
        == 403
    )
    assert api(writer).post(f"{base}/invitations/", {"email": "x@example.org"}, format="json").status_code == 403
    assert not asset.is_editable_by(stranger) and not KINDS[kind][0].objects.visible_to(stranger).exists()


def test_a_manage_grant_changes_visibility_deletes_and_shares(kind, asset, owner, grantee, stranger):
    sharing.grant_access(by=owner, asset=asset, permission="manage", user=grantee)
    base = f"/api/v1/{kind}/owner/secret"
    assert api(grantee).patch(f"{base}/", {"visibility": "public"}, format="json").status_code == 200
    assert (
        api(grantee).post(f"{base}/grants/", {"user": "stranger", "permission": "manage"}, format="json").status_code
        == 201
    )
    assert asset.is_manageable_by(stranger)  # delegated
    assert api(stranger).delete(f"{base}/").status_code == 204
    assert not KINDS[kind][0].objects.filter(pk=asset.pk).exists()


def test_the_services_refuse_a_write_grantee_visibility_and_deletion(kind, asset, writer):
    save = services.save_model if kind == "models" else services.save_dataset
    current = {"model": asset} if kind == "models" else {"dataset": asset}
    with pytest.raises(PermissionDenied, match="change its visibility"):
        save(user=writer, data={"visibility": "public"}, **current)
    with pytest.raises(PermissionDenied, match="delete it"):
        services.delete_asset(user=writer, asset=asset)
    asset.refresh_from_db()
    assert asset.visibility == "private"


def test_the_edit_page_refuses_a_write_grantee_visibility_change_with_a_message(client, kind, asset, writer):
    client.force_login(writer)
    post = (
        model_post(name="secret", visibility="public")
        if kind == "models"
        else dataset_post(name="secret", visibility="public")
    )
    form = client.get(f"/{kind}/owner/secret/edit/")
    assert form.status_code == 200 and "may change this" in form.content.decode()
    assert "Delete this" not in form.content.decode()
    response = client.post(f"/{kind}/owner/secret/edit/", post)
    assert response.status_code == 200 and "may change the visibility" in response.content.decode()
    asset.refresh_from_db()
    assert asset.visibility == "private"
    response = client.post(f"/{kind}/owner/secret/edit/", {**post, "visibility": "private"})
    assert response.status_code == 302  # the rest of the form is theirs to edit


def test_the_delete_and_share_pages_are_refused_to_a_write_grantee(client, kind, asset, writer):
    client.force_login(writer)
    assert client.get(f"/{kind}/owner/secret/delete/").status_code == 403
    assert client.post(f"/{kind}/owner/secret/delete/").status_code == 403
    assert client.get(f"/accounts/share/{kind}/owner/secret/").status_code == 403
    assert KINDS[kind][0].objects.filter(pk=asset.pk).exists()
    detail = client.get(f"/{kind}/owner/secret/").content.decode()
    assert ">Edit</a>" in detail and ">Delete</a>" not in detail and ">Share</a>" not in detail


def test_a_curator_and_a_manage_grantee_delete_on_the_page(client, kind, owner, grantee, curator):
    factory = KINDS[kind][1]
    curated, delegated = factory(owner=owner, name="curated"), factory(owner=owner, name="delegated")
    sharing.grant_access(by=owner, asset=delegated, permission="manage", user=grantee)
    client.force_login(curator)
    assert client.post(f"/{kind}/owner/curated/delete/").status_code == 302
    client.force_login(grantee)
    assert ">Share</a>" in client.get(f"/{kind}/owner/delegated/").content.decode()
    assert client.post(f"/{kind}/owner/delegated/delete/").status_code == 302
    assert not KINDS[kind][0].objects.filter(pk__in=[curated.pk, delegated.pk]).exists()
