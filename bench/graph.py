"""The graph endpoint's work (catalog.graph.neighbourhood) on the timm results plus a wide lineage, on PostgreSQL.

    .venv/bin/python bench/graph.py [--derivatives 20000] [--runs 30] [--keep | --reuse]

Creates (and afterwards drops, unless --keep) its own database ``omh_bench_graph`` on the server named
by BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/omh_bench_graph), migrates it, loads
the licence knowledge base and the real timm result tables (``import_timm_results``: 8 evaluation
sets, ~1,270 models, their top1/top5), then adds a base model with ``--derivatives`` derivatives (a
tenth of them private to another owner, each trained on one of 200 datasets) and analyses every
model's licence compliance. It prints, per case, the p50/p95/max time of one ``neighbourhood`` call
(what ``GET /api/v1/graph`` and the page run, without HTTP) for an anonymous visitor and for a
signed-in user holding grants, with the nodes and edges returned. Target: p95 < 100 ms per call with
the default limit (one click on the page).
"""

import argparse
import importlib.util
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py is named like the standard library's http package: bench/ must not be on the import path.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("bench_compliance", ROOT / "bench" / "compliance.py")
common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(common)  # recreate_database, setup_django, percentile

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/omh_bench_graph"
TARGET_MS = 100


def build_fan_out(n_derivatives: int, rng: random.Random) -> None:
    from accounts.models import Grant, User
    from catalog.models import Dataset, MLModel, ModelDataset, ModelLineage, Visibility
    from licensing.models import License

    lic = dict(License.objects.values_list("key", "pk"))
    lab, hidden_lab = User.objects.bulk_create([User(username="fanout"), User(username="hiddenlab")])
    base = MLModel.objects.create(owner=lab, name="base", license_id=lic["apache-2.0"], downloads=10**6)
    datasets = Dataset.objects.bulk_create(
        [
            Dataset(owner=lab, name=f"data-{i}", license_id=lic[rng.choice(["cc-by-4.0", "cc-by-nc-4.0"])])
            for i in range(200)
        ]
    )
    derivatives = MLModel.objects.bulk_create(
        [
            MLModel(
                owner=hidden_lab if i % 10 == 0 else lab,
                name=f"tune-{i}",
                visibility=Visibility.PRIVATE if i % 10 == 0 else Visibility.PUBLIC,
                license_id=lic[rng.choice(["mit", "apache-2.0", "cc-by-nc-4.0"])],
                downloads=rng.randrange(10**5),
            )
            for i in range(n_derivatives)
        ],
        batch_size=5000,
    )
    ModelLineage.objects.bulk_create(
        [ModelLineage(model=m, base=base, relation="fine_tune") for m in derivatives], batch_size=5000
    )
    ModelDataset.objects.bulk_create(
        [ModelDataset(model=m, dataset=rng.choice(datasets), role="trained_on") for m in derivatives], batch_size=5000
    )
    reader = User.objects.create_user("reader", "reader@example.org", "reader-pass-123")
    Grant.objects.bulk_create([Grant(model=m, user=reader, created_by=hidden_lab) for m in derivatives[:500:10]])


def time_case(reference: str, user, depth: int, runs: int) -> tuple[list[float], dict]:
    from catalog import graph

    root = graph.resolve(reference, user)
    answer = graph.neighbourhood(root, user, depth=depth)  # warm
    timings = []
    for _ in range(runs):
        t0 = time.perf_counter()
        graph.neighbourhood(graph.resolve(reference, user), user, depth=depth)
        timings.append((time.perf_counter() - t0) * 1000)
    return timings, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--derivatives", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--reuse", action="store_true", help="time the database a --keep run left, set up nothing")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        sys.exit("the benchmark runs on PostgreSQL: set BENCH_DATABASE_URL=postgres://...")
    if not args.reuse:
        common.recreate_database(url)
    try:
        common.setup_django(url)
        from django.contrib.auth.models import AnonymousUser
        from django.core.management import call_command
        from django.db import connection

        from accounts.models import User
        from catalog.models import EvaluationResult, MLModel
        from licensing import services

        started = time.perf_counter()
        if not args.reuse:
            call_command("migrate", verbosity=0)
            services.load_license_base(resolve_assets=False)
            call_command("import_timm_results", verbosity=0)
            build_fan_out(args.derivatives, random.Random(args.seed))
            services.analyse_models()
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(
            f"setup: {MLModel.objects.count():,} models, {EvaluationResult.objects.count():,} results, "
            f"{time.perf_counter() - started:.1f} s"
        )
        timm_model = MLModel.objects.filter(owner__username="timm").order_by("name").values_list("name", flat=True)[0]
        cases = [
            ("datasets/timm/imagenet-1k", 1, "a leaderboard of ~1,270 models"),
            (f"models/timm/{timm_model}", 1, "a timm model: its 8 evaluation sets"),
            (f"models/timm/{timm_model}", 2, "the same, two steps"),
            ("models/fanout/base", 1, f"{args.derivatives:,} derivatives, a tenth private"),
            ("models/fanout/tune-1", 2, "a derivative, two steps (its siblings)"),
            ("licenses/apache-2.0", 1, "the assets under a licence"),
        ]
        users = {"anonymous": AnonymousUser(), "reader (grants)": User.objects.get(username="reader")}
        worst = 0.0
        for reference, depth, what in cases:
            for who, user in users.items():
                timings, answer = time_case(reference, user, depth, args.runs)
                p95 = common.percentile(timings, 0.95)
                worst = max(worst, p95)
                print(
                    f"{reference} depth {depth} ({what}), {who}: p50 {common.percentile(timings, 0.5):.1f} ms, "
                    f"p95 {p95:.1f} ms, max {max(timings):.1f} ms; {len(answer['nodes'])} nodes, "
                    f"{len(answer['edges'])} edges, {answer['omitted']:,} omitted"
                )
        verdict = "met" if worst < TARGET_MS else "MISSED"
        print(f"worst p95 {worst:.1f} ms (target < {TARGET_MS} ms): {verdict}")
    finally:
        if not (args.keep or args.reuse):
            from django.db import connections

            connections.close_all()
            common.recreate_database(url, drop_only=True)


if __name__ == "__main__":
    main()
