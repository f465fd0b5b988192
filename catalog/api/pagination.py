"""The API's keyset pagination: page size, cursor parameter, links and schema around
catalog.keyset.Keyset (which explains the cursors)."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from catalog.keyset import InvalidCursor, Keyset


class KeysetPagination(BasePagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"
    cursor_query_param = "cursor"

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"Give a whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        token, size = request.query_params.get(self.cursor_query_param), self.get_page_size(request)
        try:
            self.page = Keyset(view.get_ordering()).page(queryset, token, size)
        except InvalidCursor as exc:
            raise ValidationError({self.cursor_query_param: [str(exc)]}) from None
        return self.page.rows

    def _link(self, token: str | None) -> str | None:
        if token is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, token)

    def get_paginated_response(self, data) -> Response:
        next_link, previous_link = self._link(self.page.next), self._link(self.page.previous)
        first = remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        links = [
            f'<{next_link}>; rel="next"' if next_link else None,
            f'<{previous_link}>; rel="prev"' if previous_link else None,
            f'<{first}>; rel="first"',
        ]
        return Response(
            {"next": next_link, "previous": previous_link, "results": data},
            headers={"Link": ", ".join(filter(None, links))},
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The next page (also in the Link header); null on the last page.",
                },
                "previous": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The previous page (Link rel=prev); null on the first page.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque cursor from a page's `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Page size, 1 to {self.max_page_size} (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
