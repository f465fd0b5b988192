"""The production server under concurrent load, on loopback, plus in-process latency and memory per write.

    .venv/bin/python bench/http.py [--database-url postgres://postgres@127.0.0.1:5432/omh_bench]
        [--workers 3] [--threads 1] [--clients 10,50] [--seconds 10] [--runs 30] [--creates 3000]

1. In process (Django's test client, DEBUG off, Redis cache): p50/p95 of each scenario over ``--runs``
   warm requests, and a cProfile summary of one model detail (where a request's CPU goes).
2. Under load: gunicorn as README's production section starts it (sync workers, ``--workers``) against the
   same database, driven by ``wrk`` (Debian package ``wrk``) at each ``--clients`` for ``--seconds``:
   requests/s, p50/p95/p99 and errors for each scenario. Server and load generator share the machine.
3. Memory: a throw-away embedded hub (SQLite, Celery eager, as with no configuration) takes ``--creates``
   ``POST /api/v1/models/`` through Django's WSGI handler in this process (what a gunicorn worker runs);
   prints the resident set every 1,000 creates and ms per create. Target: < 10 MiB growth over 10,000.

``--database-url ''`` measures the embedded engine instead: the SQLite file under ``$OMH_VAR_DIR`` (e.g. a
catalogue made there by ``OMH_VAR_DIR=DIR DATABASE_URL= manage.py generate_catalog``), to compare with
PostgreSQL on the same catalogue size (issue 18: SQLite within 1.5x).

Scenarios: the first page, a three-facet filter (task + licence category + architecture), a common-word
search (``bert``), a model detail, the HTML model page and the facet counts. Needs a catalogue made by
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
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
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


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/omh_bench")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (default 1: sync)")
    parser.add_argument("--clients", default="10,50", help="wrk connections, comma-separated (default 10,50)")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each load run (default 10)")
    parser.add_argument("--runs", type=int, default=30, help="in-process requests per scenario (default 30)")
    parser.add_argument("--creates", type=int, default=3000, help="creates of the memory phase (0: skip)")
    parser.add_argument("--skip-load", action="store_true", help="no gunicorn/wrk phase")
    parser.add_argument("--memory-only", action="store_true", help="only the memory phase (no database needed)")
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


def scenarios() -> dict[str, str]:
    from catalog.models import MLModel, Task

    model = MLModel.objects.filter(visibility="public").order_by("-downloads").select_related("owner").first()
    task = Task.objects.order_by("id").first()
    if model is None or task is None:
        raise SystemExit("The database holds no public model: run manage.py generate_catalog first (bench/README.md).")
    return {
        "first page": "/api/v1/models/",
        "three-facet filter": f"/api/v1/models/?task={task.slug}&license_category=permissive&architecture=transformer",
        "search bert": "/api/v1/models/?search=bert",
        "model detail": f"/api/v1/models/{model.full_name}/",
        "model page (HTML)": f"/models/{model.full_name}/",
        "facet counts": "/api/v1/models/facets",
    }


def in_process(urls: dict[str, str], runs: int) -> None:
    from django.test import Client

    client = Client()
    print(f"\n== in process: p50 / p95 ms over {runs} warm requests (anonymous)")
    for name, url in urls.items():
        times = []
        for i in range(runs + 3):
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code} {response.content[:200]!r}")
            if i >= 3:
                times.append(elapsed)
        print(f"  {name:22} {statistics.median(times):7.1f} {percentile(times, 0.95):7.1f}")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(runs):
        client.get(urls["model detail"])
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(12)
    print(f"\n== CPU profile of {runs} model details (by own time; the database is in the psycopg/socket lines)")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-1800:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def under_load(args, env: dict, urls: dict[str, str]) -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "openmodelhub.wsgi", "--workers", str(args.workers),
         "--threads", str(args.threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA)
        print(
            f"\n== under load: gunicorn {args.workers} sync workers x {args.threads} thread(s), wrk, {args.seconds} s"
        )
        print(f"  {'scenario':22} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for name, url in urls.items():
            for clients in [int(c) for c in args.clients.split(",")]:
                run = subprocess.run(
                    ["wrk", "-t2", f"-c{clients}", f"-d{args.seconds}s", "-s", script.name, f"http://127.0.0.1:{port}{url}"],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                line = next(x for x in run.stdout.splitlines() if x.startswith("JSON "))
                r = json.loads(line[5:])
                rps = r["requests"] / (r["us"] / 1e6)
                print(
                    f"  {name:22} {clients:7} {rps:8.0f} {r['p50'] / 1000:8.1f} {r['p95'] / 1000:8.1f} "
                    f"{r['p99'] / 1000:8.1f} {r['errors'] + r['non2xx']:7}"
                )
        os.unlink(script.name)
    finally:
        server.terminate()
        server.wait(timeout=30)


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

    print(f"database {args.database_url.rsplit('/', 1)[-1]}: {MLModel.objects.count():,} models")
    urls = scenarios()
    in_process(urls, args.runs)
    if not args.skip_load:
        under_load(args, env, urls)
    if args.creates:
        memory(args.creates)


if __name__ == "__main__":
    main()
