from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from accounts.models import ApiToken
from accounts.services import TOKEN_PREFIX, authenticate_api_token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer omh_…`` (or ``Token omh_…``) with a personal access token.

    The token's scope is enforced here, so that no view's own permission classes can forget it:
    a read-scope token gets 403 on any method but GET, HEAD and OPTIONS.
    """

    keywords = ("bearer", "token")

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
        secret = parts[1].decode(errors="replace")
        if not secret.startswith(f"{TOKEN_PREFIX}_"):
            return None  # not one of ours: let another scheme try
        token = authenticate_api_token(secret)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        if not _is_read(request) and token.scope != ApiToken.Scope.WRITE:
            raise exceptions.PermissionDenied("This token has read scope; writing needs a token with write scope.")
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


def _is_read(request) -> bool:
    """GET, HEAD, OPTIONS, or a POST to a view that only reads (``read_only_post = True``, e.g. scoring)."""
    if request.method in permissions.SAFE_METHODS:
        return True
    view = (getattr(request, "parser_context", None) or {}).get("view")
    return request.method == "POST" and getattr(view, "read_only_post", False)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """OpenAPI: personal access tokens are bearer tokens in the Authorization header."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "omh_<prefix>_<secret>",
            "description": "A personal access token (`/accounts/tokens/` or `POST /api/v1/tokens/`): "
            "`Authorization: Bearer omh_…`. Read-scope tokens get 403 on writes.",
        }
