"""Statistics over the catalogue as the pages, the API, the tasks and the commands read them:
computed over what the viewer may see (``insights.statistics``, ``insights.lineage``) and cached
per visibility scope (``insights.cache``). docs/insights.md describes the whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache

from accounts.models import User
from insights.labels import column_label, label_column, labels_for
from insights.cache import cache_seconds, get_or_set, invalidate, key, scope_prefix
from insights.queries import visible_datasets, visible_models
from insights.statistics import STATS, Stat, compute, is_staff_viewer, scope_of, stats_for

__all__ = [
    "STATS",
    "Stat",
    "all_statistics",
    "cache_seconds",
    "cached_fragment",
    "chart_config",
    "compute",
    "home_summary",
    "invalidate",
    "is_staff_viewer",
    "scope_of",
    "statistic",
    "stats_for",
    "warm_shared_scopes",
]

HOME_STATS = ("models_by_media", "models_by_family", "models_by_license_category", "dataset_domains")


def statistic(name: str, user, *, use_cache: bool = True, prefix: str | None = None) -> dict:
    """One statistic for this viewer, from the cache when fresh. Raises KeyError for unknown names.
    ``prefix``: the viewer's ``scope_prefix``, when the caller has it already."""
    stat = STATS[name]
    return get_or_set(key(prefix or scope_prefix(user), name), lambda: compute(stat, user), use_cache=use_cache)


def all_statistics(user) -> list[dict]:
    """Every statistic this viewer may see, fetched from the cache in one round trip."""
    prefix = scope_prefix(user)
    keys = {key(prefix, s.name): s for s in stats_for(user)}
    cached = cache.get_many(list(keys))
    return [
        cached.get(k) or get_or_set(k, lambda stat=stat: compute(stat, user), use_cache=False)
        for k, stat in keys.items()
    ]


def cached_fragment(user, name: str, render: Callable[[], Any]) -> Any:
    """A rendered piece of page for the viewer's scope, cached like the statistics it shows."""
    return get_or_set(key(scope_prefix(user), f"fragment:{name}"), render)


def warm_shared_scopes() -> dict[str, float]:
    """Compute every statistic of the two shared scopes ("all" for staff, "public") into the cache.

    Per-user scopes are left to their first request. Returns the seconds spent per scope.
    """
    from django.contrib.auth.models import AnonymousUser

    staff = User(username="insights-warmer", role=User.Role.ADMIN, is_active=True)  # never saved
    spent = {}
    for user in (staff, AnonymousUser()):
        started = time.perf_counter()
        prefix = scope_prefix(user)
        for stat in stats_for(user):
            statistic(stat.name, user, use_cache=False, prefix=prefix)
        spent[scope_of(user)] = time.perf_counter() - started
    return spent


def chart_config(name: str, rows: list[dict]) -> dict:
    """What static/insights/charts.js needs to draw one statistic."""
    stat = STATS[name]
    return {
        "chart": stat.chart,
        "x": stat.chart_x,
        "y": list(stat.chart_y),
        "title": stat.title,
        "rows": rows,
        "labels": labels_for(stat.chart_x or "media", rows),  # "CNN" for cnn, "No media type" for none
        "series": {column: column_label(column) for column in stat.chart_y},
    }


def home_summary(user) -> dict:
    """The public summary for the home page: counts and a few shares over what the viewer may see."""
    prefix = scope_prefix(user)
    counts = get_or_set(
        key(prefix, "home_counts"),
        lambda: {"models": visible_models(user).count(), "datasets": visible_datasets(user).count()},
    )
    charts, chart_data = [], {}
    for name in HOME_STATS:
        payload = statistic(name, user, prefix=prefix)
        label = STATS[name].chart_x
        charts.append(
            {
                "name": name,
                "title": payload["title"],
                "rows": [{"label": label_column(label, r[label]), "value": r["count"]} for r in payload["rows"]],
            }
        )
        chart_data[name] = chart_config(name, payload["rows"])
    return {"counts": counts, "charts": charts, "chart_data": chart_data}
