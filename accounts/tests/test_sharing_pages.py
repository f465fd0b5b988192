"""The pages listing sharing: "What I share" (/accounts/sharing/) and "Shared with me"
(/accounts/shared-with-me/)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from catalog.tests.factories import DatasetFactory, MLModelFactory

pytestmark = pytest.mark.django_db


def rows(client, url: str) -> list[str]:
    page = client.get(url)
    assert page.status_code == 200
    return re.findall(r"<tr><td>(.*?)</tr>", page.content.decode(), flags=re.S)


def test_what_i_share_lists_the_assets_a_manage_grant_lets_me_share_beside_my_own(
    client, owner, grantee, member, affiliation, stranger
):
    mine = MLModelFactory(owner=grantee, name="mine", visibility="private")
    managed = MLModelFactory(owner=owner, name="managed", visibility="private")
    managed_data = DatasetFactory(owner=owner, name="managed-data", visibility="private")
    written = MLModelFactory(owner=owner, name="written-only", visibility="private")
    services.grant_access(by=grantee, asset=mine, permission="read", user=stranger)
    services.grant_access(by=owner, asset=managed, permission="manage", user=grantee)
    services.grant_access(by=grantee, asset=managed, permission="read", user=stranger)  # delegated sharing
    services.grant_access(by=owner, asset=managed_data, permission="manage", affiliation=affiliation)
    services.grant_access(by=owner, asset=written, permission="write", user=grantee)
    services.invite(by=grantee, asset=managed, permission="read", email="someone@example.org")

    client.force_login(grantee)
    page = client.get("/accounts/sharing/").content.decode()
    for url in (mine.get_absolute_url(), managed.get_absolute_url(), "/accounts/share/models/owner/managed/"):
        assert url in page, url
    assert "someone@example.org" in page and "(you manage it)" in page
    assert written.get_absolute_url() not in page  # write may edit, not share
    assert managed_data.get_absolute_url() not in page  # grantee is no member of the affiliation
    client.force_login(member)  # the affiliation's manage grant lets its members share it
    assert managed_data.get_absolute_url() in client.get("/accounts/sharing/").content.decode()
    client.force_login(stranger)
    assert "managed" not in client.get("/accounts/sharing/").content.decode()


def test_shared_with_me_shows_an_asset_reached_twice_once_at_the_highest_level(client, owner, member, affiliation):
    model = MLModelFactory(owner=owner, name="twice", visibility="private")
    services.grant_access(by=owner, asset=model, permission="read", user=member)
    services.grant_access(
        by=owner,
        asset=model,
        permission="write",
        affiliation=affiliation,
        expires_at=timezone.now() + timedelta(days=3),
    )
    client.force_login(member)
    listed = [r for r in rows(client, "/accounts/shared-with-me/") if model.get_absolute_url() in r]
    assert len(listed) == 1 and "<td>Write</td>" in listed[0], listed
    assert affiliation.name in listed[0]


def test_shared_with_me_prefers_the_grant_that_lasts_longest_among_equal_levels(client, owner, member, affiliation):
    model = MLModelFactory(owner=owner, name="twice", visibility="private")
    services.grant_access(
        by=owner, asset=model, permission="read", user=member, expires_at=timezone.now() + timedelta(days=3)
    )
    services.grant_access(by=owner, asset=model, permission="read", affiliation=affiliation)
    client.force_login(member)
    listed = [r for r in rows(client, "/accounts/shared-with-me/") if model.get_absolute_url() in r]
    assert len(listed) == 1 and "never" in listed[0] and affiliation.name in listed[0]
