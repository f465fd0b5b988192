"""The production server under concurrent load, on loopback, plus in-process cost per request and memory per write.

    .venv/bin/python bench/http.py [--database-url postgres://postgres@127.0.0.1:5432/omh_bench]
        [--setups gthread:2x4] [--clients 10,50] [--seconds 10] [--runs 30] [--creates 3000] [--skip-load]
        [--response-cache both|off|on]

Phases 1 and 2 run once with the API response cache off (``OMH_RESPONSE_CACHE=0``: every request computed,
what a miss costs) and once on (warm: what a hit costs; the HTML page is never cached), unless
``--response-cache`` names one; each with its own targets' verdicts and bounds.

1. In process, through Django's WSGI handler as a gunicorn worker calls it (DEBUG off, Redis cache): for
   each scenario over ``--runs`` warm requests, p50/p95 wall time, and per request the process's CPU, the
   time spent in database calls, the queries and the CPU of the PostgreSQL backend serving them. Then a
   CPU profile (cProfile on process time, so waiting is not counted) of a model detail, the first page,
   the HTML model page and a dataset detail, summed by area (ORM, DRF, templates, psycopg, middleware, the
   hub's code...).
2. Under load: gunicorn started as README's production section starts it, for each of ``--setups``
   (``sync:N``: N sync workers; ``gthread:NxT``: N workers of T threads), against the same database,
   driven by ``wrk`` (Debian package ``wrk``) at each ``--clients`` for ``--seconds`` after a warm-up:
   requests/s, p50/p95/p99, errors, and the CPU per request of the gunicorn workers, of their
   PostgreSQL backends and of wrk, with the machine's busy share (server and load generator share it).
3. Memory: a throw-away embedded hub (SQLite, Celery eager, as with no configuration) takes ``--creates``
   ``POST /api/v1/models/`` through Django's WSGI handler in this process (what a gunicorn worker runs);
   prints the resident set every 1,000 creates and ms per create. Target: < 10 MiB growth over 10,000.

Every target (issue 18) is printed met or missed; a missed one with what bounds it: the CPU a request
costs in the worker and in the database, the load generator's share, and the ceiling they imply on
this machine's cores. The load average is printed with every table.

``--database-url ''`` measures the embedded engine instead: the SQLite file under ``$OMH_VAR_DIR`` (e.g. a
catalogue made there by ``OMH_VAR_DIR=DIR DATABASE_URL= manage.py generate_catalog``), to compare with
PostgreSQL on the same catalogue size (issue 18: SQLite within 1.5x).

Scenarios: the first page, a three-facet filter (task + licence category + architecture), a common-word
search (``bert``), a model detail, the HTML model page, a dataset detail (the most downloaded public one)
and the facet counts. Needs a catalogue made by
``manage.py generate_catalog`` in the database (bench/README.md).
"""

# ruff: noqa: E402  (the imports follow the sys.path fix below)
from __future__ import annotations

import sys

