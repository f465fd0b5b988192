"""Template helpers of the browsing pages: Markdown cards (sanitised), query-string links, yes/no/unknown."""

from __future__ import annotations

import markdown as md
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "code": {"class"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}  # no javascript:, no data:, no vbscript:
MAX_CARD_CHARS = 200_000


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML, then sanitised by nh3 (an allow-list: no script, no style, no event
    handlers, no javascript: links; links get rel="noopener noreferrer nofollow")."""
    from catalog.cards import split_front_matter

    _, text = split_front_matter(text or "")  # a README's YAML front matter is metadata, not card text
    html = md.markdown(text[:MAX_CARD_CHARS], extensions=["tables", "fenced_code", "sane_lists"], output_format="html")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - nh3's output is the sanitised HTML


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return render_markdown(text)


@register.filter
def tristate(value) -> str:
    """Ethics checklist answers: True / False / None -> yes / no / unknown."""
    return "unknown" if value is None else ("yes" if value else "no")


@register.filter
def stat(value) -> str:
    """A column statistic: floats to 4 significant digits, everything else as it is."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return value


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None or "" removes them); the
    cursor is dropped unless given, since a changed query starts again from the first page."""
    query = context["request"].GET.copy()
    query.pop("cursor", None)
    for name, value in changes.items():
        query.pop(name, None)
        if value not in (None, ""):
            query[name] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"
