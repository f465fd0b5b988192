"""Who is calling: the hub's personal access tokens as ``Authorization: Bearer omh_…`` (the API's own
authentication class, so scopes, expiry and revocation are the same), else the session, else anonymous.

Writes (repository creation, deletion, settings) accept a token only, never the session: the Hub's views are
``csrf_exempt`` (the client sends no CSRF token), so a browser's session cookie must not be able to write."""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions

from accounts.api.authentication import ApiTokenAuthentication

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
# ApiTokenAuthentication lets a read-scope token POST to a view that says it only reads (paths-info does).
READ_ONLY_VIEW = SimpleNamespace(read_only_post=True)


class InvalidCredentials(Exception):
    pass


class ReadScopeToken(Exception):
    """A read-scope token on a write: refused with 403, as /api/v1/ does."""


def authenticate(request, *, writes: bool = False) -> None:
    """Set ``request.hub_user`` (and ``hub_token``). Raises InvalidCredentials for a token of ours that is unknown,
    expired or revoked (tokens of other hubs, e.g. a Hugging Face one, are ignored: the caller is anonymous),
    and ReadScopeToken for a read-scope token when ``writes``. With ``writes`` the session is ignored."""
    if not writes:
        request.parser_context = {"view": READ_ONLY_VIEW}
    try:
        found = ApiTokenAuthentication().authenticate(request)
    except exceptions.PermissionDenied as exc:
        raise ReadScopeToken(str(exc.detail)) from None
    except exceptions.APIException:
        raise InvalidCredentials(INVALID_CREDENTIALS) from None
    session_user = None if writes else getattr(request, "user", None)
    user, token = found if found is not None else (session_user, None)
    if user is None or not user.is_authenticated:
        user = AnonymousUser()
    # request.user too: the native download records its audit event for request.user
    request.hub_user, request.hub_token, request.user = user, token, user


def is_signed_in(request) -> bool:
    user = getattr(request, "hub_user", None)
    return bool(user is not None and user.is_authenticated)