# This file is named like the standard library's http package: drop its folder from the import path.
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rsplit("/", 1)[0])]

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('JSON {"requests":%d,"us":%d,"errors":%d,"non2xx":%d,"p50":%d,"p95":%d,"p99":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


# Issue 18's targets on this 2-core machine: in-process p95 (ms); at 50 clients, requests/s and p95 (ms).
IN_PROCESS_P95 = {"first page": 10, "search bert": 50, "model detail": 5}
UNDER_LOAD = {"first page": (300, 250), "model detail": (300, 250), "search bert": (100, None)}
TARGET_CLIENTS = 50
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1

# Profile areas, by the file a function is in (own CPU time; the first match wins).
AREAS = [
    ("psycopg (driver)", ("/psycopg/",)),
    ("ORM: SQL compiler", ("/django/db/models/sql/", "/django/db/backends/")),
    ("ORM: models, querysets", ("/django/db/",)),
    ("DRF", ("/rest_framework/", "/drf_spectacular/")),
    ("django-filter, forms", ("/django_filters/", "/django/forms/")),
    ("templates", ("/django/template/", "/templatetags/", "/django/templatetags/")),
    ("cache client (redis)", ("/redis/", "/django/core/cache/")),
    ("Django: handler, middleware, URLs", ("/django/core/", "/django/middleware/", "/django/urls/", "/django/http/")),
    ("Django: other", ("/django/",)),
    ("the hub's code", ("/catalog/", "/accounts/", "/licensing/", "/openmodelhub/", "/hfhub/", "/insights/")),
    ("Python: copy, re, json, ...", ("/lib/python3",)),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/omh_bench")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--setups", default="gthread:2x4", help="server setups, comma-separated: sync:N (N sync workers) or "
        "gthread:NxT (N workers of T threads); default gthread:2x4 (README's production command)",
    )  # fmt: skip
    parser.add_argument("--clients", default="10,50", help="wrk connections, comma-separated (default 10,50)")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each load run (default 10)")
    parser.add_argument("--scenarios", default="", help="only these scenarios (comma-separated names)")
    parser.add_argument("--runs", type=int, default=30, help="in-process requests per scenario (default 30)")
    parser.add_argument("--creates", type=int, default=3000, help="creates of the memory phase (0: skip)")
    parser.add_argument("--skip-load", action="store_true", help="no gunicorn/wrk phase")
    parser.add_argument("--skip-in-process", action="store_true", help="no in-process phase")
    parser.add_argument("--memory-only", action="store_true", help="only the memory phase (no database needed)")
    parser.add_argument(
        "--response-cache", choices=("both", "off", "on"), default="both",
        help="the API response cache (catalog.response_cache): measured off (every request computed: the miss "
        "cost), on (warm: the hit cost; the HTML page is never cached), or both, one after the other (default)",
    )  # fmt: skip
    return parser.parse_args()


def setup_django(env: dict) -> None:
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def load_average() -> str:
    return "load average " + " ".join(open("/proc/loadavg").read().split()[:3])


def scenarios() -> dict[str, str]:
    from catalog.models import Dataset, MLModel, Task

    model = MLModel.objects.filter(visibility="public").order_by("-downloads").select_related("owner").first()
    dataset = Dataset.objects.filter(visibility="public").order_by("-downloads").select_related("owner").first()
    task = Task.objects.order_by("id").first()
    if model is None or task is None:
        raise SystemExit("The database holds no public model: run manage.py generate_catalog first (bench/README.md).")
    return {
        "first page": "/api/v1/models/",
        "three-facet filter": f"/api/v1/models/?task={task.slug}&license_category=permissive&architecture=transformer",
        "search bert": "/api/v1/models/?search=bert",
        "model detail": f"/api/v1/models/{model.full_name}/",
        "model page (HTML)": f"/models/{model.full_name}/",
        **({"dataset detail": f"/api/v1/datasets/{dataset.full_name}/"} if dataset else {}),
        "facet counts": "/api/v1/models/facets",
    }


def cpu_by_pid(pids) -> dict[int, float]:
    """User + system CPU of each of these processes (threads included) still running, in ms."""
    found = {}
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) * TICK_MS
    return found


def cpu_ms(pids) -> float:
    return sum(cpu_by_pid(pids).values())


def cpu_since(before: dict[int, float]) -> float:
    """CPU spent since ``before`` by its processes that are still running (a process gone is not counted)."""
    after = cpu_by_pid(before)
    return sum(after[pid] - before[pid] for pid in after)


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine since boot, in ticks (/proc/stat)."""
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class WsgiClient:
    """GET through Django's WSGI handler, the callable a gunicorn worker runs (no test-client machinery)."""

    def __init__(self):
        from django.core.handlers.wsgi import WSGIHandler

        self.app = WSGIHandler()

    def get(self, url: str) -> tuple[str, bytes]:
        path, _, query = url.partition("?")
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "wsgi.input": io.BytesIO(), "wsgi.url_scheme": "http",
            "REMOTE_ADDR": "127.0.0.1",
        }  # fmt: skip
        status = []
        body = b"".join(self.app(environ, lambda s, h, *a: status.append(s)))
        return status[0], body


