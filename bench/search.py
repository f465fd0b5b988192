"""Search at scale (PostgreSQL): embedding throughput, vector index build time, and in-process p50/p95 of
keyword and hybrid search, type-ahead and similar models.

    .venv/bin/python bench/search.py [--database omh_bench_search] [--models 1000000 --datasets 200000]
                                     [--runs 40] [--skip-generate] [--skip-embed]

Fills the database with ``manage.py generate_catalog`` when it has no models (``--models``/``--datasets``),
fits the token weights and embeds every asset as ``manage.py embed_assets`` does (printing the fit's time
and assets per second on this machine) and builds the HNSW index (printing the time), then times requests
through Django's test client with DEBUG off, as an anonymous visitor: ``/api/v1/models/?search=…`` in
keyword and hybrid mode (a common word, a rare id fragment, a typo of the most downloaded name, a description),
``/api/v1/search/suggest/?q=…`` and ``/api/v1/models/<id>/similar/``.
Targets (issue 19, at 1,000,000 models / 200,000 datasets): hybrid search and similar p95 < 50 ms,
type-ahead p95 < 30 ms.
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
TARGETS = {"hybrid": 50.0, "similar": 50.0, "suggest": 30.0}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="omh_bench_search", help="database name (default omh_bench_search)")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--models", type=int, default=1_000_000, help="models generated into an empty database")
    parser.add_argument("--datasets", type=int, default=200_000, help="datasets generated into an empty database")
    parser.add_argument("--runs", type=int, default=40, help="timed requests per scenario (default 40)")
    parser.add_argument("--skip-generate", action="store_true", help="use the catalogue as it is")
    parser.add_argument("--skip-embed", action="store_true", help="use the stored embeddings and index")
    parser.add_argument(
        "--index-dir",
        default=str(ROOT / "var" / "bench-search-index"),
        help="folder of the vector index and the token weights (default var/bench-search-index)",
    )
    parser.add_argument("--only", default="", help="comma-separated scenarios to time (keyword,hybrid,suggest,similar)")
    parser.add_argument("--recall-sample", type=int, default=200, help="queries for the HNSW recall@10 (0: skip)")
    return parser.parse_args()


def setup(args) -> None:
    os.environ["DATABASE_URL"] = f"{args.server}/{args.database}"
    os.environ["REDIS_URL"] = ""
    os.environ["DEBUG"] = "0"
    os.environ["API_THROTTLE_ANON"] = "100000000/minute"
    os.environ["OMH_SEARCH_VECTOR_INDEX_DIR"] = args.index_dir
    os.environ["OMH_SEARCH_REBUILD_AFTER"] = str(10**9)
    os.environ["DJANGO_SETTINGS_MODULE"] = "openmodelhub.settings"
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    from openmodelhub.startup import settle

    settle()  # as openmodelhub.wsgi does in every serving process


def prepare(args) -> None:
    from django.core.management import call_command

    from catalog import semantic
    from catalog.models import Dataset, MLModel, SearchEmbedding

    call_command("migrate", verbosity=0)
    if not args.skip_generate and not MLModel.objects.exists():
        started = time.monotonic()
        call_command("setup", admin="", verbosity=0)
        call_command("generate_catalog", models=args.models, datasets=args.datasets, verbosity=0)
        print(f"catalogue generated in {time.monotonic() - started:.0f} s")
    print(f"{MLModel.objects.count():,} models, {Dataset.objects.count():,} datasets")
    if args.skip_embed:
        return
    if semantic.token_weights() is None:  # as manage.py embed_assets does on its first run
        started = time.monotonic()
        texts = semantic.fit_token_weights()
        print(f"token weights fitted on {texts:,} texts in {time.monotonic() - started:.1f} s")
    for model_cls in (MLModel, Dataset):
        started, done = time.monotonic(), 0
        for batch in semantic.embed_assets(model_cls):
            done += batch
        seconds = time.monotonic() - started
        print(f"{model_cls.kind}s: {done:,} embedded in {seconds:.0f} s ({done / seconds:,.0f} assets/s, 1 process)")
        started = time.monotonic()
        count = semantic.vector_index(model_cls.kind).build()
        print(f"{model_cls.kind}s: HNSW index of {count:,} vectors built in {time.monotonic() - started:.1f} s")
    print(f"{SearchEmbedding.objects.count():,} stored vectors")


def recall(kind: str, sample: int) -> None:
    """recall@10 of the HNSW index against an exact scan of every stored vector, for ``sample`` stored
    vectors used as queries (the index is approximate: its speed must not be bought with wrong neighbours)."""
    import numpy as np

    from catalog import semantic
    from catalog.models import SearchEmbedding

    column = f"{kind}_id"
    rows = SearchEmbedding.objects.filter(**{f"{column}__isnull": False}, encoder=semantic.ENCODER)
    started, keys, chunks = time.monotonic(), [], []
    for pk, raw in rows.values_list(column, "vector").iterator(chunk_size=20000):
        keys.append(pk)
        chunks.append(raw)
    if not keys:
        return
    matrix = np.frombuffer(b"".join(bytes(raw) for raw in chunks), dtype="<f4").reshape(len(keys), -1)
    keys = np.asarray(keys)
    read = time.monotonic() - started
    picks = np.random.default_rng(42).choice(len(keys), size=min(sample, len(keys)), replace=False)
    index, hits, seconds = semantic.vector_index(kind), 0, []
    for row in picks:
        exact = set(keys[np.argsort(-(matrix @ matrix[row]), kind="stable")[:10]].tolist())
        started = time.perf_counter()
        found = index.nearest(matrix[row], 10)
        seconds.append(time.perf_counter() - started)
        hits += len(exact & {pk for pk, _ in found})
    print(
        f"{kind}s: HNSW recall@10 {hits / (10 * len(picks)):.3f} against an exact scan ({len(picks)} stored vectors "
        f"as queries; {len(keys):,} vectors read in {read:.0f} s; nearest() p50 "
        f"{statistics.median(seconds) * 1000:.1f} ms)"
    )


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def timed(client, url: str, runs: int) -> tuple[list[float], list[float], int]:
    """Milliseconds per request, milliseconds of it spent in the database (statements executed and fetched),
    and the statements the last one ran."""
    from django.db import connection

    for _ in range(3):
        assert client.get(url).status_code == 200, url
    statements = []  # (a wrapper: the request's start clears connection.queries)
    with connection.execute_wrapper(lambda execute, sql, *rest: statements.append(sql) or execute(sql, *rest)):
        client.get(url)
    times, in_sql = [], []

    def clocked(execute, *args):
        started = time.perf_counter()
        try:
            return execute(*args)
        finally:
            spent[0] += time.perf_counter() - started

    for _ in range(runs):
        spent = [0.0]
        started = time.perf_counter()
        with connection.execute_wrapper(clocked):
            response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        in_sql.append(spent[0] * 1000)
        assert response.status_code == 200, url
    return times, in_sql, len(statements)


def main() -> None:
    args = parse_args()
    setup(args)
    print(load())
    prepare(args)
    for kind in ("model", "dataset") if args.recall_sample else ():
        recall(kind, args.recall_sample)
    from rest_framework.test import APIClient

    from catalog import semantic
    from catalog.models import MLModel

    client = APIClient()
    sample = MLModel.objects.public().order_by("-downloads").select_related("owner").first()
    fragment = sample.name[1:6]
    typo = sample.name[:3] + sample.name[4:]
    scenarios = [
        ("keyword", "common word", "/api/v1/models/?search=bert&mode=keyword"),
        ("keyword", "id fragment", f"/api/v1/models/?search={fragment}&mode=keyword"),
        ("keyword", "typo", f"/api/v1/models/?search={typo}&mode=keyword"),
        ("keyword", "description", "/api/v1/models/?search=small%20english%20sentiment%20model&mode=keyword"),
        ("hybrid", "common word", "/api/v1/models/?search=bert&mode=hybrid"),
        ("hybrid", "description", "/api/v1/models/?search=small%20english%20sentiment%20model&mode=hybrid"),
        ("hybrid", "id fragment", f"/api/v1/models/?search={fragment}&mode=hybrid"),
        ("hybrid", "typo", f"/api/v1/models/?search={typo}&mode=hybrid"),
        ("suggest", "1 letter", "/api/v1/search/suggest/?q=b"),
        ("suggest", "prefix", f"/api/v1/search/suggest/?q={sample.name[:4]}"),
        ("similar", sample.name, f"/api/v1/models/{sample.owner.username}/{sample.name}/similar/"),
    ]
    print(
        f"\n{load()}\n{'scenario':10} {'query':28} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'SQL':>4} "
        f"{'in SQL':>7}  target"
    )
    only = set(filter(None, args.only.split(",")))
    for kind, label, url in scenarios:
        if only and kind not in only:
            continue
        if kind == "hybrid" and semantic.vector_index("model")._load()[0] is None:
            print(f"{kind:10} {label[:28]:28} skipped: no vector index in {args.index_dir} (build it: no --skip-embed)")
            continue
        times, in_sql, statements = timed(client, url, args.runs)
        p95 = statistics.quantiles(times, n=20)[18]
        target = TARGETS.get(kind)
        verdict = "" if target is None else (f"p95 < {target:.0f}: " + ("met" if p95 < target else "MISSED"))
        print(
            f"{kind:10} {label[:28]:28} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f} "
            f"{statements:4} {statistics.median(in_sql):7.1f}  {verdict}"
        )
    print(load())


if __name__ == "__main__":
    main()
