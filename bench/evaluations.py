"""Evaluation results (issue #20): the timm import and the "top-1 above 80 on ImageNet-R" reads.

    .venv/bin/python bench/evaluations.py [--engine sqlite,postgresql] [--dir ../shared/data/timm-results]
        [--requests 50] [--database-url postgres://postgres@127.0.0.1:5432/omh_bench_evaluations]

Each engine runs in a fresh process on an empty catalogue (SQLite: a throw-away embedded hub in a temporary
folder; PostgreSQL: the database ``--database-url`` names, dropped and created again), Celery eager (the
licence analysis of the new models runs after the import's commit, inside the measured time).

1. ``import_timm_results`` of the full tables: seconds, split into reading/checking the CSVs and writing
   (with the SQL statements), then a second run (nothing changes). Target (issue 20): well under a minute.
2. ``GET /api/v1/evaluations/?dataset=timm/imagenet-r&metric=top1&value_min=80`` (one page of 50), the model
   list filtered the same way, and the dataset page's leaderboard, anonymous, through Django's WSGI handler:
   p50 and p95 over ``--requests``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.probes import run_per_engine  # noqa: E402

PROBE = r"""
import io, statistics, sys, time
from pathlib import Path
import django
django.setup()
from django.conf import settings
settings.ALLOWED_HOSTS = ["*"]
settings.STORAGES = {**settings.STORAGES, "staticfiles": {  # pages without collectstatic's manifest
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from catalog.discovery.timm import read_tables
from catalog.models import EvaluationResult
folder, requests = Path(sys.argv[1]), int(sys.argv[2])

started = time.perf_counter()
tables = read_tables(folder)
read = time.perf_counter() - started
with CaptureQueriesContext(connection) as queries:
    started = time.perf_counter()
    call_command("import_timm_results", dir=folder, stdout=io.StringIO())
    first = time.perf_counter() - started
started = time.perf_counter()
out = io.StringIO()
call_command("import_timm_results", dir=folder, stdout=out)
second = time.perf_counter() - started
count = EvaluationResult.objects.count()
print(f"import: {len(tables.order):,} models, {count:,} results in {first:.1f} s "
      f"(reading and checking the tables {read:.1f} s, {len(queries):,} SQL statements); "
      f"target < 60 s: {'met' if first < 60 else 'MISSED'}")
print(f"second run: {second:.1f} s, {'nothing changed' if 'Nothing changed' in out.getvalue() else 'CHANGED'}")
if first >= 60:
    print("  bound by: the writes (models, audit events, results) unless reading the tables dominates above")

client = Client()
urls = {
    "API evaluations top1 > 80 on imagenet-r": "/api/v1/evaluations/?dataset=timm/imagenet-r&metric=top1&value_min=80",
    "API models evaluated_on imagenet-r top1 > 80": (
        "/api/v1/models/?evaluated_on=timm/imagenet-r&metric=top1&value_min=80"
    ),
    "page leaderboard imagenet-r": "/datasets/timm/imagenet-r/",
}
for label, url in urls.items():
    assert client.get(url).status_code == 200, url  # warm
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(f"{label}: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms")

# The page draws more than the leaderboard (recommendations, similar assets): the leaderboard's own share.
from django.contrib.auth.models import AnonymousUser
from django.http import QueryDict
from catalog import selectors
from catalog.models import Dataset
dataset = Dataset.objects.get(owner__username="timm", name="imagenet-r")
times = []
for _ in range(requests):
    started = time.perf_counter()
    board = selectors.leaderboard(dataset, QueryDict(), AnonymousUser())
    times.append((time.perf_counter() - started) * 1000)
times.sort()
print(f"leaderboard selector alone (metrics, one page of {len(board.page.rows)}, total {board.page.total}): "
      f"p50 {statistics.median(times):.1f} ms, p95 {times[max(0, int(len(times) * 0.95) - 1)]:.1f} ms")
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", default="sqlite,postgresql")
    parser.add_argument("--dir", type=Path, default=ROOT.parent / "shared" / "data" / "timm-results")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/omh_bench_evaluations")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    run_per_engine(
        args.engine, args.database_url, PROBE, [str(args.dir.resolve()), str(args.requests)],
        API_THROTTLE_ANON="100000000/minute",
    )  # fmt: skip


if __name__ == "__main__":
    main()