class QueryTimer:
    """Wall time spent in database calls and their number (connection.execute_wrapper)."""

    def __init__(self):
        self.seconds, self.count = 0.0, 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def backend_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def in_process(urls: dict[str, str], runs: int, cached: str) -> dict[str, dict]:
    from django.conf import settings
    from django.db import connection

    settings.RESPONSE_CACHE = cached == "on"
    client, results = WsgiClient(), {}
    print(
        f"\n== in process, through the WSGI handler: {runs} warm requests each, anonymous, response cache {cached}"
        f" ({load_average()})"
    )
    print(
        f"  {'scenario':22} {'p50 ms':>7} {'p95 ms':>7} {'CPU ms':>7} {'db ms':>6} {'queries':>7} {'db CPU':>7}  target"
    )
    for name, url in urls.items():
        walls, cpus, dbs = [], [], []
        for _ in range(3):
            status, body = client.get(url)
            if not status.startswith("200"):
                raise SystemExit(f"{url}: HTTP {status} {body[:200]!r}")
        pid = backend_pid()  # the connection stays open across requests (CONN_MAX_AGE)
        backend_before = cpu_ms([pid]) if pid else 0.0
        for _ in range(runs):
            timer = QueryTimer()
            with connection.execute_wrapper(timer):
                started, cpu = time.perf_counter(), time.process_time()
                client.get(url)
                walls.append((time.perf_counter() - started) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
                dbs.append(timer.seconds * 1000)
        backend = (cpu_ms([pid]) - backend_before) / runs if pid and backend_pid() == pid else float("nan")
        r = results[name] = {
            "p50": statistics.median(walls), "p95": percentile(walls, 0.95), "cpu": statistics.median(cpus),
            "db": statistics.median(dbs), "queries": timer.count, "backend": backend,
        }  # fmt: skip
        target = IN_PROCESS_P95.get(name)
        verdict = "" if target is None else f"<= {target}: {'met' if r['p95'] <= target else 'MISSED'}"
        print(
            f"  {name:22} {r['p50']:7.1f} {r['p95']:7.1f} {r['cpu']:7.1f} {r['db']:6.1f} {r['queries']:7} "
            f"{r['backend']:7.1f}  {verdict}"
        )
    print("  (CPU: this process per request, median; db ms: wall time inside database calls; db CPU: the")
    print("   PostgreSQL backend's CPU per request, mean, at the kernel's 10 ms tick resolution over the runs)")
    return results


def profile(urls: dict[str, str], runs: int) -> None:
    """Own CPU time by area for the model detail, the first page and the HTML model page."""
    client = WsgiClient()
    for name in ("model detail", "first page", "model page (HTML)", "dataset detail"):
        if name not in urls:
            continue
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(runs):
            client.get(urls[name])
        profiler.disable()
        stats = pstats.Stats(profiler).stats
        areas: dict[str, float] = {}
        functions = []
        for (filename, line, function), (_, _, own, _, _) in stats.items():
            area = next((a for a, parts in AREAS if any(p in filename for p in parts)), "builtins (C)")
            areas[area] = areas.get(area, 0.0) + own
            functions.append(
                (own, f"{filename.rsplit('/site-packages/', 1)[-1].replace(str(ROOT) + '/', '')}:{line}({function})")
            )
        total = sum(areas.values())
        print(f"\n== CPU profile of {runs} x {name} (cProfile on process time, with its overhead): "
              f"{total / runs * 1000:.1f} ms per request")  # fmt: skip
        for area, seconds in sorted(areas.items(), key=lambda item: -item[1]):
            print(f"  {area:36} {seconds / runs * 1000:6.2f} ms  {seconds / total:4.0%}")
        print("  heaviest functions (own time per request):")
        for own, where in sorted(functions, reverse=True)[:6]:
            print(f"    {own / runs * 1000:6.2f} ms  {where}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_setup(text: str) -> tuple[int, int]:
    """``sync:N`` -> (N, 1); ``gthread:NxT`` -> (N, T)."""
    kind, _, size = text.partition(":")
    if kind == "sync" and size.isdigit():
        return int(size), 1
    workers, _, threads = size.partition("x")
    if kind == "gthread" and workers.isdigit() and threads.isdigit():
        return int(workers), int(threads)
    raise SystemExit(f"--setups: {text!r} is neither sync:N nor gthread:NxT")


def gunicorn_command(port: int, workers: int, threads: int) -> list[str]:
    command = [str(Path(sys.executable).parent / "gunicorn"), "openmodelhub.wsgi", "--workers", str(workers)]
    if threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(threads)]
    return command + ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def backends(database: str) -> list[int]:
    """The PostgreSQL backends connected to the benchmark's database (the workers' connections)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database])
        return [row[0] for row in cursor.fetchall()]


def wrk(url: str, clients: int, seconds: int, script: str) -> tuple[dict, float]:
    """One wrk run: its summary (from the Lua hook) and wrk's own CPU in ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", script, url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    spent = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    line = next(x for x in run.stdout.splitlines() if x.startswith("JSON "))
    return json.loads(line[5:]), spent


def under_load(args, env: dict, urls: dict[str, str], setup: str, cached: str) -> dict:
    workers, threads = parse_setup(setup)
    port = free_port()
    env = {**env, "OMH_RESPONSE_CACHE": "1" if cached == "on" else "0"}
    server = subprocess.Popen(gunicorn_command(port, workers, threads), cwd=ROOT, env=env)
    database = args.database_url.rsplit("/", 1)[-1]
    results = {}
    try:
        wait_until_serving(port, server, workers)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA)
        shape = f"{workers} sync workers" if threads == 1 else f"{workers} gthread workers x {threads} threads"
        print(
            f"\n== under load: gunicorn {shape} ({setup}), wrk -t2, {args.seconds} s each, response cache {cached}"
            f" ({load_average()})"
        )
        print(
            f"  {'scenario':22} {'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}"
            f"  {'CPU ms/request: worker':>22} {'db':>5} {'wrk':>5}  busy  target"
        )
        for name, url in urls.items():
            full = f"http://127.0.0.1:{port}{url}"
            wrk(full, 4, 2, script.name)  # warm-up: every worker's caches, connections and first counts
            settle(server.pid, database)
            for clients in [int(c) for c in args.clients.split(",")]:
                worker_before, pg_before = cpu_by_pid(children(server.pid)), cpu_by_pid(backends(database))
                busy_before = machine_busy()
                r, wrk_ms = wrk(full, clients, args.seconds, script.name)
                worker_ms, pg_ms = cpu_since(worker_before), cpu_since(pg_before)
                busy_after = machine_busy()
                n = max(r["requests"], 1)
                rps = r["requests"] / (r["us"] / 1e6)
                row = results[(name, clients)] = {
                    "rps": rps, "p50": r["p50"] / 1000, "p95": r["p95"] / 1000, "p99": r["p99"] / 1000,
                    "errors": r["errors"] + r["non2xx"], "worker": worker_ms / n, "db": pg_ms / n,
                    "wrk": wrk_ms / n,
                    "busy": (busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1),
                }  # fmt: skip
                settle(server.pid, database)  # sync workers finish the requests wrk left queued
                print(
                    f"  {name:22} {clients:7} {rps:7.0f} {row['p50']:7.1f} {row['p95']:7.1f} {row['p99']:7.1f} "
                    f"{row['errors']:6}  {row['worker']:22.1f} {row['db']:5.1f} {row['wrk']:5.1f}  {row['busy']:4.0%}"
                    f"  {load_verdict(name, clients, row)}"
                )
        os.unlink(script.name)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


