"""Uploading a large file through the Hugging Face protocol (``huggingface_hub.upload_file``, Git LFS)
and through the native API, against this machine's single-core SHA-256 + AES-GCM limit, with the
server's memory growth.

    .venv/bin/python bench/upload.py [--size-mib 1024] [--workers 1] [--threads 4]

Starts the production server (gunicorn, the README's setup) on a throw-away embedded hub (SQLite and
local storage in a temporary folder, Celery eager: the pipeline runs in the request), then times:

- protocol: ``HfApi().upload_file`` of a safetensors file, unmodified client, ``HF_HUB_DISABLE_XET=1``.
  The client hashes the file (SHA-256, in the client), preupload, LFS batch, the transfer (basic below
  ``OMH_LFS_MULTIPART_BYTES``: one streamed PUT that the hub hashes and encrypts into storage on two
  threads while it receives it, writing nothing else; else multipart: parts written at their offsets,
  then hashed and encrypted in one pass when completed), then the commit inspects the stored object
  through decryption (the safetensors header: one chunk) and adopts it (no second encryption) and
  answers when the file is readable;
- native: ``POST /api/v1/models/{owner}/{name}/files/`` (multipart form, streamed), with the pipeline
  hashing and encrypting in one overlapped pass.

Prints MB/s for each, the share of the single-core limit (one pass of SHA-256 and AES-GCM over the
data, in CPU time: the least work a verified, encrypted upload needs on one core), the peak RSS growth
of the gunicorn worker during each upload, the time of each phase of the protocol upload as the client
saw it (its requests and the gaps between them: the client's own hashing is the gap before the LFS
batch), the CPU time the server and the client spent against what the cores offered, and the lowest
time this design can reach here with the unmodified client sharing the cores, from measured parts: the
client's SHA-256 pass (it sends nothing before it ends), then the transfer, at least the hub's own
SHA-256 pass and at least (the client's CPU sending + the hub's CPU receiving) / 2 cores, then the
commit; with what bounds it.
Before the uploads it writes and deletes three times the file's size in the storage folder, twice, so
that the uploads run on memory the host has backed already, as a long-running server does (printed).
Targets: protocol >= 50% of the limit, server RSS growth < 64 MiB whatever the size.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py is named like the standard library's http package: bench/ must not be on the import path.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def finished_children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class WorkerRss:
    """Peak resident memory of the server's workers during a phase, sampled every 10 ms, with the CPU
    time the workers and the finished client processes spent meanwhile; and, once ``client`` names the
    running client process, the CPU time of the workers and of the client at each sample (``cpu_at``)."""

    def __init__(self, master: int):
        self.master, self._stop = master, threading.Event()
        self.client: int | None = None
        self.samples: list[tuple[float, float, float]] = []  # (perf_counter, workers' CPU, client's CPU)

    def _total(self) -> float:
        return sum(rss_mib(pid) for pid in children(self.master))

    def _cpu(self) -> tuple[float, float]:
        return sum(cpu_seconds(pid) for pid in children(self.master)), finished_children_cpu()

    def __enter__(self):
        self.start = self.peak = self._total()
        self._cpu_start, self._wall = self._cpu(), time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._total())
            if self.client is not None:
                try:
                    client = cpu_seconds(self.client)
                except OSError:  # reaped
                    continue
                server = sum(cpu_seconds(pid) for pid in children(self.master))
                self.samples.append((time.perf_counter(), server, client))

    def cpu_at(self, moment: float) -> tuple[float, float]:
        """(workers' CPU, client's CPU) at ``moment`` (a perf_counter value: the same clock in every
        process of this host), interpolated between the samples around it."""
        before = max((s for s in self.samples if s[0] <= moment), default=self.samples[0])
        after = min((s for s in self.samples if s[0] >= moment), default=self.samples[-1])
        share = 0.0 if after[0] == before[0] else (moment - before[0]) / (after[0] - before[0])
        return tuple(b + share * (a - b) for b, a in zip(before[1:], after[1:], strict=True))

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        (server, client), (server0, client0) = self._cpu(), self._cpu_start
        self.server_cpu, self.client_cpu = server - server0, client - client0
        self.wall = time.perf_counter() - self._wall

    @property
    def growth(self) -> float:
        return self.peak - self.start


def setup(work: Path) -> dict:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "OMH_S3_BUCKET")},
        "OMH_VAR_DIR": str(work / "var"),
        "MEDIA_ROOT": str(work / "media"),
        "OMH_STAGING_DIR": str(work / "staging"),
        "DJANGO_SETTINGS_MODULE": "openmodelhub.settings",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
    }
    os.environ.update(env)
    for var in ("DATABASE_URL", "REDIS_URL", "OMH_S3_BUCKET"):
        os.environ.pop(var, None)
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.models import User
    from accounts.services import create_api_token
    from catalog.models import MLModel

    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("bench-upload", "bench@example.org", uuid.uuid4().hex)
    MLModel.objects.create(owner=owner, name="bench-upload-model")
    MLModel.objects.create(owner=owner, name="bench-native-model")
    env["TOKEN"] = create_api_token(user=owner, name="bench", scope="write")[1]
    from django.db import connections

    connections.close_all()
    return env


def start_server(env: dict, port: int, workers: int, threads: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "openmodelhub.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "900",
        ],
        cwd=ROOT,
        env={k: v for k, v in env.items() if k != "TOKEN"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            time.sleep(0.5)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start: " + (server.stderr.read() if server.stderr else ""))


def native_upload(url: str, token: str, source: Path) -> float:
    """POST the file as a streamed multipart form (http.client, Content-Length known)."""
    import http.client

    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="path"\r\n\r\n{source.name}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{source.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + source.stat().st_size + len(tail)
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=900)
    started = time.perf_counter()
    connection.putrequest("POST", "/api/v1/models/bench-upload/bench-native-model/files/")
    connection.putheader("Authorization", f"Bearer {token}")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(size))
    connection.endheaders()
    connection.send(head)
    with open(source, "rb") as handle:
        while block := handle.read(4 * MIB):
            connection.send(block)
    connection.send(tail)
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    if response.status >= 300:
        raise SystemExit(f"native upload failed: {response.status} {body[:300]!r}")
    return elapsed


CLIENT = """
import json, sys, time
import httpx2
from huggingface_hub import HfApi

