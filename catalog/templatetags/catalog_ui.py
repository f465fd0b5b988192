"""Template helpers of the browsing pages: Markdown cards (sanitised), query-string links, yes/no/unknown."""

from __future__ import annotations

import re
from xml.etree import ElementTree
from urllib.parse import urlsplit

import markdown as md
import markdown.extensions
import markdown.inlinepatterns
import markdown.util
import nh3
from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.html import escape
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


class BareUrlExtension(md.extensions.Extension):
    """Bare http(s) URLs in a card become links, as on Hugging Face (nh3 then adds rel=nofollow
    noopener); code spans and blocks stay text, and no other scheme is linked."""

    PATTERN = r"\bhttps?://[^\s<>\"'`\]\[]*[^\s<>\"'`\]\[.,;:!?)]"

    class Processor(md.inlinepatterns.InlineProcessor):
        def handleMatch(self, m, data):  # noqa: N802 - Markdown's API
            link = ElementTree.Element("a")
            link.set("href", m.group(0))
            link.text = md.util.AtomicString(m.group(0))
            return link, m.start(0), m.end(0)

    def extendMarkdown(self, markdown):  # noqa: N802 - Markdown's API
        markdown.inlinePatterns.register(self.Processor(self.PATTERN, markdown), "bare_url", 5)


CARD_EXTENSIONS = ["tables", "fenced_code", "sane_lists", BareUrlExtension()]


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML, then sanitised by nh3 (an allow-list: no script, no style, no event
    handlers, no javascript: links; links get rel="noopener noreferrer nofollow")."""
    from catalog.cards import split_front_matter

    _, text = split_front_matter(text or "")  # a README's YAML front matter is metadata, not card text
    html = md.markdown(
        text[:MAX_CARD_CHARS],
        extensions=CARD_EXTENSIONS,
        output_format="html",
    )
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


URL_IN_TEXT = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING_PUNCTUATION = ".,;:!?)]}"


def _link(url: str) -> str:
    return f'<a href="{escape(url)}" rel="nofollow noopener noreferrer">{escape(url)}</a>'


@register.filter(needs_autoescape=False)
def linkify(text) -> SafeString:
    """Plain text with its http(s) URLs as links (nofollow, noopener); everything else escaped and no
    other scheme linked (no javascript:, data:, ftp:)."""
    text = "" if text is None else str(text)
    parts, last = [], 0
    for match in URL_IN_TEXT.finditer(text):
        url = match.group(0)
        stripped = url.rstrip(TRAILING_PUNCTUATION)
        if "(" in url and url.endswith(")") and url.count("(") == url.count(")"):
            stripped = url  # a balanced parenthesis belongs to the URL (Wikipedia pages)
        parts += [escape(text[last : match.start()]), _link(stripped)]
        last = match.start() + len(stripped)
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above


@register.filter
def safe_url(value) -> str:
    """``value`` when it is an http(s) URL, else "" (so an href never carries another scheme)."""
    text = "" if value is None else str(value).strip()
    return text if urlsplit(text).scheme.lower() in ("http", "https") else ""


@register.filter
def architecture_label(model) -> str:
    """ "Transformer · LlamaForCausalLM", or the name alone when it already says the family
    ("Transformer decoder", not "Transformer transformer decoder")."""
    family = model.get_architecture_family_display()
    name = (model.architecture_name or "").strip()
    if not name:
        return family
    if model.architecture_family and model.architecture_family.lower() in name.lower():
        return name[:1].upper() + name[1:]
    return f"{family} · {name}"


@register.filter
def has_any(obj, fields: str) -> bool:
    """Whether any of the comma-separated attributes of ``obj`` is set (a details table worth showing)."""
    return obj is not None and any(getattr(obj, f.strip(), None) not in (None, "") for f in fields.split(","))


@register.simple_tag
def dataset_facts(dataset) -> list[str]:
    """The short facts of a dataset row, only those known (joined with " · ": no stray separator)."""
    facts = []
    if dataset.year:
        facts.append(str(dataset.year))
    if dataset.instances_number is not None:
        facts.append(f"{intcomma(dataset.instances_number)} instances")
    if dataset.license_id:
        facts.append(license_short(dataset.license))
    elif dataset.license_declared:
        facts.append(dataset.license_declared)
    return facts


@register.filter
def license_short(license) -> str:
    """A licence's short id for list rows: its SPDX id, or its key when the SPDX id is a long
    ``LicenseRef-scancode-…`` reference."""
    spdx = license.spdx_id or ""
    return license.key if not spdx or spdx.startswith("LicenseRef-") else spdx