def settle(master: int, database: str) -> None:
    """Until the workers and their backends are idle: a sync worker still answers every connection
    queued when wrk stopped, which would otherwise count against the next run."""
    for _ in range(240):
        before = cpu_ms(children(master) + backends(database))
        time.sleep(0.5)
        if cpu_ms(children(master) + backends(database)) - before < 30:
            return


def wait_until_serving(port: int, server: subprocess.Popen, workers: int) -> None:
    """Until every worker has booted (the master binds the port before they import Django)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn stopped before serving")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/tasks/", timeout=10) as answer:
                if answer.status == 200 and len(children(server.pid)) >= workers:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("gunicorn did not serve within 3 minutes")


def load_verdict(name: str, clients: int, row: dict) -> str:
    if name not in UNDER_LOAD or clients != TARGET_CLIENTS:
        return ""
    rps, p95 = UNDER_LOAD[name]
    met = row["rps"] >= rps and (p95 is None or row["p95"] < p95)
    return f">= {rps}/s{f', p95 < {p95}' if p95 else ''}: {'met' if met else 'MISSED'}"


def bounds(in_proc: dict, loads: dict[str, dict], cached: str) -> None:
    """For every missed target, what bounds it."""
    lines = []
    for name, target in IN_PROCESS_P95.items():
        r = in_proc.get(name)
        if r and r["p95"] > target:
            lines.append(
                f"  {name}: in-process p95 {r['p95']:.1f} ms > {target} ms. Per request: {r['cpu']:.1f} ms of CPU in "
                f"the process, {r['db']:.1f} ms inside {r['queries']} database calls (the backend's CPU "
                f"{r['backend']:.1f} ms); the rest ({max(r['p50'] - r['cpu'] - r['db'], 0):.1f} ms at p50) waiting for "
                f"a core (load above)."
            )
    for setup, results in loads.items():
        for name, (rps, p95) in UNDER_LOAD.items():
            row = results.get((name, TARGET_CLIENTS))
            if not row or (row["rps"] >= rps and (p95 is None or row["p95"] < p95)):
                continue
            per_request = row["worker"] + row["db"] + row["wrk"]
            ceiling = CORES * 1000 / per_request if per_request else float("inf")
            others = max(row["busy"] - row["rps"] * per_request / (CORES * 1000), 0)
            lines.append(
                f"  {name} ({setup}, {TARGET_CLIENTS} clients): {row['rps']:.0f} requests/s, p95 {row['p95']:.0f} ms. "
                f"CPU per request: {row['worker']:.1f} ms in the workers, {row['db']:.1f} ms in PostgreSQL, "
                f"{row['wrk']:.1f} ms in wrk ({row['wrk'] / per_request:.0%} of it) = {per_request:.1f} ms: at most "
                f"{ceiling:.0f} requests/s on {CORES} cores; the machine was {row['busy']:.0%} busy, "
                f"~{others:.0%} of it by other processes."
            )
    print(f"\n== what bounds each missed target, response cache {cached} ({load_average()})")
    print("\n".join(lines) if lines else "  every target measured here is met")


MEMORY_PROBE = r"""
import io, json, os, sys, time
import django
django.setup()
from django.conf import settings
settings.ALLOWED_HOSTS = ["*"]
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.core.handlers.wsgi import WSGIHandler
from accounts.models import User
from accounts.services import create_api_token
user = User.objects.create_user("bench-writer", "w@example.org", "x" * 20)
_, secret = create_api_token(user=user, name="bench", scope="write")
app, n = WSGIHandler(), int(sys.argv[1])
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
def post(i):
    body = json.dumps({"name": f"m-{i}", "license_declared": "apache-2.0", "visibility": "public"}).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/models/", "SERVER_NAME": "localhost",
               "SERVER_PORT": "80", "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
               "CONTENT_TYPE": "application/json", "HTTP_AUTHORIZATION": f"Bearer {secret}",
               "wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1"}
    status = []
    b"".join(app(environ, lambda s, h, *a: status.append(s)))
    assert status[0].startswith("201"), status
