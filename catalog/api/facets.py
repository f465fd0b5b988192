"""Facet counts for ``GET /api/v1/models/facets``: the HTML list's facets (catalog.selectors) counted
over the filtered set (every filter applied), every value rather than the first few; the unfiltered
case cached.

Unfiltered, everybody's counts are the public catalogue's plus the private models they may see. The
public counts (and the whole catalogue's, for admins and curators) are cached for CACHE_SECONDS;
a signed-in user's own and granted private models are counted live, which is cheap: they are few
next to the catalogue, and found through the owner index and the grants.
"""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from rest_framework.exceptions import ValidationError

from catalog import filters, selectors
from catalog.models import MLModel, Visibility, is_member, sees_everything

CACHE_SECONDS = getattr(settings, "API_FACETS_CACHE_SECONDS", 60)
NOT_FILTERS = {"sort", "cursor", "limit", "format"}


def _counts(queryset) -> dict[str, dict]:
    """Per facet: value -> (label, count) over ``queryset``: one GROUP BY per facet."""
    return {spec.param: {value: (label, count) for value, label, count in selectors._count_by(spec, queryset)}
            for spec in selectors.MODEL_FACETS}


def _cached(scope: str, queryset) -> dict:
    key = f"api:facets:models:{scope}:v1"
    found = cache.get(key)
    if found is None:
        found = {"total": queryset.count(), "facets": _counts(queryset)}
        cache.set(key, found, CACHE_SECONDS)
    return found


def _merge(public: dict, private: dict) -> dict:
    facets = {}
    for param, values in public["facets"].items():
        merged = dict(values)
        for value, (label, count) in private["facets"][param].items():
            merged[value] = (label, merged.get(value, (label, 0))[1] + count)
        facets[param] = merged
    return {"total": public["total"] + private["total"], "facets": facets}


def _render(found: dict) -> dict:
    return {"total": found["total"], "facets": {
        param: [{"value": value, "label": label, "count": count}
                for value, (label, count) in sorted(values.items(), key=lambda item: (-item[1][1], item[0]))]
        for param, values in found["facets"].items()}}


def model_facets(request) -> dict:
    user = request.user
    data = request.query_params.copy()
    for param in list(data):
        if param in NOT_FILTERS or param not in filters.MLModelFilter.base_filters:
            data.pop(param)
    if any(value for _, values in data.lists() for value in values):
        filterset = filters.MLModelFilter(data, queryset=MLModel.objects.visible_to(user), request=request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return _render({"total": filterset.qs.count(), "facets": _counts(filterset.qs)})
    if sees_everything(user):
        return _render(_cached("all", MLModel.objects.all()))
    public = _cached("public", MLModel.objects.public())
    if not is_member(user):
        return _render(public)
    own_or_granted = Q(owner=user) | Q(pk__in=MLModel.objects._grants(user))
    private = MLModel.objects.filter(own_or_granted).exclude(visibility=Visibility.PUBLIC)
    return _render(_merge(public, {"total": private.count(), "facets": _counts(private)}))
