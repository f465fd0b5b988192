import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from catalog.tests.factories import MLModelFactory

pytestmark = pytest.mark.django_db

RATES = {"anon": "3/minute", "user": "5/minute"}


@pytest.fixture(autouse=True)
def low_rates(settings, monkeypatch):
    """Low rates, and an empty cache (Redis in CI) before and after, so buckets start empty."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RATES}
    # DRF copies the rates into the throttle class when it is imported: point it at ours.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", RATES)
    cache.clear()
    yield
    cache.clear()


def client_for(user=None, ip="203.0.113.7") -> APIClient:
    client = APIClient(REMOTE_ADDR=ip)
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_throttled(response) -> None:
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "detail" in response.json()


def test_anonymous_visitors_are_throttled_per_address_with_retry_after(owner):
    MLModelFactory(owner=owner)
    client = client_for()
    assert [client.get("/api/v1/models/").status_code for _ in range(3)] == [200, 200, 200]
    assert_throttled(client.get("/api/v1/models/"))
    assert_throttled(client.get("/api/v1/tasks/"))  # one bucket for the whole API
    assert client_for(ip="198.51.100.9").get("/api/v1/models/").status_code == 200


def test_signed_in_users_are_throttled_per_user_with_retry_after(owner, stranger):
    client = client_for(owner)
    assert [client.get("/api/v1/models/").status_code for _ in range(5)] == [200] * 5
    assert_throttled(client.get("/api/v1/models/"))
    assert_throttled(client_for(owner, ip="198.51.100.9").get("/api/v1/models/"))  # the user, not the address
    assert client_for(stranger).get("/api/v1/models/").status_code == 200


def test_posts_count_too(owner):
    client = client_for()
    for _ in range(3):
        assert client.post("/api/v1/datasets/score", {}, format="json").status_code == 200
    assert_throttled(client.post("/api/v1/datasets/score", {}, format="json"))
