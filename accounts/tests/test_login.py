import pytest
from django.core.cache import cache

from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def attempt(client, username, password, ip="10.0.0.1", url="/accounts/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_an_account_is_locked_after_repeated_failures_even_with_the_right_password(client, owner, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    for _ in range(3):
        assert "correct username and password" in attempt(client, "owner", "wrong").content.decode()
    response = attempt(client, "owner", "owner-pass-123")
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not affected by the account limit.
    User.objects.create_user("other", password="other-pass-123")
    assert attempt(client, "other", "other-pass-123").status_code == 302


def test_an_address_is_locked_after_failures_across_accounts(client, owner, settings):
    settings.LOGIN_FAILURES_PER_IP = 4
    for i in range(4):
        attempt(client, f"guess{i}", "wrong", ip="10.0.0.9")
    assert "Too many failed" in attempt(client, "owner", "owner-pass-123", ip="10.0.0.9").content.decode()
    assert attempt(client, "owner", "owner-pass-123", ip="10.0.0.10").status_code == 302


def test_the_admin_login_is_limited_too(client, admin_user, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    for _ in range(2):
        attempt(client, "admin", "wrong", url="/admin/login/")
    response = attempt(client, "admin", "admin-pass-123", url="/admin/login/")
    assert "Too many failed" in response.content.decode()


def test_a_success_clears_the_account_counter(client, owner, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    attempt(client, "owner", "wrong")
    attempt(client, "owner", "wrong")
    assert attempt(client, "owner", "owner-pass-123").status_code == 302
    client.logout()
    attempt(client, "owner", "wrong")
    attempt(client, "owner", "wrong")
    assert attempt(client, "owner", "owner-pass-123").status_code == 302


@pytest.mark.argon2
def test_registration_creates_a_user_with_an_argon2_password_and_logs_in(client):
    response = client.post("/accounts/register/", {
        "username": "newcomer", "email": "new@example.org",
        "password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9",
    })
    assert response.status_code == 302
    user = User.objects.get(username="newcomer")
    assert user.password.startswith("argon2") and user.role == "user" and not user.is_staff
    assert client.get("/accounts/tokens/").status_code == 200


def test_registration_errors_are_shown_and_nothing_is_saved(client, owner):
    response = client.post("/accounts/register/", {
        "username": "x", "email": "owner@example.org", "password1": "a-long-passphrase-9", "password2": "other",
    })
    assert response.status_code == 200
    body = response.content.decode()
    assert "exists already" in body and "didn’t match" in body
    assert not User.objects.filter(username="x").exists()


def test_auth_pages_render(client, owner):
    for url in ["/accounts/login/", "/accounts/register/", "/accounts/password/reset/"]:
        assert client.get(url).status_code == 200
    client.force_login(owner)
    assert client.get("/accounts/password/change/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