for i in range(100):
    post(-i - 1)
start, t0 = rss(), time.perf_counter()
print(f"  after 100 warm-up creates: {start:.1f} MiB", flush=True)
for i in range(n):
    post(i)
    if (i + 1) % 1000 == 0 or i + 1 == n:
        print(f"  after {i + 1:6} creates: {rss():.1f} MiB", flush=True)
print(f"  growth {rss() - start:+.1f} MiB over {n} creates; {(time.perf_counter() - t0) / n * 1000:.1f} ms per create")
"""


def memory(creates: int) -> None:
    print(f"\n== memory: {creates} creates through the WSGI handler, embedded hub (SQLite, Celery eager)")
    with tempfile.TemporaryDirectory() as var:
        env = {**os.environ, "OMH_VAR_DIR": var, "DATABASE_URL": "", "REDIS_URL": "", "DEBUG": "0",
               "API_THROTTLE_USER": "100000000/minute", "DJANGO_SETTINGS_MODULE": "openmodelhub.settings",
               "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}  # fmt: skip
        subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(creates)], cwd=ROOT, env=env, check=True)


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop gunicorn on the way out (finally)
    if args.memory_only:
        memory(args.creates)
        return
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "API_THROTTLE_ANON": "100000000/minute",
        "API_THROTTLE_USER": "100000000/minute",
        "DJANGO_SETTINGS_MODULE": "openmodelhub.settings",
        "OMH_VAR_DIR": os.environ.get("OMH_VAR_DIR") or str(ROOT / "var" / "bench-http"),  # SQLite: its db.sqlite3
        "LOG_LEVEL": "WARNING",
    }
    # Pages link hashed static names (DEBUG off): the manifest must exist, as at deploy time.
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    setup_django(env)
    from catalog.models import MLModel

    print(f"database {args.database_url.rsplit('/', 1)[-1]}: {MLModel.objects.count():,} models; {CORES} cores")
    urls = scenarios()
    if args.scenarios:
        urls = {name: url for name, url in urls.items() if name in args.scenarios.split(",")}
    modes = ("off", "on") if args.response_cache == "both" else (args.response_cache,)
    if not args.skip_load and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    for cached in modes:
        in_proc = {}
        if not args.skip_in_process:
            in_proc = in_process(urls, args.runs, cached)
            profile(urls, min(args.runs, 20))
        loads = {}
        if not args.skip_load:
            for setup in args.setups.split(","):
                loads[setup] = under_load(args, env, urls, setup, cached)
        bounds(in_proc, loads, cached)
    if args.creates:
        memory(args.creates)


if __name__ == "__main__":
    main()
