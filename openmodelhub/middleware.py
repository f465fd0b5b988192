"""Request hygiene before any view, and the API's error shape for the responses no API view made.

- A NUL byte has no place in a URL: in the path it is a 404, in a query parameter (name or value)
  a 400, before a view passes it to a database that refuses it (PostgreSQL: 500).
- Under ``/api/`` every error is JSON (docs/api.md, "Errors"): an unknown URL, like
  ``/api/v1/models/-1/``, is ``{"detail": "Not found."}`` and not Django's HTML page (the debug page
  when DEBUG is on). Only HTML pages are replaced: a view's JSON or CSV error stays as it is.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"
NUL = "\x00"
NUL_MESSAGE = "Null characters are not allowed."


def _query_with_nul(request: HttpRequest) -> str | None:
    """The first query parameter whose name or value holds a NUL byte."""
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in value for value in values):
            return name.replace(NUL, "")
    return None


class RefuseNulBytesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path_info:
            raise Http404("Not found.")
        param = _query_with_nul(request)
        if param is not None:
            if request.path_info.startswith(API_PREFIX):
                return JsonResponse({param: [NUL_MESSAGE]} if param else {"detail": NUL_MESSAGE}, status=400)
            raise BadRequest(NUL_MESSAGE)
        return self.get_response(request)


class ApiJsonErrorsMiddleware:
    """Placed before CommonMiddleware, so that a missing slash is still redirected first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path_info.startswith(API_PREFIX)
            and response.status_code >= 400
            and response.get("Content-Type", "").startswith("text/html")
        ):
            detail = "Not found." if response.status_code == 404 else f"{response.reason_phrase}."
            replaced = JsonResponse({"detail": detail}, status=response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response
