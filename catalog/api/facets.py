"""Facet counts for ``GET /api/v1/models/facets`` and ``GET /api/v1/datasets/facets``: the HTML lists'
facets (catalog.selectors) counted over the filtered set (every filter applied), every value rather
than the first few.

Everybody's counts are the public catalogue's plus those of the private assets they may see. The
public counts (and the whole catalogue's, for admins and curators) are cached per set of filters
for CACHE_SECONDS; a signed-in user's own and granted private assets are counted by id (owner
index, grants) and cached for as long. Every key holds the visibility generation and a user's key
the grants reaching them (``catalog.cache_scopes``, shared with insights), so that a visibility
change, a deletion, a grant, a revocation or an expiry shows in the next request.
A first (uncached) request counts every match (about half a second with three filters at a million
models: see ``_compute`` and bench/README.md). The unfiltered counts of the shared
scopes are kept warm by Celery beat (``warm_shared_facets``).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from catalog import cache_scopes, filters, selectors
from catalog.models import Dataset, MLModel, Visibility, is_member, sees_everything
from catalog.models.base import readable_name

CACHE_SECONDS = settings.API_FACETS_CACHE_SECONDS
NOT_FILTERS = {"sort", "cursor", "limit", "format"}


@dataclass(frozen=True)
class Kind:
    name: str  # "models" or "datasets": the cache keys' and URLs' word
    asset: type
    filterset: type
    specs: list
    grant_field: str  # Grant's foreign key to this kind of asset


KINDS = {
    "models": Kind("models", MLModel, filters.MLModelFilter, selectors.MODEL_FACETS, "model"),
    "datasets": Kind("datasets", Dataset, filters.DatasetFilter, selectors.DATASET_FACETS, "dataset"),
}


def _facet_select(kind: Kind, spec) -> tuple[str, str]:
    """(a column of the matching rows ``f`` the facet needs, or "", the SELECT counting it over ``f``)."""
    model, value = kind.asset, "CAST({} AS TEXT)"  # one type for every facet's values in the UNION
    if spec.m2m:
        column, _ = selectors.M2M_TARGETS[spec.m2m]
        through = getattr(model, spec.m2m).through._meta.db_table
        owner = f"{model._meta.model_name}_id"
        return "", (
            f"SELECT '{spec.param}', {value.format(f't.{column}')}, COUNT(*) FROM {through} t "
            f"JOIN f ON f.id = t.{owner} GROUP BY t.{column}"
        )
    name, _, target = spec.field.partition("__")
    field = model._meta.get_field(name)
    if not target:
        return field.column, (
            f"SELECT '{spec.param}', {value.format(f'f.{field.column}')}, COUNT(*) FROM f "
            f"WHERE f.{field.column} IS NOT NULL AND f.{field.column} <> '' GROUP BY f.{field.column}"
        )
    related = field.related_model
    column = related._meta.get_field(target).column
    return field.column, (
        f"SELECT '{spec.param}', {value.format(f'r.{column}')}, COUNT(*) FROM f JOIN {related._meta.db_table} r "
        f"ON r.{related._meta.pk.column} = f.{field.column} WHERE r.{column} IS NOT NULL AND r.{column} <> '' "
        f"GROUP BY r.{column}"
    )


def _compute(kind: Kind, base, data, request, *, shared: bool = True) -> dict:
    """The total and every facet's counts over the matching rows.

    Filtered: one statement, the filters evaluated once (the matching rows as a materialized CTE),
    then one GROUP BY per facet over them; as one query per facet, a cold count with three filters at
    1M models evaluated them six times (2.3 s against 0.6 s). Unfiltered: one GROUP BY per facet
    straight over the table and its link tables, cheaper than copying every row first (1.6 s against
    2.3 s at 1M models; and kept warm by Celery beat for the shared scopes). A user's private assets
    (``shared=False``, thousands of ids at most) are always counted in one statement.
    """
    if not data and shared:
        return {
            "total": base.count(),
            "facets": {
                spec.param: {value: (label, n) for value, label, n in selectors._count_by(spec, base)}
                for spec in kind.specs
            },
        }
    queryset = kind.filterset(data, queryset=base, request=request).qs if data else base
    selects = [_facet_select(kind, spec) for spec in kind.specs]
    columns = ["id", *dict.fromkeys(column for column, _ in selects if column)]
    try:
        inner, params = queryset.order_by().values_list(*columns).query.sql_with_params()
    except EmptyResultSet:  # e.g. no private assets to count
        return {"total": 0, "facets": {spec.param: {} for spec in kind.specs}}
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
    sql = f"WITH f({', '.join(columns)}) AS {materialized} ({inner}) SELECT 'total', NULL, COUNT(*) FROM f " + " ".join(
        f"UNION ALL {select}" for _, select in selects
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # the matching rows stay in memory (SET LOCAL: this transaction)
            cursor.execute("SELECT set_config('work_mem', '64MB', true)")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    counts: dict[str, list[tuple[str, int]]] = {spec.param: [] for spec in kind.specs}
    total = 0
    for facet, value, n in rows:
        if facet == "total":
            total = n
        else:
            counts[facet].append((value, n))
    return {"total": total, "facets": {spec.param: _labelled(spec, counts[spec.param]) for spec in kind.specs}}


def _labelled(spec, pairs: list[tuple[str, int]]) -> dict[str, tuple[str, int]]:
    """value -> (label, count): choices by their labels, tasks and domains by slug and name."""
    target = selectors.M2M_TARGETS[spec.m2m][1] if spec.m2m else None
    if target is None:
        return {value: (spec.labels.get(value, value), n) for value, n in pairs}
    names = {
        str(pk): (slug, name)
        for pk, slug, name in target.objects.filter(pk__in=[int(value) for value, _ in pairs]).values_list(
            "pk", "slug", "name"
        )
    }
    return {names[value][0]: (names[value][1], n) for value, n in pairs if value in names}  # not deleted since


def _digest(data: QueryDict) -> str:
    return hashlib.sha256(data.urlencode().encode()).hexdigest()[:32]


def _key(kind: Kind, scope: str, data: QueryDict) -> str:
    """``scope``: catalog.cache_scopes.cache_scope (a user's names the grants reaching them)."""
    return f"api:facets:{cache_scopes.generation()}:{kind.name}:{scope}:{_digest(data)}:v2"


COUNTING_SECONDS = 30  # how long one request may hold the right to count a missing entry
WAIT_SECONDS, POLL_SECONDS = 10.0, 0.05


def _cached(kind: Kind, scope: str, base, data, request) -> dict:
    """The counts of a shared scope (the public catalogue, or everything) for these filters.

    A missing entry is counted by one request at a time (whoever adds the ``:counting`` key); the others
    wait for its result, up to WAIT_SECONDS, rather than each running the same count (seconds at a
    million models, and every worker thread of every host missed the entry at once when it expired)."""
    key = _key(kind, scope, data)
    found = cache.get(key)
    if found is not None:
        return found
    if not cache.add(f"{key}:counting", 1, COUNTING_SECONDS):
        deadline = time.monotonic() + WAIT_SECONDS
        while found is None and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            found = cache.get(key)
        if found is not None:
            return found
    try:
        found = _compute(kind, base, data, request)
        cache.set(key, found, CACHE_SECONDS)
    finally:
        cache.delete(f"{key}:counting")
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
    return {
        "total": found["total"],
        "facets": {
            param: [
                {"value": value, "label": label, "count": count}
                for value, (label, count) in sorted(values.items(), key=lambda item: (-item[1][1], item[0]))
            ]
            for param, values in found["facets"].items()
        },
    }


def _filters(kind: Kind, params: QueryDict, user) -> QueryDict:
    """The filter parameters given, in a canonical order (the cache key), blank ones dropped, asset
    references as the ids the caller may see (a hidden asset reads as a missing one)."""
    data = QueryDict(mutable=True)
    for param in sorted(params):
        values = sorted(v for v in params.getlist(param) if v.strip())
        if values and param in kind.filterset.base_filters and param not in NOT_FILTERS:
            data.setlist(param, values)
    return filters.canonical_references(kind.filterset, data, user)


def asset_facets(request, kind_name: str) -> dict:
    kind = KINDS[kind_name]
    data = _filters(kind, request.query_params, request.user)
    if data:
        filterset = kind.filterset(data, queryset=kind.asset.objects.visible_to(request.user), request=request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
    return _render(_counts(kind, data, request))


def _counts(kind: Kind, data: QueryDict, request, scope: str | None = None) -> dict:
    """The total and value -> (label, count) per facet over what the user may see, for valid filters;
    ``scope``: the user's cache scope when already known."""
    user, objects = request.user, kind.asset.objects
    if sees_everything(user):
        return _cached(kind, "all", objects.all(), data, request)
    public = _cached(kind, "public", objects.public(), data, request)
    if not is_member(user):
        return public
    # Keyed by the grants reaching the user: a new grant, a revocation or an expiry shows in the next
    # request; the user's own private assets follow the cache period like the public counts.
    key = _key(kind, scope or cache_scopes.cache_scope(user), data)
    private = cache.get(key)
    if private is None:  # a heavy uploader has thousands of private models: cached like the rest
        private = _compute(kind, _private_visible(kind, user, _grant_ids(kind, user)), data, request, shared=False)
        cache.set(key, private, CACHE_SECONDS)
    return _merge(public, private)


def sidebar(request, kind_name: str, params: QueryDict) -> list[dict]:
    """The HTML list's facet sidebar for parameters its FilterSet has validated, from the API's cached
    counts: each facet counted under every *other* parameter, so that choosing a value still shows its
    alternatives' counts (one cached count for the unselected facets, one per selected one; counted
    on every request, the sidebar took seconds at a million models)."""
    kind, scope = KINDS[kind_name], cache_scopes.cache_scope(request.user)  # one grants query at most
    everything = _counts(kind, _filters(kind, params, request.user), request, scope)
    facets = []
    for spec in kind.specs:
        found = everything
        if spec.param in params:
            others = params.copy()
            others.pop(spec.param)
            found = _counts(kind, _filters(kind, others, request.user), request, scope)
        selected = set(params.getlist(spec.param))
        values = [
            {"value": value, "label": readable_name(value, label) if spec.m2m else label, "count": count,
             "selected": value in selected}
            for value, (label, count) in sorted(found["facets"][spec.param].items(), key=lambda i: (-i[1][1], i[0]))
        ]  # fmt: skip
        limit = selectors.FACET_LIMIT
        shown = values[:limit] + [v for v in values[limit:] if v["selected"]]
        rest = [v for v in values[limit:] if not v["selected"]]  # behind "N more" (a disclosure)
        facets.append({"param": spec.param, "title": spec.title, "values": shown, "rest": rest, "more": len(rest)})
    return facets


def warm_shared_facets() -> dict[str, int]:
    """Recount the unfiltered facets of the shared scopes (public, everything) of models and datasets
    into the cache, so that the first request of a cache period does not wait seconds for them at a
    million models. Run by Celery beat (``catalog.tasks.warm_facets``) a little more often than
    CACHE_SECONDS."""
    totals = {}
    for kind in KINDS.values():
        objects = kind.asset.objects
        for scope, base in (("public", objects.public()), ("all", objects.all())):
            key = _key(kind, scope, QueryDict())  # before counting: a bump meanwhile retires these counts
            found = _compute(kind, base, QueryDict(), None)
            cache.set(key, found, CACHE_SECONDS)
            totals[f"{kind.name}:{scope}"] = found["total"]
    return totals


def _grant_ids(kind: Kind, user) -> list[tuple[int, int]]:
    """(grant id, asset id) of the active grants on this kind of asset reaching the user, sorted."""
    from accounts.models import Grant

    return sorted(
        Grant.objects.active()
        .reaching(user)
        .filter(**{f"{kind.grant_field}__isnull": False})
        .values_list("pk", f"{kind.grant_field}_id")
    )


def _private_visible(kind: Kind, user, grants: list[tuple[int, int]]):
    """The private assets the user may see (own or granted), by id: the owner index and the grants,
    rather than an OR over the whole table."""
    objects = kind.asset.objects
    own = objects.filter(owner=user).exclude(visibility=Visibility.PUBLIC).values_list("pk", flat=True)
    granted = objects.filter(pk__in=[asset for _, asset in grants]).exclude(visibility=Visibility.PUBLIC)
    return objects.filter(pk__in=set(own) | set(granted.values_list("pk", flat=True)))
