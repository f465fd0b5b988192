"""Helpers shared by the apps' tests (kept outside any one app's tests package)."""

from rest_framework.test import APIClient


def api(user=None) -> APIClient:
    """An API client, authenticated as ``user`` when given (anonymous otherwise)."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client
