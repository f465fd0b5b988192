"""Search quality on the judged query set (fixtures/search_judgments.json over fixtures/demo.json).

    .venv/bin/python bench/search_quality.py [--database-url URL] [--keep DIR] [--per-query]

Loads the demo catalogue into a fresh database (an SQLite file in a temporary folder by default, or the
PostgreSQL database given, which must be empty or already hold the demo), embeds it (manage.py
embed_assets) and runs every judged query as an anonymous visitor through catalog.search, printing for
each method NDCG@10 (graded gain 2^grade - 1), recall@10 (judged assets of grade >= 1 in the first ten)
and MRR (reciprocal rank of the first judged asset), side by side:

  full-text  the full-text rank alone (tsvector/ts_rank on PostgreSQL, FTS5/bm25 on SQLite)
  id         repository-id matching alone (exact > prefix > substring > fuzzy)
  keyword    both fused (``?mode=keyword``)
  vector     embeddings alone (``?mode=vector``)
  hybrid     reciprocal-rank fusion of the three (``?mode=hybrid``)

Target (issue 19): hybrid NDCG@10 at least 0.10 above full-text only. Also prints each mode's time per
query on this catalogue.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py is named like the standard library's http package: bench/ must not be on the import path.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
JUDGMENTS = ROOT / "fixtures" / "search_judgments.json"
METHODS = ("full-text", "id", "keyword", "vector", "hybrid")
K = 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite in a temporary folder)")
    parser.add_argument("--keep", default="", help="folder for the SQLite database and index (kept for reuse)")
    parser.add_argument("--per-query", action="store_true", help="print each query's NDCG@10 per method")
    return parser.parse_args()


def setup(args) -> None:
    var = Path(args.keep or tempfile.mkdtemp(prefix="omh-search-quality-"))
    var.mkdir(parents=True, exist_ok=True)
    os.environ["OMH_VAR_DIR"] = str(var)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["REDIS_URL"] = ""
    os.environ["DJANGO_SETTINGS_MODULE"] = "openmodelhub.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from catalog.models import MLModel

    call_command("migrate", verbosity=0)
    if not MLModel.objects.exists():
        started = time.monotonic()
        call_command("setup", admin="", verbosity=0)
        call_command("load_records", str(ROOT / "fixtures" / "demo.json"), verbosity=0)
        print(f"demo catalogue loaded in {time.monotonic() - started:.0f} s ({var})")
    started = time.monotonic()
    call_command("embed_assets", verbosity=0)
    print(f"embeddings and index ready in {time.monotonic() - started:.1f} s")


def ranked(method: str, model_cls, text: str) -> list[str]:
    from catalog import search

    visible = model_cls.objects.visible_to(None)
    if method in ("keyword", "vector", "hybrid"):
        rows = search.apply(visible, text, method).order_by("-rank", "-id").select_related("owner")[:K]
        return [f"{row.owner.username}/{row.name}" for row in rows]
    if method == "full-text":
        scores, _ = search.full_text_candidates(visible, text, 500)
    else:
        scores = search._restrict(visible, search.id_candidates(model_cls, text, 500))
    best = sorted(scores, key=lambda pk: (-scores[pk], -pk))[:K]
    names = dict(
        (row.pk, f"{row.owner.username}/{row.name}")
        for row in model_cls.objects.filter(pk__in=best).select_related("owner")
    )
    return [names[pk] for pk in best]


def ndcg(found: list[str], grades: dict[str, int]) -> float:
    gain = sum((2 ** grades.get(name, 0) - 1) / math.log2(i + 2) for i, name in enumerate(found[:K]))
    ideal = sum((2**grade - 1) / math.log2(i + 2) for i, grade in enumerate(sorted(grades.values(), reverse=True)[:K]))
    return gain / ideal if ideal else 0.0


def recall(found: list[str], grades: dict[str, int]) -> float:
    relevant = {name for name, grade in grades.items() if grade >= 1}
    return len(relevant & set(found[:K])) / min(len(relevant), K)


def reciprocal_rank(found: list[str], grades: dict[str, int]) -> float:
    return next((1.0 / (i + 1) for i, name in enumerate(found[:K]) if grades.get(name, 0) >= 1), 0.0)


def main() -> None:
    args = parse_args()
    setup(args)
    from django.db import connection

    from catalog.models import Dataset, MLModel

    queries = json.loads(JUDGMENTS.read_text())["queries"]
    scores = {method: {"ndcg": [], "recall": [], "mrr": [], "ms": []} for method in METHODS}
    for method in ("hybrid",):  # load the encoder and the index before timing anything
        ranked(method, MLModel, "warm up")
    for query in queries:
        model_cls = MLModel if query["kind"] == "models" else Dataset
        line = []
        for method in METHODS:
            started = time.perf_counter()
            found = ranked(method, model_cls, query["query"])
            scores[method]["ms"].append((time.perf_counter() - started) * 1000)
            scores[method]["ndcg"].append(ndcg(found, query["relevant"]))
            scores[method]["recall"].append(recall(found, query["relevant"]))
            scores[method]["mrr"].append(reciprocal_rank(found, query["relevant"]))
            line.append(f"{scores[method]['ndcg'][-1]:.2f}")
        if args.per_query:
            print(f"{query['kind']:9} {query['query'][:40]:40} " + " ".join(f"{v:>9}" for v in line))
    print(f"\n{len(queries)} judged queries on {connection.vendor}, top {K}, anonymous visitor")
    print(f"{'method':10} {'NDCG@10':>8} {'recall@10':>10} {'MRR':>6} {'ms p50':>7} {'ms p95':>7}")
    for method in METHODS:
        s = scores[method]
        p95 = statistics.quantiles(s["ms"], n=20)[18]
        print(
            f"{method:10} {statistics.mean(s['ndcg']):8.3f} {statistics.mean(s['recall']):10.3f} "
            f"{statistics.mean(s['mrr']):6.3f} {statistics.median(s['ms']):7.1f} {p95:7.1f}"
        )
    gap = statistics.mean(scores["hybrid"]["ndcg"]) - statistics.mean(scores["full-text"]["ndcg"])
    verdict = "met" if gap >= 0.10 else "MISSED"
    print(f"\nhybrid - full-text NDCG@10: {gap:+.3f} (target +0.10: {verdict})")


if __name__ == "__main__":
    main()