requests, send = [], httpx2.Client.send

def timed_send(self, request, *args, **kwargs):
    started = time.perf_counter()
    response = send(self, request, *args, **kwargs)
    requests.append((request.method, request.url.path, started, time.perf_counter()))
    return response

httpx2.Client.send = timed_send  # the client's requests, timed from the client's side
source, name, repo = sys.argv[1:4]
started = time.perf_counter()
info = HfApi().upload_file(path_or_fileobj=source, path_in_repo=name, repo_id=repo, commit_message="bench")
print(json.dumps({"seconds": time.perf_counter() - started, "oid": info.oid, "started": started, "requests": requests}))
"""


def protocol_upload(url: str, env: dict, source: Path, watch: WorkerRss | None = None) -> tuple[float, str, dict]:
    """``upload_file`` in a client process of its own (whose CPU ``watch`` samples): (seconds, commit id,
    the client's report: its requests, timed on the perf_counter clock)."""
    client_env = {k: v for k, v in env.items() if not k.startswith(("HF_", "HUGGING"))}
    client_env.update(
        HF_ENDPOINT=f"{url}/hf",
        HF_TOKEN=env["TOKEN"],
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HOME=str(Path(env["OMH_VAR_DIR"]) / "hf-home"),
    )
    command = [sys.executable, "-c", CLIENT, str(source), source.name, "bench-upload/bench-upload-model"]
    client = subprocess.Popen(command, env=client_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if watch is not None:
        watch.client = client.pid
    stdout, stderr = client.communicate()
    if client.returncode:
        raise SystemExit("protocol upload failed:\n" + stderr[-3000:])
    import json

    result = json.loads(stdout.strip().splitlines()[-1])
    return result["seconds"], result["oid"], result


def client_phases(result: dict) -> list[tuple[str, float]]:
    """The client's requests in order and the gaps between them (the client's SHA-256 is the gap before
    the LFS batch: the client hashes the file only when the batch needs its oid)."""
    phases, previous = [], result["started"]
    for method, path, started, ended in result["requests"]:
        name = request_phase(method, path)
        if started - previous > 0.005:
            phases.append((f"client work before {name}", started - previous))
        phases.append((name, ended - started))
        previous = ended
    phases.append(("client work after the commit", result["started"] + result["seconds"] - previous))
    return phases


def request_phase(method: str, path: str) -> str:
    if "/lfs/uploads/" in path:
        if method == "POST":
            return "multipart completion (hash of the assembled parts)"
        return "PUT of a part" if path.rsplit("/", 1)[-1].isdigit() else "PUT of the content (receive, hash, encrypt)"
    for marker, name in (
        ("/preupload/", "preupload"),
        ("/objects/batch", "LFS batch"),
        ("/objects/verify", "LFS verify"),
        ("/commit/", "commit (inspection, then adoption of the stored object; the database)"),
    ):
        if marker in path:
            return name
    return f"{method} {path}"


def sha256_seconds(source: Path) -> float:
    """The CPU time of one SHA-256 pass over the file (as the client's and the hub's are), read from
    the page cache; CPU time rather than wall time, so that other processes do not inflate it."""
    started, digest = time.thread_time(), hashlib.sha256()
    with open(source, "rb", buffering=0) as handle:
        while block := handle.read(4 * MIB):
            digest.update(block)
    return time.thread_time() - started


def design_floor(result: dict, watch: WorkerRss, client_sha: float, hub_sha: float) -> dict:
    """The lowest time this design can reach on this machine with the unmodified client sharing the
    cores, from measured parts: the client's SHA-256 pass (it sends nothing before it ends), then the
    transfer, which takes at least the hub's own SHA-256 pass (sequential, on one core) and at least the
    CPU that the client's sending and the hub spend during it over the two cores, then the commit."""
    transfer = [(s, e) for method, path, s, e in result["requests"] if "/lfs/uploads/" in path]
    commit = sum(e - s for _, path, s, e in result["requests"] if "/commit/" in path)
    start, end = transfer[0][0], transfer[-1][1]
    (server0, client0), (server1, client1) = watch.cpu_at(start), watch.cpu_at(end)
    hub, send = server1 - server0, client1 - client0
    transfer_floor = max(hub_sha, (hub + send) / 2)
    return {
        "client_sha": client_sha,
        "hub_sha": hub_sha,
        "hub_cpu": hub,
        "send_cpu": send,
        "transfer_wall": end - start,
        "transfer_floor": transfer_floor,
        "commit": commit,
        "seconds": client_sha + transfer_floor + commit,
        "bound": "the hub's SHA-256 pass" if hub_sha >= (hub + send) / 2 else "the CPU of sending and receiving",
    }


def print_floor(parts: dict, size_mb: float, limit: float) -> None:
    seconds = parts["seconds"]
    share = 100 * size_mb / seconds / limit
    print("  lowest time of this design on this machine, the unmodified client sharing the 2 cores (measured parts):")
    print(f"    {parts['client_sha']:7.3f} s  the client's SHA-256 pass (CPU time; it sends nothing before it ends)")
    print(
        f"    {parts['transfer_floor']:7.3f} s  the transfer: max(the hub's SHA-256 pass "
        f"{parts['hub_sha']:.3f} s (as the client's), "
        f"(client's sending {parts['send_cpu']:.3f} s + hub {parts['hub_cpu']:.3f} s of CPU during it) / 2); "
        f"measured {parts['transfer_wall']:.3f} s"
    )
    print(f"    {parts['commit']:7.3f} s  the commit (as measured)")
    print(
        f"    {seconds:7.3f} s  = {size_mb / seconds:.0f} MB/s = {share:.0f}% of the limit: the 50% target is "
        f"{'within' if share >= 50 else 'out of'} reach of this design on 2 cores with the client on the same "
        f"machine; bounded by {parts['bound']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (default 1)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (default 4)")
    args = parser.parse_args()
    if args.size_mib <= 0:
        parser.error("--size-mib must be positive")
    work = Path(tempfile.mkdtemp(prefix="omh-bench-upload-"))
    server = None
    try:
        env = setup(work)
        from django.conf import settings

        from bench.files import crypto_limit, storage_ceiling, write_safetensors

        source = work / f"model-{args.size_mib}mib.safetensors"
        write_safetensors(source, args.size_mib * MIB)
        size_mb = source.stat().st_size / MIB
        # CPU time: on a machine that other processes load, wall time would understate the limit.
        sha, gcm, limit = crypto_limit(settings.OMH_ENCRYPTION_CHUNK_SIZE, clock=time.thread_time)
        client_hash = sha256_seconds(source)  # warms the page cache too
        # An upload holds the staged plaintext and the object at once: page cache growing into memory the
        # host has not backed yet is several times slower than reusing freed memory (bench/files.py); a
        # long-running server reuses it, so the uploads below get memory touched (and freed) before.
        fresh_mbs, reused_mbs = storage_ceiling(work / "media", 3 * args.size_mib * MIB)
        port = free_port()
        server = start_server(env, port, args.workers, args.threads)
        url = f"http://127.0.0.1:{port}"
        transfer = "multipart" if source.stat().st_size >= settings.OMH_LFS_MULTIPART_BYTES else "basic"

        # Warm the worker first (gunicorn imports the application on its first request: ~110 MiB that
        # are not the upload's), through both paths with a small file.
        warm = work / "warm.safetensors"
        write_safetensors(warm, MIB)
        protocol_upload(url, env, warm)
        native_upload(url, env["TOKEN"], warm)
        with WorkerRss(server.pid) as protocol_rss:
            protocol_seconds, oid, report = protocol_upload(url, env, source, watch=protocol_rss)
        phases, floor_parts = client_phases(report), design_floor(report, protocol_rss, client_hash, client_hash)
        with WorkerRss(server.pid) as native_rss:
            native_seconds = native_upload(url, env["TOKEN"], source)

        print(
            f"file: {size_mb:.0f} MiB safetensors; gunicorn {args.workers} worker(s) x {args.threads} threads; "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end"
        )
        print(
            f"page cache writes of {3 * size_mb:.0f} MiB before the uploads: {fresh_mbs:.0f} MB/s into fresh memory, "
            f"{reused_mbs:.0f} MB/s reused"
        )
        print(
            f"single-core limit (CPU time): SHA-256 {sha:.0f} MB/s, AES-256-GCM {gcm:.0f} MB/s, "
            f"one pass of both {limit:.0f} MB/s"
        )
        rate = size_mb / protocol_seconds
        print(
            f"protocol upload_file ({transfer} transfer): {protocol_seconds:.2f} s = {rate:.0f} MB/s "
            f"= {100 * size_mb / protocol_seconds / limit:.0f}% of the limit (target >= 50%); "
            f"worker RSS growth {protocol_rss.growth:.1f} MiB (target < 64)"
        )
        print(f"  phases, as the client saw them (its own SHA-256 of the file alone: {client_hash:.2f} s):")
        for name, seconds in phases:
            print(f"    {seconds:7.3f} s  {name}")
        cores = os.cpu_count() or 1
        spent = protocol_rss.server_cpu + protocol_rss.client_cpu
        share = spent / (cores * protocol_rss.wall)
        print(
            f"  CPU: the upload's own work was {spent:.2f} s (server {protocol_rss.server_cpu:.2f} s, client "
            f"{protocol_rss.client_cpu:.2f} s): {100 * share:.0f}% of what {cores} cores offered in "
            f"{protocol_rss.wall:.2f} s; the rest went to other processes"
        )
        print_floor(floor_parts, size_mb, limit)
        print(
            f"native API upload: {native_seconds:.2f} s = {size_mb / native_seconds:.0f} MB/s "
            f"= {100 * size_mb / native_seconds / limit:.0f}% of the limit; "
            f"worker RSS growth {native_rss.growth:.1f} MiB"
        )
        print(f"commit {oid}")
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
