"""OpenAPI helpers: the error bodies every operation may answer with, added to the whole schema by
one post-processing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``), so that no endpoint of
any app can forget them.

- 400: ``{"field": ["message", ...], ...}`` (``{"detail": "message"}`` for errors not tied to a field), on
  operations that take a body or query parameters;
- 401: bad, expired or revoked token, or credentials missing where they are needed;
- 403: a read-scope token writing, an asset the caller sees but may not change, an admin-only endpoint;
- 404: a missing *or hidden* object, on operations addressed by path parameters;
- 429: throttled, with ``Retry-After``.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog import filters


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in one sentence.")


ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string", "description": "What went wrong, in one sentence."}},
    "example": {"detail": "Not found."},
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Each invalid field (body field or query parameter) maps to a list of messages; `detail` "
    "(a string) holds what is not tied to one field. Nested objects map their own fields the same way.",
    "properties": {"detail": {"type": "string", "description": "An error not tied to one field."}},
    "additionalProperties": {
        "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object", "additionalProperties": {}}],
    },
    "example": {
        "weights": ["Unknown criterion 'colour'."],
        "limit": ["Ensure this value is less than or equal to 200."],
    },
}

ERRORS = {
    "400": "Invalid input: the body names each invalid field.",
    "401": "Authentication failed: invalid, expired or revoked token, or credentials are needed.",
    "403": "Not allowed: a read-scope token writing, an asset you may see but not change, or an admin-only endpoint.",
    "404": "Not found, or not visible to you (a hidden object answers exactly like a missing one).",
    "429": "Too many requests; retry after the number of seconds in `Retry-After`.",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _error_response(code: str) -> dict:
    response = {
        "description": ERRORS[code],
        "content": {"application/json": {"schema": _ref("ValidationError" if code == "400" else "Error")}},
    }
    if code == "429":
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before the next request."}
        }
    return response


def document_errors(result: dict, generator, request, public) -> dict:
    """Post-processing hook: adds the error responses an operation can give and lacks."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    schemas.setdefault("ValidationError", VALIDATION_ERROR_SCHEMA)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            parameters = operation.get("parameters", [])
            codes = ["401", "403", "429"]
            if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
                codes.append("400")
            if any(p.get("in") == "path" for p in parameters):
                codes.append("404")
            responses = operation["responses"]
            for code in sorted(codes):
                if code not in responses or not responses[code].get("content"):
                    responses[code] = _error_response(code)
    return result


def _annotate_filters() -> None:
    """Slug filters resolved by a method: tell the schema they take strings (repeatable)."""
    for filterset in (filters.MLModelFilter, filters.DatasetFilter):
        for name in ("task", "domain"):
            if name in filterset.base_filters:
                extend_schema_field(OpenApiTypes.STR)(filterset.base_filters[name])


_annotate_filters()
