"""Cold and warm times of the insights page and of each statistic at 1,000,000 models.

    .venv/bin/python bench/insights.py [--database omh_bench] [--models 1000000] [--datasets 200000]

Uses a dedicated PostgreSQL database (created when missing; filled by ``generate_catalog`` up to
the requested size, reused when already populated) and Redis as the cache. For three viewers (an
admin, an anonymous visitor, and a user with their own private assets and grants) it prints each
statistic's cold time (computed by the database, cache bypassed: first run and median of three),
then the page cold (empty cache) and warm (p50 / p95 over --runs requests through Django's test
client: middleware, session, cache, template), the API and the home summary warm.
Targets: warm page p95 < 100 ms, every cold statistic < 2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py is named like the standard library's http package: bench/ must not be on the import path.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="omh_bench", help="PostgreSQL database (default omh_bench)")
    parser.add_argument(
        "--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL without the database name"
    )
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--models", type=int, default=1_000_000)
    parser.add_argument("--datasets", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=50, help="warm requests per measurement (default 50)")
    return parser.parse_args()


def ensure_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    args = parse_args()
    ensure_database(args.server, args.database)
    os.environ["DATABASE_URL"] = f"{args.server}/{args.database}"
    os.environ["REDIS_URL"] = args.redis
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openmodelhub.settings")
    import django

    django.setup()
    from django.conf import settings

    # No collectstatic here: the manifest storage would refuse to render the page.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    populate(args, call_command, connection)
    viewers = make_viewers()
    bench_statistics(viewers)
    bench_pages(viewers, args.runs)


def populate(args, call_command, connection) -> None:
    from catalog.models import Dataset, MLModel

    models, datasets = MLModel.objects.count(), Dataset.objects.count()
    missing_models, missing_datasets = max(0, args.models - models), max(0, args.datasets - datasets)
    if missing_models or missing_datasets:
        print(f"generating {missing_models:,} models and {missing_datasets:,} datasets ...")
        call_command("generate_catalog", models=missing_models, datasets=missing_datasets, seed=42, batch=20_000)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(
        f"catalogue: {MLModel.objects.count():,} models, {Dataset.objects.count():,} datasets "
        f"(PostgreSQL {connection.pg_version // 10000}, cache {settings_cache()})"
    )


def settings_cache() -> str:
    from django.conf import settings

    return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]


def make_viewers() -> dict:
    from django.contrib.auth.models import AnonymousUser
    from django.db.models import Count

    from accounts.models import Grant, User
    from catalog.models import MLModel

    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "bench@example.org", "bench-admin-pass"
    )
    # The busiest uploader among ordinary users, with grants on a few private models of others.
    user = User.objects.filter(role="user").annotate(n=Count("owned_mlmodels")).order_by("-n").first()
    if not Grant.objects.filter(user=user).exists():
        private = MLModel.objects.filter(visibility="private").exclude(owner=user).values_list("id", flat=True)[:50]
        Grant.objects.bulk_create([Grant(model_id=pk, user=user, permission="read") for pk in private])
    return {"admin": admin, "anonymous": AnonymousUser(), f"user ({user.username})": user}


def bench_statistics(viewers: dict) -> None:
    from insights import selectors

    print("\nCold statistics (computed by the database, cache bypassed), ms: first run / median of 3")
    names = [s.name for s in selectors.stats_for(viewers["admin"])]
    header = f"{'statistic':30}" + "".join(f"{label[:22]:>24}" for label in viewers)
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name in names:
        stat = selectors.STATS[name]
        cells = []
        for user in viewers.values():
            if stat not in selectors.stats_for(user):
                cells.append(f"{'(staff only)':>24}")
                continue
            runs = [timed(selectors.compute, stat, user) for _ in range(3)]
            worst = max(worst, runs[0])
            cells.append(f"{runs[0]:>13.0f} / {statistics.median(runs):>7.0f}")
        print(f"{name:30}" + "".join(cells))
    print(f"slowest cold statistic: {worst:.0f} ms (target < 2000 ms)")


def bench_pages(viewers: dict, runs: int) -> None:
    from django.test import Client
    from django.urls import reverse

    from insights import selectors

    admin = viewers["admin"]
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    selectors.invalidate()
    cold = timed(client.get, reverse("insights:page"))
    warm = [timed(client.get, reverse("insights:page")) for _ in range(runs)]
    print(
        f"\nPage /insights/ (admin): cold {cold:.0f} ms (every statistic computed); "
        f"warm p50 {percentile(warm, 0.5):.1f} ms, p95 {percentile(warm, 0.95):.1f} ms (target < 100 ms)"
    )
    api = reverse("api:insights-stat", args=["models_media_task"])
    for label, user in viewers.items():
        api_client = Client(HTTP_HOST="localhost")
        if user.is_authenticated:
            api_client.force_login(user)
        api_client.get(api)
        selectors.home_summary(user)
        warm_api = [timed(api_client.get, api) for _ in range(runs)]
        warm_home = [timed(selectors.home_summary, user) for _ in range(runs)]
        print(
            f"{label:>24}: API {api} warm p95 {percentile(warm_api, 0.95):.1f} ms; "
            f"home summary warm p95 {percentile(warm_home, 0.95):.2f} ms"
        )


if __name__ == "__main__":
    main()
