"""Keyset ("cursor") pagination: fast at any depth, stable while rows are added.

The cursor holds the last row's sort value and id; the next page is ``WHERE (key, id) < (v, id)``
in the list's order, which the (key, id) indexes answer directly — no OFFSET, however deep.
NULL sort values (parameter counts, instances) come last in either direction.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.db.models.expressions import OrderBy
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


class ExactJSONEncoder(DjangoJSONEncoder):
    """Full microseconds (DjangoJSONEncoder keeps milliseconds, which would skip rows on a cursor)."""

    def default(self, o):
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)


class KeysetPagination(BasePagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"
    cursor_query_param = "cursor"

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"Give a whole number from 1 to {self.max_page_size}."]})
        return int(raw)

    def paginate_queryset(self, queryset, request, view=None):
        ordering: list[OrderBy] = view.get_ordering()
        self.request, self.size = request, self.get_page_size(request)
        self.key = ordering[0].expression.name
        self.descending = ordering[0].descending
        cursor = self.decode(request.query_params.get(self.cursor_query_param), queryset)
        queryset = queryset.order_by(*ordering)
        if cursor is not None:
            queryset = queryset.filter(self.after(*cursor))
        rows = list(queryset[: self.size + 1])
        self.has_next = len(rows) > self.size
        rows = rows[: self.size]
        self.last = (getattr(rows[-1], self.key), rows[-1].pk) if rows else None
        return rows

    def after(self, value, pk) -> Q:
        past, key = ("lt" if self.descending else "gt"), self.key
        if value is None:
            return Q(**{f"{key}__isnull": True, f"id__{past}": pk})
        return (Q(**{f"{key}__{past}": value}) | Q(**{key: value, f"id__{past}": pk})
                | Q(**{f"{key}__isnull": True}))

    def encode(self) -> str:
        value, pk = self.last
        raw = json.dumps([value, pk], cls=ExactJSONEncoder, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode(self, token: str | None, queryset):
        if not token:
            return None
        try:
            value, pk = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if not isinstance(pk, int):
                raise ValueError
            if value is not None:
                value = self.to_python(queryset, value)
        except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
            raise ValidationError({self.cursor_query_param: ["Invalid cursor: use the link the previous page gave."]}) from None
        return value, pk

    def to_python(self, queryset, value):
        if self.key == "rank":
            return float(value)
        field = queryset.model._meta.get_field(self.key)
        converted = field.to_python(value)
        if isinstance(converted, datetime) and converted.tzinfo is None:
            raise ValueError
        return converted

    def next_link(self) -> str | None:
        if not self.has_next:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, self.encode())

    def get_paginated_response(self, data) -> Response:
        next_link = self.next_link()
        headers = {"Link": f'<{next_link}>; rel="next"'} if next_link else {}
        first = remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        headers["Link"] = ", ".join(filter(None, [headers.get("Link"), f'<{first}>; rel="first"']))
        return Response({"next": next_link, "results": data}, headers=headers)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri",
                         "description": "The next page (also in the Link header); null on the last page."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": "Opaque cursor from the previous page's `next` link.", "schema": {"type": "string"}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Page size, 1 to {self.max_page_size} (default {self.page_size}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]



