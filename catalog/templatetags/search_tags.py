"""``{% similar_assets asset as similar %}``: the "Similar models" / "Similar datasets" of an asset page,
among what the viewer may see (catalog.semantic)."""

from django import template

from catalog import selectors, semantic

register = template.Library()

SIMILAR_ON_PAGE = 6


@register.simple_tag(takes_context=True)
def similar_assets(context, asset) -> list:
    user = context["request"].user
    return semantic.similar_rows(asset, selectors.list_queryset(type(asset), user), SIMILAR_ON_PAGE)
