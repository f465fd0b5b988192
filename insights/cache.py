"""Caching of statistics per visibility scope for ``INSIGHTS_CACHE_SECONDS``.

Keys carry the visibility generation and the viewer's scope (``catalog.cache_scopes``): a visibility
change, a deletion, a grant, a revocation or an expiry shows in the next request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from catalog import cache_scopes

CACHE_PREFIX = "insights:v1"
T = TypeVar("T")


def cache_seconds() -> int:
    return settings.INSIGHTS_CACHE_SECONDS


def invalidate() -> None:
    """Drop every cached statistic (all scopes, and the API's facet counts) at once, e.g. after a bulk import."""
    cache_scopes.bump_generation(on_commit=False)


def scope_prefix(user) -> str:
    """The viewer's cache scope in the current visibility generation."""
    return f"{CACHE_PREFIX}:{cache_scopes.generation()}:{cache_scopes.cache_scope(user)}"


def key(prefix: str, name: str) -> str:
    return f"{prefix}:{name}"


def get_or_set(cache_key: str, compute: Callable[[], T], *, use_cache: bool = True) -> T:
    """The cached value, or ``compute()`` stored for ``cache_seconds()``; ``use_cache=False`` recomputes."""
    value = cache.get(cache_key) if use_cache else None
    if value is None:
        value = compute()
        cache.set(cache_key, value, cache_seconds())
    return value
