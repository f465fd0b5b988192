"""The write path: single API creates, the bulk endpoint and load_records, with the worker's memory.

    .venv/bin/python bench/writes.py [--engine sqlite,postgresql] [--creates 10000] [--bulk 20000]
        [--records 10000] [--malloc-arena-max N] [--database-url postgres://postgres@127.0.0.1:5432/omh_bench_writes]

Each engine runs in a fresh process on an empty catalogue (SQLite: a throw-away embedded hub in a temporary
folder, Celery eager, as with no configuration; PostgreSQL: the database ``--database-url`` names, dropped
and created again, with Celery eager too so that the licence analysis and the embedding run in the request,
the heaviest case). Requests go through Django's WSGI handler in this process, as a gunicorn worker runs
them, authenticated by a write token.

1. ``--creates`` ``POST /api/v1/models/``: ms per create, SQL statements per create (the request, then the
   tasks run after the commit), and the resident set (RSS, its anonymous part, and SQLite's own heap, whose
   page cache fills up to ``PRAGMA cache_size``, 64 MiB) every 1,000 creates.
   Targets (issue 18): <= 5 ms per create; < 10 MiB growth over 10,000 creates.
2. ``--bulk`` models through ``POST /api/v1/models/bulk`` in batches of 1,000: models/s. Target >= 2,000.
3. ``--records`` models (with tasks, media, licence, architecture) through ``manage.py load_records``:
   models/s. Target >= 1,000.
Where a target is missed it prints the split of the time (request, tasks after the commit) that bounds it.
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
import io, json, os, sys, tempfile, time
import django
django.setup()
from django.conf import settings
settings.ALLOWED_HOSTS = ["*"]
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test.utils import CaptureQueriesContext
from accounts.models import User
from accounts.services import create_api_token
from catalog.models import MLModel, Task
from licensing.models import License, LicenseAlias
creates, bulk_total, records = (int(x) for x in sys.argv[1:4])

def la():  # every figure is printed with the load average it was measured under (a shared machine)
    return "[load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + "]"

License.objects.get_or_create(key="apache-2.0", defaults={"name": "Apache License 2.0", "spdx_id": "Apache-2.0",
                              "category": "permissive"})
task, _ = Task.objects.get_or_create(slug="text-generation", defaults={"name": "Text generation"})
user = User.objects.create_user("bench-writer", "w@example.org", "x" * 20)
_, secret = create_api_token(user=user, name="bench", scope="write")
app = WSGIHandler()

def rss():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["RssAnon"].split()[0]) / 1024

def sqlite_heap():  # SQLite's own heap (its page cache above all, bounded by PRAGMA cache_size), MiB
    if connection.vendor != "sqlite":
        return 0.0
    import ctypes, _sqlite3
    current, highest = ctypes.c_int64(), ctypes.c_int64()
    ctypes.CDLL(_sqlite3.__file__).sqlite3_status64(0, ctypes.byref(current), ctypes.byref(highest), 0)
    return current.value / 2**20

def post(path, payload, expect="201"):
    body = json.dumps(payload).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "localhost", "SERVER_PORT": "80",
               "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
               "HTTP_AUTHORIZATION": f"Bearer {secret}", "wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1"}
    status = []
    out = b"".join(app(environ, lambda s, h, *a: status.append(s)))
    assert status[0].startswith(expect), (status, out[:300])

def item(name):
    return {"name": name, "license_declared": "apache-2.0", "visibility": "public", "tasks": [task.slug],
            "media": ["text"], "architecture": {"family": "transformer", "decoder_count": 12}}

if creates:
    for i in range(100):
        post("/api/v1/models/", item(f"warm-{i}"))
    with CaptureQueriesContext(connection) as queries:
        post("/api/v1/models/", item("counted"))
    split = next((i for i, q in enumerate(queries) if q["sql"].startswith("COMMIT")), len(queries)) + 1
    print(f"  statements per create: {len(queries)} ({split} in the request up to its commit, "
          f"{len(queries) - split} in the tasks run after it)", flush=True)
    import gc
    gc.collect()
    objects_before = len(gc.get_objects())
    (start, start_anon), t0, cpu0 = rss(), time.perf_counter(), time.process_time()
    start_sqlite = sqlite_heap()
    print(f"  after 100 warm-up creates: RSS {start:.1f} MiB (anonymous {start_anon:.1f}, of which SQLite's heap "
          f"{start_sqlite:.1f})", flush=True)
    for i in range(creates):
        post("/api/v1/models/", item(f"m-{i}"))
        if (i + 1) % 1000 == 0 or i + 1 == creates:
            now, anon = rss()
            print(f"  after {i + 1:6} creates: RSS {now:.1f} MiB (anonymous {anon:.1f}, of which SQLite's heap "
                  f"{sqlite_heap():.1f}) {la()}", flush=True)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    now, anon = rss()
    print(f"  single create: {elapsed / creates * 1000:.2f} ms per create (target <= 5; CPU time "
          f"{cpu / creates * 1000:.2f} ms, what the figure is on a quiet core); growth RSS "
          f"{now - start:+.1f} MiB, anonymous {anon - start_anon:+.1f} MiB over {creates} (target < 10 MiB / 10,000); "
          f"without SQLite's own heap (its page cache, at most PRAGMA cache_size: 64 MiB) "
          f"{anon - start_anon - (sqlite_heap() - start_sqlite):+.1f} MiB {la()}")
    # What the growth is: memory glibc's allocator holds free (returned by malloc_trim) is no leak; Python's
    # own objects (tracemalloc is too slow for 10,000 requests) are counted by the collector.
    import ctypes, gc
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    trimmed, trimmed_anon = rss()
    print(f"  after gc.collect() and malloc_trim(0): RSS {trimmed:.1f} MiB (growth {trimmed - start:+.1f}), anonymous "
          f"{trimmed_anon:.1f} (growth {trimmed_anon - start_anon:+.1f}, of which SQLite's heap "
          f"{sqlite_heap() - start_sqlite:+.1f}); {len(gc.get_objects()) - objects_before:+,} Python objects tracked "
          f"(MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', 'unset')})", flush=True)
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the same creates without the tasks
    t0, cpu0, plain = time.perf_counter(), time.process_time(), min(creates, 1000)
    from unittest import mock
    with mock.patch("django.db.transaction.on_commit"):
        for i in range(plain):
            post("/api/v1/models/", item(f"plain-{i}"))
    print(f"  of which the request alone (tasks not run): {(time.perf_counter() - t0) / plain * 1000:.2f} ms per "
          f"create (CPU time {(time.process_time() - cpu0) / plain * 1000:.2f} ms) {la()}", flush=True)
    settings.CELERY_TASK_ALWAYS_EAGER = True

def bulk(prefix, total):
    # models/s by the clock, and by this process's CPU time (the figure on a quiet core)
    t0, cpu0 = time.perf_counter(), time.process_time()
    for start in range(0, total, 1000):
        batch = [item(f"{prefix}-{i}") for i in range(start, min(start + 1000, total))]
        post("/api/v1/models/bulk", {"items": batch}, expect="200")
    return total / (time.perf_counter() - t0), total / (time.process_time() - cpu0)

if bulk_total:
    post("/api/v1/models/bulk", {"items": [item("bulk-warm")]}, expect="200")
    rate, cpu_rate = bulk("bulk", bulk_total)
    print(f"  bulk create: {rate:,.0f} models/s (by CPU time {cpu_rate:,.0f}) over {bulk_total:,} in batches of "
          "1,000 (target >= 2,000), "
          f"licence analysis and embedding run in the request {la()}", flush=True)
    from unittest import mock
    with mock.patch("django.db.transaction.on_commit"):  # queued to workers in production: not in the request
        rate, cpu_rate = bulk("bulk-queued", bulk_total)
    print(f"  of which the request alone (tasks not run): {rate:,.0f} models/s (by CPU time {cpu_rate:,.0f}) {la()}",
          flush=True)

if records:
    data = {"format": "openmodelhub/records-v1", "models": [
        {"owner": "bench-writer", "name": f"rec-{i}", "license": "apache-2.0", "tasks": [task.slug], "media": ["text"],
         "visibility": "public", "architecture": {"family": "transformer", "decoder_count": 12}}
        for i in range(records)]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(data, handle)
    t0, cpu0 = time.perf_counter(), time.process_time()
    call_command("load_records", handle.name, verbosity=0)
    rate, cpu_rate = records / (time.perf_counter() - t0), records / (time.process_time() - cpu0)
    os.unlink(handle.name)
    print(f"  load_records: {rate:,.0f} models/s (by CPU time {cpu_rate:,.0f}) over {records:,} (target >= 1,000), "
          "licence analysis included "
          f"{la()}", flush=True)
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--creates", type=int, default=10000, help="single API creates (0: skip)")
    parser.add_argument("--bulk", type=int, default=20000, help="models created through the bulk endpoint (0: skip)")
    parser.add_argument("--records", type=int, default=10000, help="models loaded by load_records (0: skip)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/omh_bench_writes")
    parser.add_argument(
        "--malloc-arena-max", default="", help="glibc's MALLOC_ARENA_MAX for the probe (default: unset)"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    run_per_engine(
        args.engine, args.database_url, PROBE, [str(args.creates), str(args.bulk), str(args.records)],
        note=" (Celery eager: the analysis and the embedding run in the request)",
        API_THROTTLE_USER="100000000/minute",
        **({"MALLOC_ARENA_MAX": args.malloc_arena_max} if args.malloc_arena_max else {}),
    )  # fmt: skip


if __name__ == "__main__":
    main()
