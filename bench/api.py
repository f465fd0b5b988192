"""API latency at 1,000,000 models / 200,000 datasets (PostgreSQL), in process.

    .venv/bin/python bench/api.py [--database omh_bench] [--runs 40] [--user NAME] [--no-explain]

Requests go through Django's test client (``rest_framework.test.APIClient``) with DEBUG off: URL
routing, middleware, authentication, throttling (rates raised so it never answers 429), the
FilterSet, the query, serialisation and JSON rendering; no network and no WSGI server. Needs the
database filled by ``manage.py generate_catalog --models 1000000 --datasets 200000`` and migrated
(catalog 0004-0006: search vectors, keyset and API indexes). Redis is the cache when reachable.

For each scenario it prints p50 / p95 / max over ``--runs`` warm requests (after 3 warm-up ones)
for two callers: anonymous (the public catalogue) and a signed-in user owning private models
(``visible_to``: public, own or granted). Then EXPLAIN (ANALYZE, BUFFERS) of the search and filter
queries as the API runs them. Target: p95 < 50 ms for each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py is named like the standard library's http package: bench/ must not be on the import path.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

TARGET_MS = 50.0
DEEP_PAGES = 200


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="omh_bench")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--runs", type=int, default=40, help="timed requests per scenario (default 40)")
    parser.add_argument(
        "--user", default="", help="the signed-in caller (default: the owner of the most private models)"
    )
    parser.add_argument("--no-explain", action="store_true")
    return parser.parse_args()


def setup(args) -> None:
    os.environ["DATABASE_URL"] = f"{args.server}/{args.database}"
    os.environ.setdefault("REDIS_URL", args.redis)
    os.environ["DEBUG"] = "0"
    os.environ["API_THROTTLE_ANON"] = "100000000/minute"
    os.environ["API_THROTTLE_USER"] = "100000000/minute"
    os.environ["DJANGO_SETTINGS_MODULE"] = "openmodelhub.settings"
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(client, url: str, runs: int, method: str = "get", body=None, before=None, warmup: int = 3) -> list[float]:
    def once() -> float:
        if before is not None:
            before()
        started = time.perf_counter()
        if method == "post":
            response = client.post(url, body, format="json")
        else:
            response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code} {response.content[:300]!r}")
        return elapsed

    for _ in range(warmup):
        once()
    return [once() for _ in range(runs)]


def deep_cursor_url(client, url: str, pages: int, link: str = "next") -> str:
    """The URL reached by following ``link`` ``pages`` times from ``url``."""
    for _ in range(pages):
        following = client.get(url).json()[link]
        if not following:
            break
        parts = urlsplit(following)
        url = f"{parts.path}?{parts.query}"
    return url


def pick_user(name: str):
    from django.db.models import Count, Q

    from accounts.models import User

    if name:
        return User.objects.get(username=name)
    return (
        User.objects.filter(role="user", is_active=True)
        .annotate(n=Count("owned_mlmodels", filter=Q(owned_mlmodels__visibility="private")))
        .order_by("-n")
        .first()
    )


def scenarios(client, sample) -> list[tuple[str, str, str, object]]:
    task, media, family = sample
    base = "/api/v1/models/"
    return [
        ("first list page", "get", base, None),
        (f"page {DEEP_PAGES + 1} of the cursor", "get", deep := deep_cursor_url(client, base, DEEP_PAGES), None),
        (
            f"page {DEEP_PAGES} (previous of {DEEP_PAGES + 1})",
            "get",
            deep_cursor_url(client, deep, 1, "previous"),
            None,
        ),
        ("three-facet filter", "get", f"{base}?task={task}&media={media}&architecture={family}", None),
        ("full-text search", "get", f"{base}?search=llama%20instruct", None),
        ("model detail", "get", None, None),  # filled per caller
        ("facet counts", "get", "/api/v1/models/facets", None),
        (
            "facet counts, filtered",
            "get",
            f"/api/v1/models/facets?task={task}&media={media}&architecture={family}",
            None,
        ),
        ("dataset facet counts", "get", "/api/v1/datasets/facets", None),
        (
            "dataset scoring",
            "post",
            "/api/v1/datasets/score",
            {"filters": {"anonymization_applied": True, "year_min": 2018}, "limit": 50},
        ),
    ]


# Printed for the record, without the list target: scoring ranks up to 10,000 candidates per request,
# and a cold facet count (cache emptied before each request) counts every match.
COLD = {
    "facet counts, cold cache": "facet counts",
    "facet counts, filtered, cold cache": "facet counts, filtered",
    "dataset facet counts, cold cache": "dataset facet counts",
}
NO_TARGET = {"dataset scoring", *COLD}


def explain(sql: str, params) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def explain_api_queries(user, sample) -> None:
    """The list queries exactly as the API builds them (FilterSet, visible_to, keyset ordering)."""
    from django.http import QueryDict
    from rest_framework.test import APIRequestFactory

    from catalog import filters
    from catalog.api.views import _model_list_queryset

    task, media, family = sample
    for title, query in (
        ("full-text search", "search=llama%20instruct"),
        ("three-facet filter", f"task={task}&media={media}&architecture={family}"),
    ):
        request = APIRequestFactory().get(f"/api/v1/models/?{query}")
        request.user = user
        data = QueryDict(query)
        queryset = filters.MLModelFilter(data, queryset=_model_list_queryset(user), request=request).qs
        ordering = filters.ordering(None, "search" in data, filters.MODEL_SORTS)
        sql, params = queryset.order_by(*ordering)[:51].query.sql_with_params()
        print(f"\n--- EXPLAIN (ANALYZE, BUFFERS): {title}, as {user.username} ---")
        print(explain(sql, params))


def main() -> None:
    args = parse_args()
    setup(args)
    from django.core.cache import cache
    from django.db import connection
    from rest_framework.test import APIClient

    from catalog.models import MLModel

    models = connection.cursor()
    models.execute("SELECT count(*) FROM catalog_mlmodel")
    count = models.fetchone()[0]
    models.execute("SELECT count(*) FROM catalog_dataset")
    datasets = models.fetchone()[0]
    print(
        f"database {args.database}: {count:,} models, {datasets:,} datasets; cache "
        f"{'Redis' if os.environ.get('REDIS_URL') else 'local memory'}; {args.runs} timed requests each"
    )
    cache.clear()
    user = pick_user(args.user)
    sample = ("text-generation", "text", "transformer")
    public_model = MLModel.objects.public().order_by("-downloads").values_list("owner__username", "name").first()
    own_model = MLModel.objects.filter(owner=user, visibility="private").values_list("owner__username", "name").first()
    failures = []
    header = f"{'scenario':38} {'caller':10} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    print(header + "\n" + "-" * len(header))
    for caller, client_user, detail in (("anonymous", None, public_model), (user.username, user, own_model)):
        client = APIClient()
        if client_user is not None:
            client.force_authenticate(client_user)
        items = scenarios(client, sample)
        for title, method, url, body in items:
            if title == "model detail":
                url = f"/api/v1/models/{detail[0]}/{detail[1]}/"
            times = measure(client, url, args.runs, method, body)
            p50, p95 = statistics.median(times), percentile(times, 0.95)
            flag = "" if p95 < TARGET_MS or title in NO_TARGET else "  > target"
            if flag:
                failures.append(f"{title} ({caller})")
            print(
                f"{title:38} {caller[:10]:10} {p50:8.1f} {p95:8.1f} {max(times):8.1f}{flag}"
                f"{'  (no target)' if title in NO_TARGET else ''}"
            )
        for title, warm_title in COLD.items():
            url = next(u for t, _, u, _ in items if t == warm_title)
            times = measure(client, url, min(args.runs, 5), before=cache.clear, warmup=0)
            print(
                f"{title:38} {caller[:10]:10} {statistics.median(times):8.1f} {percentile(times, 0.95):8.1f} "
                f"{max(times):8.1f}  (no target)"
            )
    print(f"\ntarget p95 < {TARGET_MS:g} ms: " + ("all met" if not failures else "missed by " + "; ".join(failures)))
    if not args.no_explain:
        from django.contrib.auth.models import AnonymousUser

        explain_api_queries(AnonymousUser(), sample)
        explain_api_queries(user, sample)


if __name__ == "__main__":
    main()
