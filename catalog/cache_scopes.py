"""Cache keys for whatever is computed over the assets a viewer may see (insights, API facet counts).

A cached result may name or count an asset only while its viewers may still see it. Two parts of
every key see to that, so that the next request after a change no longer shows the asset:

- the *visibility generation*, one counter in the cache, bumped (after the commit) by the services
  that change who may see an asset: a visibility change, a deletion, a change of owner; and by the
  bulk loaders (load_records, generate_catalog) when they wrote something. Every
  scope's entries fall out of use at once and expire by themselves.
- a signed-in user's scope names the active grants reaching them (directly or through an
  affiliation), so that a new grant, a revocation and an expiry change their key. An expiry is no
  event (``expires_at`` simply passes), which is why no counter could follow it; this costs one
  small query on the grants per request. Grants never touch the shared scopes ("public", "all"),
  whose first counts take seconds at a million models: they are not bumped for them.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache
from django.db import transaction

from catalog.models import is_member, sees_everything

GENERATION_KEY = "catalog:visibility-generation"


def _seed() -> int:
    # From the clock: were the counter lost (eviction, a cache restart), the new value would still
    # be above every earlier one, so that no entry of an older generation comes back into use.
    return time.time_ns() // 1000


def generation() -> int:
    """The current visibility generation (part of every key of the caches this module scopes)."""
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, _seed(), None)
        value = cache.get(GENERATION_KEY) or _seed()
    return int(value)


def _bump() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no counter yet (or lost): any fresh seed is above the old values
        cache.add(GENERATION_KEY, _seed(), None)


def bump_generation(*, on_commit: bool = True) -> None:
    """Retire every cached scope, by default once the current transaction commits (at once outside
    one): a request computing meanwhile reads the old rows under the old generation, never under the
    new one."""
    if on_commit:
        transaction.on_commit(_bump)
    else:
        _bump()


def cache_scope(user) -> str:
    """Viewers who see the same assets share a scope: "public", "all" (admins and curators), or one
    signed-in user with the active grants reaching them."""
    if not is_member(user):
        return "public"
    if sees_everything(user):
        return "all"
    from accounts.models import Grant

    grants = list(Grant.objects.active().reaching(user).order_by("pk").values_list("pk", flat=True))
    return f"user-{user.pk}-{hashlib.sha256(repr(grants).encode()).hexdigest()[:16]}"
