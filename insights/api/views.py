"""``/api/v1/insights/``: the insights page's statistics as JSON (or CSV with ``?format=csv``).

Anyone may read them; numbers are computed over what the caller may see (anonymous callers get
the public catalogue). Statistics about users and affiliations are for admins and curators:
401 without credentials, 403 for other users.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, renderers
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from insights import selectors
from insights.exports import filename, to_csv


class CSVRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict) and "columns" in data and "rows" in data:
            response = (renderer_context or {}).get("response")
            if response is not None:
                response["Content-Disposition"] = f'attachment; filename="{filename(data)}"'
            return to_csv(data).encode()
        detail = data.get("detail", "") if isinstance(data, dict) else ""
        return to_csv({"columns": ["detail"], "rows": [{"detail": str(detail)}]}).encode()


class InsightsIndexView(APIView):
    """Which statistics exist for you, with their URLs."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        operation_id="insights_list",
        summary="The statistics you may read, with their URLs",
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, format=None):
        user = request.user
        return Response(
            {
                "scope": selectors.scope_of(user),
                "cache_seconds": selectors.cache_seconds(),
                "statistics": [
                    {
                        "name": stat.name,
                        "title": stat.title,
                        "section": stat.section,
                        "chart": stat.chart,
                        "columns": list(stat.columns),
                        "url": reverse("api:insights-stat", args=[stat.name], request=request),
                        "csv_url": reverse("api:insights-stat", args=[stat.name], request=request) + "?format=csv",
                    }
                    for stat in selectors.stats_for(user)
                ],
            }
        )


class InsightsStatView(APIView):
    """One statistic: ``columns`` and ``rows`` (plus extras such as ``total``), as on the page."""

    permission_classes = [permissions.AllowAny]
    renderer_classes = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, CSVRenderer]

    @extend_schema(
        operation_id="insights_stat_retrieve",
        summary="One statistic (columns and rows)",
        parameters=[OpenApiParameter("format", str, enum=["json", "csv"], description="csv: a CSV file")],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The same as CSV"),
        },
    )
    def get(self, request, name: str, format=None):
        stat = selectors.STATS.get(name)
        if stat is None:
            raise NotFound(f"No statistic named {name!r}; see /api/v1/insights/ for the list.")
        if stat.staff_only and not selectors.is_staff_viewer(request.user):
            if not request.user.is_authenticated:
                raise NotAuthenticated("This statistic is for admins and curators.")
            raise PermissionDenied("This statistic is for admins and curators.")
        return Response(selectors.statistic(name, request.user))
