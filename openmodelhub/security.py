"""Security headers Django 5.2 does not set itself: the Content-Security-Policy and a few companions.

Every page gets the strict policy: scripts, styles and images only from the hub (no inline
scripts, no inline styles, no CDN: the hub runs offline). The API's Swagger and ReDoc pages render
an inline bootstrap script: they get the same policy plus a per-response nonce for that one script
(templates/drf_spectacular/ adds the nonce) and inline styles, and only on those paths.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
# Paths whose third-party pages need an inline bootstrap script (nonce) and inline styles.
API_DOC_PATHS = ("/api/v1/docs/",)


def policy(path: str, nonce: str | None = None) -> str:
    directives = dict(STRICT)
    if path.startswith(API_DOC_PATHS):
        directives["script-src"] = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
        directives["style-src"] = "'self' 'unsafe-inline'"
        directives["worker-src"] = "'self' blob:"  # ReDoc parses the schema in a blob worker
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeadersMiddleware:
    """Content-Security-Policy, plus Permissions-Policy and Cross-Origin-Opener-Policy.

    ``X-Content-Type-Options``, ``Referrer-Policy`` and ``X-Frame-Options`` come from Django's own
    middlewares (SECURE_CONTENT_TYPE_NOSNIFF, SECURE_REFERRER_POLICY, X_FRAME_OPTIONS).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        used: list[str] = []

        def make_nonce() -> str:
            used.append(secrets.token_urlsafe(16))
            return used[0]

        request.csp_nonce = SimpleLazyObject(make_nonce)
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy(request.path, used[0] if used else None)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response
