from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import services
from catalog.models import Dataset, MLModel
from catalog.tests.factories import DatasetFactory, MLModelFactory

pytestmark = pytest.mark.django_db

FACTORIES = {"model": (MLModel, MLModelFactory), "dataset": (Dataset, DatasetFactory)}


@pytest.fixture(params=["model", "dataset"])
def kind(request):
    return request.param


@pytest.fixture
def private_asset(kind, owner):
    return FACTORIES[kind][1](owner=owner, visibility="private", name="secret-thing")


@pytest.fixture
def public_asset(kind, owner):
    return FACTORIES[kind][1](owner=owner, visibility="public", name="open-thing")


@pytest.fixture
def shared(private_asset, owner, grantee, affiliation):
    services.grant_access(by=owner, asset=private_asset, permission="read", user=grantee)
    services.grant_access(by=owner, asset=private_asset, permission="read", affiliation=affiliation)
    return private_asset


def visible(kind, user) -> set[str]:
    return set(FACTORIES[kind][0].objects.visible_to(user).values_list("name", flat=True))


def editable(kind, user) -> set[str]:
    return set(FACTORIES[kind][0].objects.editable_by(user).values_list("name", flat=True))


def test_each_role_sees_exactly_what_it_should(
    kind, shared, public_asset, owner, grantee, member, stranger, anonymous, admin_user, curator
):
    both, public_only = {"secret-thing", "open-thing"}, {"open-thing"}
    assert visible(kind, owner) == both
    assert visible(kind, grantee) == both
    assert visible(kind, member) == both
    assert visible(kind, stranger) == public_only
    assert visible(kind, anonymous) == public_only
    assert visible(kind, admin_user) == both
    assert visible(kind, curator) == both


def test_only_owners_writers_admins_and_curators_may_edit(
    kind, shared, public_asset, owner, grantee, member, stranger, anonymous, admin_user, curator
):
    assert editable(kind, owner) == {"secret-thing", "open-thing"}
    assert editable(kind, grantee) == set()  # read grant
    assert editable(kind, member) == set()
    assert editable(kind, stranger) == editable(kind, anonymous) == set()
    assert editable(kind, admin_user) == editable(kind, curator) == {"secret-thing", "open-thing"}
    services.grant_access(by=owner, asset=shared, permission="write", user=grantee)
    assert editable(kind, grantee) == {"secret-thing"}


def test_detail_pages_answer_404_to_those_who_may_not_see(
    client, kind, shared, owner, grantee, member, stranger, admin_user
):
    url = shared.get_absolute_url()
    assert client.get(url).status_code == 404  # anonymous
    for user, status in [(owner, 200), (grantee, 200), (member, 200), (stranger, 404), (admin_user, 200)]:
        client.force_login(user)
        assert client.get(url).status_code == status, user.username
    client.force_login(stranger)
    missing = url.replace("secret-thing", "no-such-thing")
    assert client.get(missing).status_code == 404  # hidden looks exactly like missing


def test_a_revoked_grant_ends_access_on_the_next_request(client, kind, private_asset, owner, grantee):
    grant = services.grant_access(by=owner, asset=private_asset, permission="read", user=grantee)
    client.force_login(grantee)
    assert client.get(private_asset.get_absolute_url()).status_code == 200
    services.revoke_grant(by=owner, grant=grant)
    assert client.get(private_asset.get_absolute_url()).status_code == 404
    assert visible(kind, grantee) == set()


def test_an_expired_grant_gives_no_access(kind, private_asset, owner, grantee):
    grant = services.grant_access(
        by=owner, asset=private_asset, permission="read", user=grantee, expires_at=timezone.now() + timedelta(hours=1)
    )
    assert visible(kind, grantee) == {"secret-thing"}
    type(grant).objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert visible(kind, grantee) == set()


def test_leaving_an_affiliation_ends_the_access_it_gave(kind, private_asset, owner, member, affiliation):
    services.grant_access(by=owner, asset=private_asset, permission="read", affiliation=affiliation)
    assert visible(kind, member) == {"secret-thing"}
    member.affiliations.remove(affiliation)
    assert visible(kind, member) == set()


def test_an_accepted_invitation_gives_access_until_it_is_revoked(kind, private_asset, owner, grantee):
    invitation, token = services.invite(by=owner, asset=private_asset, permission="read", invited_user=grantee)
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64
    assert visible(kind, grantee) == set()
    services.accept_invitation(user=grantee, token=token)
    assert visible(kind, grantee) == {"secret-thing"}
    services.revoke_invitation(by=owner, invitation=invitation)
    assert visible(kind, grantee) == set()


