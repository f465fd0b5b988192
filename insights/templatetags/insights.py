from __future__ import annotations

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

from insights import selectors
from insights.labels import column_label

YEAR_COLUMNS = {"year", "period"}

register = template.Library()


@register.filter
def cell(value, column: str = ""):
    """A table cell: thousands separators for counts, percentages for shares, a dash for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if (column.startswith("share") or column.endswith("_share")) and isinstance(value, float):
        return f"{value * 100:.1f} %"
    if column in YEAR_COLUMNS and isinstance(value, int):
        return str(value)  # 2003, not "2,003"
    if isinstance(value, int):
        return intcomma(value)
    if isinstance(value, float):
        return intcomma(f"{value:.2f}")
    return value


@register.filter
def numeric(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@register.filter
def column_title(name: str) -> str:
    return column_label(name)


@register.inclusion_tag("insights/_home_summary.html", takes_context=True)
def insights_home_summary(context) -> dict:
    """``{% load insights %}{% insights_home_summary %}``: the public summary for the current viewer."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"insights_summary": selectors.home_summary(user), "user": user}
