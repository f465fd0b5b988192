from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from insights import selectors
from insights.exports import filename, to_csv
from insights.labels import label_column

SECTIONS = (
    ("models", "Models"),
    ("datasets", "Datasets"),
    ("users", "Users and affiliations"),
    ("licences", "Licences"),
)


def csv_response(payload: dict) -> HttpResponse:
    response = HttpResponse(to_csv(payload), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename(payload)}"'
    return response


def pivot(payload: dict) -> dict:
    """media x task counts as a table (rows: media, columns: tasks) for the heat maps' tables."""
    cells = {(r["media"], r["task"]): r["count"] for r in payload["rows"]}
    return {
        "tasks": payload["tasks"],
        "rows": [
            (label_column("media", m), [cells.get((m, t), 0) for t in payload["tasks"]]) for m in payload["media"]
        ],
    }


@login_required
def page(request: HttpRequest) -> HttpResponse:
    """The insights page, for admins and curators (as in the seed); ?format=csv&stat=NAME downloads one table."""
    if not selectors.is_staff_viewer(request.user):
        raise PermissionDenied("The insights page is for admins and curators.")
    if request.GET.get("format") == "csv":
        name = request.GET.get("stat", "")
        if name not in {s.name for s in selectors.stats_for(request.user)}:
            raise Http404("No such statistic.")
        return csv_response(selectors.statistic(name, request.user))
    sections_html, toc = selectors.cached_fragment(request.user, "page", lambda: _render_sections(request.user))
    return render(
        request,
        "insights/page.html",
        {
            "sections_html": mark_safe(sections_html),  # rendered (and escaped) by _sections.html
            "toc": toc,
            "cache_seconds": selectors.cache_seconds(),
        },
    )


def _render_sections(user) -> tuple[str, list]:
    items = []
    for payload in selectors.all_statistics(user):
        x = selectors.STATS[payload["name"]].chart_x
        items.append(
            {
                "stat": payload,
                "table": [
                    [(c, label_column(c, row.get(c)) if c == x else row.get(c)) for c in payload["columns"]]
                    for row in payload["rows"]
                ],
                "pivot": pivot(payload) if payload["chart"] == "heatmap" else None,
            }
        )
    sections = [(key, title, [i for i in items if i["stat"]["section"] == key]) for key, title in SECTIONS]
    sections = [s for s in sections if s[2]]
    chart_data = {i["stat"]["name"]: selectors.chart_config(i["stat"]["name"], i["stat"]["rows"]) for i in items}
    html = render_to_string("insights/_sections.html", {"sections": sections, "chart_data": chart_data})
    return html, [(key, title) for key, title, _ in sections]