def test_revoked_expired_and_misaddressed_invitations_cannot_be_accepted(kind, private_asset, owner, grantee, stranger):
    revoked, revoked_token = services.invite(by=owner, asset=private_asset, permission="read", invited_user=grantee)
    services.revoke_invitation(by=owner, invitation=revoked)
    with pytest.raises(ValidationError, match="revoked"):
        services.accept_invitation(user=grantee, token=revoked_token)
    expired, expired_token = services.invite(by=owner, asset=private_asset, permission="read", invited_user=grantee)
    type(expired).objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="expired"):
        services.accept_invitation(user=grantee, token=expired_token)
    _, other_token = services.invite(by=owner, asset=private_asset, permission="read", invited_user=grantee)
    with pytest.raises(ValidationError, match="another account"):
        services.accept_invitation(user=stranger, token=other_token)
    _, mail_token = services.invite(by=owner, asset=private_asset, permission="read", email="Grantee@Example.org")
    with pytest.raises(ValidationError, match="another e-mail"):
        services.accept_invitation(user=stranger, token=mail_token)
    with pytest.raises(ValidationError, match="does not exist"):
        services.accept_invitation(user=grantee, token="forged")
    assert visible(kind, grantee) == visible(kind, stranger) == set()
    services.accept_invitation(user=grantee, token=mail_token)  # the right address, case-insensitively
    assert visible(kind, grantee) == {"secret-thing"}


def test_sharing_needs_the_manage_level_which_owners_admins_curators_and_manage_grantees_hold(
    kind, private_asset, owner, grantee, member, stranger, admin_user, curator, affiliation
):
    services.grant_access(by=owner, asset=private_asset, permission="write", user=grantee)
    with pytest.raises(services.PermissionDenied, match="manage who it is shared with"):
        services.grant_access(by=grantee, asset=private_asset, permission="read", user=stranger)
    with pytest.raises(services.PermissionDenied):
        services.invite(by=stranger, asset=private_asset, permission="read", email="x@example.org")
    services.invite(by=curator, asset=private_asset, permission="read", email="x@example.org")
    services.grant_access(by=admin_user, asset=private_asset, permission="manage", user=grantee)
    # manage is delegable: the grantee now shares, up to manage, and may revoke
    grant = services.grant_access(by=grantee, asset=private_asset, permission="manage", affiliation=affiliation)
    assert private_asset.is_manageable_by(member) and not private_asset.is_manageable_by(stranger)
    services.revoke_grant(by=grantee, grant=grant)
    assert not private_asset.is_manageable_by(member)


def test_inactive_users_are_treated_as_anonymous(kind, shared, grantee):
    grantee.is_active = False
    grantee.save()
    assert visible(kind, grantee) == set()


def test_the_share_page_is_for_owners_only(client, kind, shared, owner, grantee, stranger):
    url = reverse("accounts:share", args=[f"{kind}s", owner.username, shared.name])
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    client.force_login(grantee)
    assert client.get(url).status_code == 403
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200 and "grantee" in response.content.decode()


def test_sharing_and_revoking_through_the_share_page(client, kind, private_asset, owner, grantee, affiliation):
    url = reverse("accounts:share", args=[f"{kind}s", owner.username, private_asset.name])
    client.force_login(owner)
    response = client.post(url, {"action": "grant", "grant-username": "grantee", "grant-permission": "read"})
    assert response.status_code == 302
    assert visible(kind, grantee) == {"secret-thing"}
    grant = private_asset.grants.get()
    client.post(url, {"action": "revoke-grant", "id": grant.pk})
    assert visible(kind, grantee) == set()
    response = client.post(url, {"action": "grant", "grant-username": "nobody", "grant-permission": "read"})
    assert response.status_code == 200 and "no active user" in response.content.decode()
    response = client.post(
        url,
        {
            "action": "grant",
            "grant-username": "grantee",
            "grant-affiliation": affiliation.pk,
            "grant-permission": "read",
        },
    )
    assert "either a user or an affiliation" in response.content.decode()
    assert private_asset.grants.filter(revoked_at__isnull=True).count() == 0


def test_an_invitation_by_email_is_mailed_and_accepted_on_its_page(
    client, kind, private_asset, owner, grantee, mailoutbox
):
    url = reverse("accounts:share", args=[f"{kind}s", owner.username, private_asset.name])
    client.force_login(owner)
    client.post(
        url,
        {"action": "invite", "invite-recipient": "grantee@example.org", "invite-permission": "read", "invite-days": 3},
    )
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["grantee@example.org"]
    link = next(line for line in mailoutbox[0].body.splitlines() if line.startswith("Accept: ")).split(" ", 1)[1]
    client.force_login(grantee)
    assert client.get(link).status_code == 200
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == private_asset.get_absolute_url()
    assert client.get(private_asset.get_absolute_url()).status_code == 200
    assert client.post(link).status_code == 200  # a second accept is refused with a message
