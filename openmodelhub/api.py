"""One error shape for the whole API (docs/api.md, "Errors"): 400 bodies map each invalid field or
query parameter to a list of messages, and an error that concerns no single field is
``{"detail": "..."}``, a string, like every other error (401, 403, 404, 429). Throttled responses
carry ``Retry-After`` (DRF sets it). Services raise Django's ValidationError and PermissionDenied;
views let them through to here.

A 404 never names a class or a query ("No MLModel matches the given query."): a missing and a hidden
object answer alike, ``{"detail": "Not found."}``, unless the view raised DRF's NotFound with a
message of its own. URLs no view answers are made JSON by openmodelhub.middleware.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

NOT_TIED_TO_A_FIELD = ("detail", NON_FIELD_ERRORS, api_settings.NON_FIELD_ERRORS_KEY)


def _sentence(messages) -> str:
    return " ".join(str(m) for m in messages) if isinstance(messages, list | tuple) else str(messages)


def validation_body(data) -> dict:
    """``{"field": ["message", ...], ..., "detail": "message"}`` from any ValidationError's data."""
    if not isinstance(data, dict):
        return {"detail": _sentence(data)}
    body: dict = {}
    for field, messages in data.items():
        if field in NOT_TIED_TO_A_FIELD:
            body["detail"] = f"{body['detail']} {_sentence(messages)}" if "detail" in body else _sentence(messages)
        elif isinstance(messages, dict):  # nested input, by field or index: as DRF gives it
            body[field] = messages
        else:
            body[field] = [str(m) for m in messages] if isinstance(messages, list | tuple) else [str(messages)]
    return body


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = validation_body(response.data)
    return response
