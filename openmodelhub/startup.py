"""What a serving process does once Django is set up, before its first request: import every view (the
URLconf resolves lazily, so the first request would otherwise import half the project) and load the search's
query encoder and vector indexes (the first search would otherwise wait ~0.4 s for them), move everything alive
then into the garbage collector's permanent generation (``gc.freeze``), and collect a request's cyclic garbage
when it has been answered instead of in the middle of a later one.

Why: a request leaves ~2,700 objects in reference cycles (model instances and their state, the filter form and
its bound fields, querysets: Django's own structures), which only the cyclic collector frees. With CPython's
defaults (a young collection every 700 allocations) they were promoted while the request ran and piled up for
full collections, which walk every tracked object, ~270,000 of them from Django, DRF and the project's modules:
50-110 ms, every ~30 requests, which was every outlier of the search benchmark at 1,000,000 models (max
142-196 ms against a p50 of ~30; bench/README.md, "Search"). Now the startup objects are skipped by every
collection, a request runs without one (the young generation's threshold is above what a request allocates),
and ``request_finished`` (after the response was sent) frees the request's garbage in a young collection of
~1 ms. Called by ``openmodelhub.wsgi``, ``openmodelhub.asgi`` and the benchmarks that time requests in process.
"""

from __future__ import annotations

import gc

YOUNG = 50_000  # container objects allocated (net) before a young collection: above what one request allocates


def settle() -> int:
    """Import the URLconf's views, load what search keeps in memory, collect once, freeze what is left, and
    collect young garbage after each request; returns how many objects were frozen."""
    from django.core.signals import request_finished
    from django.urls import get_resolver

    from catalog import semantic

    get_resolver().url_patterns  # noqa: B018 (imports every view module)
    semantic.warm()  # the query encoder and the vector indexes: ~0.4 s the first search would otherwise wait
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
    request_finished.connect(collect_young, dispatch_uid="openmodelhub.startup.collect_young")
    return gc.get_freeze_count()


def collect_young(**kwargs) -> None:
    gc.collect(0)
