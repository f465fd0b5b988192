"""Union/join search at scale (PostgreSQL): p50/p95 of the related files of one dataset file among
``--columns`` profiled columns, and where the time goes.

    .venv/bin/python bench/discovery.py [--database omh_bench_discovery] [--columns 10000] [--runs 30]

Creates the database when missing, migrates it, and (when it holds no profiled column yet) writes public
datasets of one file each, with 5 to 15 columns (numbers and text) whose values are drawn from a few shared
pools, so that many columns overlap a little and a few a lot; their value sketches are computed by
``catalog.profiling.ValueSketch`` from XXH3 hashes of the values, as the profiler does. Then it times
``/api/v1/datasets/<owner>/<name>/related-files/<path>`` through Django's test client (DEBUG off, anonymous:
every column of every public dataset is a candidate), and, in process, the parts of ``related_files``:
reading the candidate columns, and scoring them. No target was set by the issue; the figures go into
bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="omh_bench_discovery")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--columns", type=int, default=10_000, help="profiled columns to create (default 10,000)")
    parser.add_argument("--runs", type=int, default=30, help="timed requests (default 30)")
    return parser.parse_args()


def setup(args) -> None:
    import psycopg

    with psycopg.connect(f"{args.server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone():
            conn.execute(f'CREATE DATABASE "{args.database}"')
    os.environ.update(
        DATABASE_URL=f"{args.server}/{args.database}", REDIS_URL="", DEBUG="0", API_THROTTLE_ANON="100000000/minute"
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "openmodelhub.settings"
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]


def _sketch(values: list[str]) -> bytes:
    import numpy as np
    import xxhash

    from catalog.profiling import ValueSketch

    sketch = ValueSketch()
    sketch.add(np.fromiter((xxhash.xxh3_64_intdigest(v.encode()) for v in values), dtype=np.uint64))
    return sketch.to_bytes()


def generate(columns: int) -> None:
    """Public datasets of one file each until ``columns`` columns exist, values from shared pools."""
    import random

    from django.db import transaction

    from accounts.models import User
    from catalog.models import Dataset, DatasetFile, FileColumn, Visibility

    rng = random.Random(20)
    owner, _ = User.objects.get_or_create(username="bench-discovery")
    words = ["id", "customer", "name", "email", "city", "country", "amount", "date", "score", "code", "label", "user"]
    pools = [[f"p{p}-{i}" for i in range(5000)] for p in range(40)]
    made, number = 0, 0
    started = time.monotonic()
    while made < columns:
        with transaction.atomic():
            dataset = Dataset.objects.create(owner=owner, name=f"table-{number}", visibility=Visibility.PUBLIC)
            data_file = DatasetFile.objects.create(dataset=dataset, path="data.csv", format="csv", row_count=1000)
            rows = []
            for position in range(1, rng.randint(5, 15) + 1):
                pool = rng.choice(pools)
                start = rng.randrange(0, 4000)
                values = pool[start : start + rng.randint(20, 1000)]
                name = "_".join(rng.sample(words, 2)) + f"_{position}"
                kind = rng.choice(["numerical", "text"])
                stats = {"count": 1000, "nulls": 0, "distinct": len(values), "distinct_exact": True}
                rows.append(
                    FileColumn(
                        dataset_file=data_file,
                        name=name,
                        position=position,
                        data_type_interpreted=kind,
                        stats=stats,
                        value_sketch=_sketch(values),
                    )
                )
            FileColumn.objects.bulk_create(rows)
        made += len(rows)
        number += 1
    print(f"{made:,} columns in {number:,} files generated in {time.monotonic() - started:.0f} s")


def report(label: str, times: list[float]) -> None:
    p95 = statistics.quantiles(times, n=20)[18]
    print(f"{label:44} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f}")


def main() -> None:
    args = parse_args()
    setup(args)
    from django.contrib.auth.models import AnonymousUser
    from django.core.management import call_command
    from django.test import Client

    from bench.hf import timed  # 3 warm-up calls, then milliseconds per call
    from catalog.discovery import data as data_discovery
    from catalog.models import DatasetFile, FileColumn

    call_command("migrate", verbosity=0)
    if not FileColumn.objects.exists():
        generate(args.columns)
    total = FileColumn.objects.filter(value_sketch__isnull=False).count()
    print(f"{total:,} profiled columns with value sketches")
    query = DatasetFile.objects.select_related("dataset__owner").order_by("pk").first()
    url = f"/api/v1/datasets/{query.dataset.owner.username}/{query.dataset.name}/related-files/{query.path}"
    client = Client()
    anonymous = AnonymousUser()
    found = data_discovery.related_files(query, anonymous)
    best = found[0].score if found else "-"
    print(f"query: {query} ({query.columns.count()} columns): {len(found)} related, best score {best}")
    print(f"\n{'':44} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    report("GET related-files (API, anonymous)", timed(lambda: client.get(url), args.runs))
    report("related_files() in process", timed(lambda: data_discovery.related_files(query, anonymous), args.runs))
    candidates = FileColumn.objects.filter(
        dataset_file__dataset__in=data_discovery.Dataset.objects.visible_to(anonymous)
    )
    report("  reading the candidate columns", timed(lambda: data_discovery._columns(candidates.order_by()), args.runs))
    columns = data_discovery._columns(FileColumn.objects.filter(dataset_file=query))
    loaded = data_discovery._columns(candidates.exclude(dataset_file=query).order_by())
    report("  scoring the column pairs", timed(lambda: data_discovery._pair_scores(columns, loaded), args.runs))


if __name__ == "__main__":
    main()
