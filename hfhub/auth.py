"""Who is calling: the hub's personal access tokens as ``Authorization: Bearer omh_…`` (the API's own
authentication class, so scopes, expiry and revocation are the same), else the session, else anonymous."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions

from accounts.api.authentication import ApiTokenAuthentication

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


class InvalidCredentials(Exception):
    pass


def authenticate(request) -> None:
    """Set ``request.hub_user`` (and ``hub_token``). Raises InvalidCredentials for a token of ours that is unknown,
    expired or revoked (tokens of other hubs, e.g. a Hugging Face one, are ignored: the caller is anonymous)."""
    try:
        found = ApiTokenAuthentication().authenticate(request)
    except exceptions.APIException:
        raise InvalidCredentials(INVALID_CREDENTIALS) from None
    user, token = found if found is not None else (getattr(request, "user", None), None)
    if user is None or not user.is_authenticated:
        user = AnonymousUser()
    # request.user too: the native download records its audit event for request.user
    request.hub_user, request.hub_token, request.user = user, token, user


def is_signed_in(request) -> bool:
    user = getattr(request, "hub_user", None)
    return bool(user is not None and user.is_authenticated)
