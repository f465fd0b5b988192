"""The Hugging Face protocol (/hf/) with the real huggingface_hub client: p95 of the metadata calls and
hf_hub_download throughput against the native download and this machine's decryption limit.

    .venv/bin/python bench/hf.py [--size-mib 256] [--runs 40] [--files 200] [--database-url postgres://…/omh_bench]

Without --database-url a throw-away embedded hub (SQLite, local storage, Celery eager) in a temporary
folder; with it, an existing migrated database (e.g. filled by ``manage.py generate_catalog --models
1000000``), to which the script adds one user "bench-hf" and its repository (kept for the next run, with
the master key and stored objects it needs under var/bench-hf/). The
hub is served by Django's threaded WSGI server in this process; the client runs in this process too.
Targets (issue 16): p95 < 50 ms for each metadata call; protocol download >= 90% of the native one.
"""

import argparse
import os
import socket
import statistics
import sys
import shutil
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py is named like the standard library's http package: bench/ must not be on the import path.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
MIB = 1024 * 1024
TARGET_MS = 50.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256, help="size of the large file (default 256)")
    parser.add_argument("--files", type=int, default=200, help="small files in the repository (default 200)")
    parser.add_argument("--runs", type=int, default=40, help="timed calls per metadata scenario (default 40)")
    parser.add_argument("--database-url", default="", help="an existing database (default: a throw-away SQLite)")
    return parser.parse_args()


def setup(args, work: Path) -> None:
    os.environ.update(
        OMH_VAR_DIR=str(work / "var"),
        MEDIA_ROOT=str(work / "media"),
        DEBUG="0",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="openmodelhub.settings",
        OMH_STAGING_DIR=str(work / "staging"),
    )
    for var in ("REDIS_URL", "OMH_S3_BUCKET", "DATABASE_URL"):
        os.environ.pop(var, None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["*"]
    settings.OMH_STAGING_DIR = work / "staging"
    if not args.database_url:
        call_command("migrate", verbosity=0)


def repository(args, work: Path):
    """The bench user's model with ``--files`` small files and one large safetensors file (made once)."""
    from django.core.files.base import ContentFile

    from accounts.models import User
    from catalog import files, revisions
    from catalog.models import MLModel
    from bench.files import write_safetensors

    owner, _ = User.objects.get_or_create(username="bench-hf")
    model, created = MLModel.objects.get_or_create(owner=owner, name="bench-hf-model")
    large = f"model-{args.size_mib}mib.safetensors"
    present = revisions.files_at(revisions.head(model))
    for i in range(args.files):
        path = f"configs/part-{i // 50}/config-{i}.json"
        if path not in present:
            files.upload_file(user=owner, asset=model, path=path, content=ContentFile(b'{"i": %d}' % i, name="c.json"))
    if large not in present:
        source = work / large
        write_safetensors(source, args.size_mib * MIB)
        files.upload_file(user=owner, asset=model, path=large, content=str(source))
        source.unlink()
    return model, large


def serve():
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def setup(self):
            super().setup()  # headers and body go out in separate writes: without this, Nagle + delayed ACK add 40 ms
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=False)
    server.set_app(WSGIHandler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(call, runs: int) -> list[float]:
    for _ in range(3):
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    args = parse_args()
    if args.database_url:  # the repository is kept in that database: its keys and stored objects must stay too
        work = ROOT / "var" / "bench-hf"
        work.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(work / "hf-cache", ignore_errors=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="omh-bench-hf-"))
    setup(args, work)
    from django.db import connection

    from catalog.models import MLModel
    from bench.files import crypto_limit

    model, large = repository(args, work)
    server, url = serve()
    os.environ.update(
        HF_ENDPOINT=f"{url}/hf",
        HF_HUB_CACHE=str(work / "hf-cache"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_XET="1",
    )
    import httpx2
    from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url

    api, repo = HfApi(), f"{model.owner.username}/{model.name}"
    print(
        f"{connection.vendor}: {MLModel.objects.count():,} models; repository {repo}: {args.files} small files "
        f"and {large}; {args.runs} timed calls each"
    )
    scenarios = {
        "repository info": lambda: api.model_info(repo),
        "tree, non-recursive": lambda: list(api.list_repo_tree(repo)),
        "list_models(search=, limit=20)": lambda: list(api.list_models(search="bench-hf", limit=20)),
        "HEAD resolve": lambda: get_hf_file_metadata(hf_hub_url(repo, "configs/part-0/config-0.json")),
    }
    print(f"{'call':34} {'p50 ms':>8} {'p95 ms':>8}")
    missed = []
    for title, call in scenarios.items():
        times = timed(call, args.runs)
        p95 = percentile(times, 0.95)
        missed += [title] if p95 >= TARGET_MS else []
        print(f"{title:34} {statistics.median(times):8.1f} {p95:8.1f}{'  > target' if p95 >= TARGET_MS else ''}")

    size = args.size_mib * MIB
    started = time.perf_counter()
    hf_hub_download(repo, large, force_download=True)
    protocol = size / MIB / (time.perf_counter() - started)
    started = time.perf_counter()
    with (
        httpx2.stream("GET", f"{url}/models/{repo}/resolve/{large}", timeout=None) as response,
        open(work / "native.bin", "wb") as out,
    ):
        for block in response.iter_bytes(1 << 20):
            out.write(block)
    native = size / MIB / (time.perf_counter() - started)
    from django.conf import settings

    limit = crypto_limit(settings.OMH_ENCRYPTION_CHUNK_SIZE)[2]
    print(f"\n{'download of ' + large:34} {'MB/s':>8}")
    print(
        f"{'hf_hub_download (/hf/)':34} {protocol:8.0f}\n{'native download':34} {native:8.0f}\n"
        f"{'SHA-256 + AES-GCM limit (1 core)':34} {limit:8.0f}"
    )
    ratio = protocol / native
    print(
        f"\nprotocol/native: {ratio:.0%} (target >= 90%); metadata p95 < {TARGET_MS:g} ms: "
        + ("all met" if not missed else "missed by " + ", ".join(missed))
    )
    server.shutdown()


if __name__ == "__main__":
    main()
