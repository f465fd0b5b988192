"""Licence compliance analysis on a synthetic lineage forest of 100,000 models, on PostgreSQL.

    .venv/bin/python bench/compliance.py [--models 100000] [--sample 300] [--keep]

Creates (and afterwards drops, unless --keep) its own database ``omh_bench_compliance`` on the
server named by BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/omh_bench_compliance),
migrates it, loads the licence knowledge base, and builds with bulk inserts a forest of models:
5% roots, every other model derived from an earlier one (depth at most 20), 5% of them merges
with a second parent, 30% trained on one or two of 2,000 datasets; licences drawn so that some
derivatives violate their upstream terms. Then it prints the p50/p95/max time to analyse one model
(``licensing.services.analyse_model``: one recursive read, one upsert) over a random sample, and
the total time of ``manage.py check_licenses --all``. Targets: p95 < 20 ms, the whole catalogue
< 2 minutes.
"""

import argparse
import os
import random
import statistics
import sys
import time
from io import StringIO
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py is named like the standard library's http package: bench/ must not be on the import path.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/omh_bench_compliance"
ROOT_LICENSES = [
    "apache-2.0",
    "mit",
    "llama-3.1-license-2024",
    "gemma-tou-2024-04-01",
    "cc-by-nc-4.0",
    "creativeml-openrail-m",
    "gpl-3.0",
    "cc-by-4.0",
    None,
]
DATASET_LICENSES = ["cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "mit", "apache-2.0", "cc0-1.0", None]
MAX_DEPTH = 20


def recreate_database(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)  # tasks eager: nothing queued behind our back
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openmodelhub.settings")
    import django

    django.setup()


def build_forest(n_models: int, rng: random.Random) -> None:
    from accounts.models import User
    from catalog.models import Dataset, MLModel, ModelDataset, ModelLineage
    from licensing.models import License

    lic = dict(License.objects.values_list("key", "pk"))
    owners = User.objects.bulk_create([User(username=f"bench{i}") for i in range(100)])
    datasets = Dataset.objects.bulk_create(
        [
            Dataset(
                owner=owners[i % 100], name=f"data-{i}", license_id=lic.get(k) if k else None, license_declared=k or ""
            )
            for i, k in ((i, rng.choice(DATASET_LICENSES)) for i in range(2000))
        ],
        batch_size=2000,
    )
    depth: list[int] = []
    keys: list[str | None] = []
    parents: list[int] = []  # index of the first parent, -1 for roots
    eligible: list[int] = []  # indexes of models that may still get children (depth < MAX_DEPTH)
    for i in range(n_models):
        if i < n_models // 20 or not eligible:
            depth.append(0)
            keys.append(rng.choice(ROOT_LICENSES))
            parents.append(-1)
        else:
            # prefer recent models so that chains grow deep
            p = eligible[-1 - min(len(eligible) - 1, int(rng.expovariate(1 / 50)))]
            depth.append(depth[p] + 1)
            keys.append(keys[p] if rng.random() < 0.85 else rng.choice(ROOT_LICENSES))
            parents.append(p)
        if depth[i] < MAX_DEPTH:
            eligible.append(i)
    models = MLModel.objects.bulk_create(
        [
            MLModel(
                owner=owners[i % 100], name=f"model-{i}", license_id=lic.get(k) if k else None, license_declared=k or ""
            )
            for i, k in enumerate(keys)
        ],
        batch_size=5000,
    )
    relation_choices = ["fine_tune"] * 6 + ["adapter", "quantization", "continued_pretraining", "distillation"]
    edges = []
    for i, p in enumerate(parents):
        if p < 0:
            continue
        merge = rng.random() < 0.05
        edges.append(
            ModelLineage(model=models[i], base=models[p], relation="merge" if merge else rng.choice(relation_choices))
        )
        if merge:
            q = rng.randrange(0, i)
            while q == p or depth[q] >= depth[i]:  # a shallower parent keeps the depth bound and the DAG acyclic
                q = rng.randrange(0, i)
            edges.append(ModelLineage(model=models[i], base=models[q], relation="merge"))
    ModelLineage.objects.bulk_create(edges, batch_size=10000)
    links = []
    for m in models:
        if rng.random() < 0.3:
            for d in rng.sample(datasets, rng.choice((1, 2))):
                links.append(ModelDataset(model=m, dataset=d, role=rng.choice(["trained_on", "fine_tuned_on"])))
    ModelDataset.objects.bulk_create(links, batch_size=10000)
    print(
        f"forest: {len(models):,} models (max depth {max(depth)}), {len(edges):,} lineage edges "
        f"({sum(e.relation == 'merge' for e in edges):,} merge), {len(datasets):,} datasets, "
        f"{len(links):,} training links"
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        sys.exit("the benchmark runs on PostgreSQL: set BENCH_DATABASE_URL=postgres://...")
    recreate_database(url)
    try:
        setup_django(url)
        from django.core.management import call_command
        from django.db import connection

        from catalog.models import MLModel
        from licensing import services

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        services.load_license_base(resolve_assets=False)
        rng = random.Random(args.seed)
        build_forest(args.models, rng)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"setup (migrate, licences, forest): {time.perf_counter() - started:.1f} s")

        ids = list(MLModel.objects.values_list("pk", flat=True))
        sample = rng.sample(ids, min(args.sample, len(ids)))
        services.analyse_model(sample[0])  # warm up the connection and caches
        timings, ancestors = [], []
        for pk in sample:
            t0 = time.perf_counter()
            result = services.analyse_model(pk)
            timings.append((time.perf_counter() - t0) * 1000)
            ancestors.append(result.ancestor_count)
        print(
            f"analyse one model ({len(sample)} random models, {statistics.mean(ancestors):.1f} ancestors on "
            f"average, max {max(ancestors)}): p50 {percentile(timings, 0.5):.2f} ms, "
            f"p95 {percentile(timings, 0.95):.2f} ms, max {max(timings):.2f} ms   (target p95 < 20 ms)"
        )

        out = StringIO()
        t0 = time.perf_counter()
        call_command("check_licenses", "--all", stdout=out)
        total = time.perf_counter() - t0
        print(f"check_licenses --all: {total:.1f} s   (target < 120 s) — {out.getvalue().strip()}")
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            recreate_database(url, drop_only=True)


if __name__ == "__main__":
    main()
