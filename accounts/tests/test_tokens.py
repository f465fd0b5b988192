from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import authenticate_api_token, create_api_token, revoke_api_token

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_token_created_through_the_api_is_shown_once_and_stored_hashed(owner):
    client = APIClient()
    client.force_authenticate(owner)
    response = client.post("/api/v1/tokens/", {"name": "ci job", "scope": "write"}, format="json")
    assert response.status_code == 201
    secret = response.json()["token"]
    assert secret.startswith("omh_")
    stored = ApiToken.objects.get()
    assert secret not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64
    listing = client.get("/api/v1/tokens/").json()
    assert "token" not in listing[0] and listing[0]["name"] == "ci job"
    assert bearer(secret).get("/api/v1/me").json()["username"] == "owner"


def test_the_api_refuses_a_token_without_a_name_or_with_an_unknown_scope(owner):
    client = APIClient()
    client.force_authenticate(owner)
    response = client.post("/api/v1/tokens/", {"name": "", "scope": "root"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"name", "scope"}
    assert not ApiToken.objects.exists()


def test_a_read_token_cannot_write_and_a_write_token_can(owner):
    _, read_secret = create_api_token(user=owner, name="reader", scope="read")
    _, write_secret = create_api_token(user=owner, name="writer", scope="write")
    assert bearer(read_secret).get("/api/v1/tokens/").status_code == 200
    refused = bearer(read_secret).post("/api/v1/tokens/", {"name": "x", "scope": "read"}, format="json")
    assert refused.status_code == 403 and "read scope" in refused.json()["detail"]
    assert (
        bearer(write_secret).post("/api/v1/tokens/", {"name": "x", "scope": "read"}, format="json").status_code == 201
    )


def test_expired_revoked_and_unknown_tokens_are_refused(owner):
    expiring, expiring_secret = create_api_token(
        user=owner, name="soon", scope="read", expires_at=timezone.now() + timedelta(minutes=5)
    )
    assert bearer(expiring_secret).get("/api/v1/me").status_code == 200
    ApiToken.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bearer(expiring_secret).get("/api/v1/me").status_code == 401
    token, secret = create_api_token(user=owner, name="gone", scope="read")
    revoke_api_token(by=owner, token=token)
    response = bearer(secret).get("/api/v1/me")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert bearer("omh_deadbeef_forged").get("/api/v1/me").status_code == 401


def test_a_deactivated_users_token_is_refused(owner):
    _, secret = create_api_token(user=owner, name="t", scope="read")
    owner.is_active = False
    owner.save()
    assert bearer(secret).get("/api/v1/me").status_code == 401


def test_last_use_is_recorded(owner):
    token, secret = create_api_token(user=owner, name="t", scope="read")
    assert token.last_used_at is None
    bearer(secret).get("/api/v1/me")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoking_through_the_api_keeps_the_record(owner):
    token, secret = create_api_token(user=owner, name="t", scope="write")
    assert bearer(secret).delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert bearer(secret).get("/api/v1/me").status_code == 401


def test_nobody_sees_or_revokes_another_users_tokens(owner, stranger):
    token, _ = create_api_token(user=owner, name="t", scope="read")
    _, stranger_secret = create_api_token(user=stranger, name="s", scope="write")
    client = bearer(stranger_secret)
    assert [t["name"] for t in client.get("/api/v1/tokens/").json()] == ["s"]
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_tokens_page_shows_a_new_secret_once(client, owner):
    client.force_login(owner)
    response = client.post("/accounts/tokens/", {"action": "create", "name": "notebook", "scope": "read"})
    secret = response.context["secret"]
    assert secret in response.content.decode()
    assert secret not in client.get("/accounts/tokens/").content.decode()
    assert bearer(secret).get("/api/v1/me").status_code == 200
    token = ApiToken.objects.get()
    client.post("/accounts/tokens/", {"action": "revoke", "id": token.pk})
    assert bearer(secret).get("/api/v1/me").status_code == 401


def test_a_token_is_read_with_its_user_as_the_orm_reads_them(owner):
    """authenticate_api_token's SELECT is written once (not built through the ORM per request): the token
    and the user it returns carry every field the ORM's select_related would give, converted alike."""
    owner.last_login = timezone.now() - timedelta(days=2)
    owner.save(update_fields=["last_login"])
    token, secret = create_api_token(user=owner, name="t", scope="write", expires_at=timezone.now() + timedelta(days=3))
    fast = authenticate_api_token(secret)
    orm = ApiToken.objects.select_related("user").get(pk=token.pk)
    for instance, expected in ((fast, orm), (fast.user, orm.user)):
        fields = type(expected)._meta.concrete_fields
        assert [getattr(instance, f.attname) for f in fields] == [getattr(expected, f.attname) for f in fields]
        assert instance._state.adding is False and instance._state.db == expected._state.db
    assert fast.expires_at.tzinfo is not None and fast.user.date_joined.tzinfo is not None
