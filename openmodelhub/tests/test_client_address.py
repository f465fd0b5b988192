"""One client address (openmodelhub.network.client_ip) for the log-in lock-out, the audit trail and API throttles."""

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import AuditEvent
from openmodelhub.network import client_ip

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"


@pytest.fixture
def low_limits(settings, monkeypatch):
    rates = {"anon": "3/minute", "user": "1000/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)  # DRF copies the rates at import
    settings.LOGIN_FAILURES_PER_IP = 3
    settings.LOGIN_FAILURES_PER_ACCOUNT = 1000


def api_get(forwarded_for: str, remote: str = PROXY) -> int:
    return APIClient().get("/api/v1/tasks/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded_for).status_code


def log_in(client, username: str, password: str, forwarded_for: str, remote: str = PROXY) -> str:
    response = client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )
    return "locked" if "Too many failed" in response.content.decode() else str(response.status_code)


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "203.0.113.5", "10.0.0.2"),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "198.51.100.1, 203.0.113.5", "203.0.113.5"),  # the client's own claim on the left is ignored
        (2, "198.51.100.1, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (3, "203.0.113.5, 10.0.0.9", "203.0.113.5"),  # fewer hops than proxies: the left-most
        (1, "not-an-address", "10.0.0.2"),  # a broken proxy header: the peer, not a guess
        (1, "", "10.0.0.2"),
    ],
)
def test_the_client_address_is_the_nth_forwarded_one_from_the_right(settings, proxies, forwarded_for, expected):
    settings.OMH_NUM_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected


def test_without_proxies_a_varying_forwarded_for_does_not_reset_the_api_throttle(settings, low_limits):
    settings.OMH_NUM_PROXIES = 0
    assert [api_get(f"198.51.100.{i}") for i in range(4)] == [200, 200, 200, 429]
    assert api_get("198.51.100.99", remote="10.0.0.3") == 200  # another peer is another client


def test_without_proxies_a_varying_forwarded_for_does_not_reset_the_login_lockout(client, settings, low_limits, owner):
    settings.OMH_NUM_PROXIES = 0
    assert [log_in(client, f"guess{i}", "wrong", f"198.51.100.{i}") for i in range(3)] == ["200"] * 3
    assert log_in(client, "owner", "owner-pass-123", "198.51.100.50") == "locked"
    assert set(AuditEvent.objects.values_list("ip_address", flat=True)) == {PROXY}


def test_behind_one_proxy_each_client_has_its_own_api_bucket(settings, low_limits):
    settings.OMH_NUM_PROXIES = 1
    assert [api_get(f"198.51.100.{i}, 203.0.113.5") for i in range(4)] == [200, 200, 200, 429]
    assert api_get("203.0.113.6") == 200


def test_behind_one_proxy_each_client_has_its_own_login_lockout_and_audit_address(client, settings, low_limits, owner):
    settings.OMH_NUM_PROXIES = 1
    for i in range(3):
        log_in(client, f"guess{i}", "wrong", f"198.51.100.{i}, 203.0.113.5")
    assert log_in(client, "owner", "owner-pass-123", "198.51.100.77, 203.0.113.5") == "locked"
    assert log_in(client, "owner", "owner-pass-123", "203.0.113.6") == "302"  # same proxy, another client
    addresses = dict(AuditEvent.objects.values_list("action", "ip_address"))
    assert addresses == {"login.failed": "203.0.113.5", "login.locked": "203.0.113.5", "login": "203.0.113.6"}
