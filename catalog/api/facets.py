"""Facet counts for ``GET /api/v1/models/facets``: the HTML list's facets (catalog.selectors) counted
over the filtered set (every filter applied), every value rather than the first few.

Everybody's counts are the public catalogue's plus those of the private models they may see. The
public counts (and the whole catalogue's, for admins and curators) are cached per set of filters
for CACHE_SECONDS; a signed-in user's own and granted private models are counted by id (owner
index, grants) and cached per user for as long.
A first (uncached) request with selective filters over the whole catalogue is slow at a million
models (seconds: every match is counted); see bench/README.md. The unfiltered counts of the shared
scopes are kept warm by Celery beat (``warm_shared_facets``).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from catalog import filters, selectors
from catalog.models import MLModel, Visibility, is_member, sees_everything

CACHE_SECONDS = getattr(settings, "API_FACETS_CACHE_SECONDS", 60)
NOT_FILTERS = {"sort", "cursor", "limit", "format"}


def _counts(queryset) -> dict[str, dict]:
    """Per facet: value -> (label, count) over ``queryset``: one GROUP BY per facet."""
    return {spec.param: {value: (label, count) for value, label, count in selectors._count_by(spec, queryset)}
            for spec in selectors.MODEL_FACETS}


def _compute(base, data, request) -> dict:
    queryset = filters.MLModelFilter(data, queryset=base, request=request).qs if data else base
    return {"total": queryset.count(), "facets": _counts(queryset)}


def _shared_key(scope: str, data: QueryDict) -> str:
    return f"api:facets:models:{scope}:{hashlib.sha256(data.urlencode().encode()).hexdigest()[:32]}:v1"


def _cached(scope: str, base, data, request) -> dict:
    """The counts of a shared scope (the public catalogue, or everything) for these filters."""
    key = _shared_key(scope, data)
    found = cache.get(key)
    if found is None:
        found = _compute(base, data, request)
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


def _filters(request) -> QueryDict:
    """The filter parameters given, in a canonical order (the cache key), blank ones dropped."""
    data = QueryDict(mutable=True)
    for param in sorted(request.query_params):
        values = sorted(v for v in request.query_params.getlist(param) if v.strip())
        if values and param in filters.MLModelFilter.base_filters and param not in NOT_FILTERS:
            data.setlist(param, values)
    return data


def model_facets(request) -> dict:
    user, data = request.user, _filters(request)
    if data:
        filterset = filters.MLModelFilter(data, queryset=MLModel.objects.visible_to(user), request=request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
    if sees_everything(user):
        return _render(_cached("all", MLModel.objects.all(), data, request))
    public = _cached("public", MLModel.objects.public(), data, request)
    if not is_member(user):
        return _render(public)
    key = f"api:facets:models:user:{user.pk}:{hashlib.sha256(data.urlencode().encode()).hexdigest()[:32]}:v1"
    private = cache.get(key)
    if private is None:  # a heavy uploader has thousands of private models: cached like the rest
        private = _compute(_private_visible(user), data, request)
        cache.set(key, private, CACHE_SECONDS)
    return _render(_merge(public, private))


def warm_shared_facets() -> dict[str, int]:
    """Recount the unfiltered facets of the shared scopes (public, everything) into the cache, so that
    the first request of a cache period does not wait seconds for them at a million models. Run by
    Celery beat (``catalog.tasks.warm_model_facets``) a little more often than CACHE_SECONDS."""
    totals = {}
    for scope, base in (("public", MLModel.objects.public()), ("all", MLModel.objects.all())):
        found = _compute(base, QueryDict(), None)
        cache.set(_shared_key(scope, QueryDict()), found, CACHE_SECONDS)
        totals[scope] = found["total"]
    return totals


def _private_visible(user):
    """The private models the user may see (own or granted), by id: the owner index and the grants,
    rather than an OR over the whole table."""
    from accounts.models import Grant

    own = MLModel.objects.filter(owner=user).exclude(visibility=Visibility.PUBLIC).values_list("pk", flat=True)
    granted = Grant.objects.active().reaching(user).filter(model__isnull=False).values_list("model_id", flat=True)
    ids = set(own) | set(MLModel.objects.filter(pk__in=list(granted)).exclude(
        visibility=Visibility.PUBLIC).values_list("pk", flat=True))
    return MLModel.objects.filter(pk__in=ids)
