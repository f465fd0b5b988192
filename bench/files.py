"""Upload and download throughput of the file pipeline, next to this machine's crypto limit, and the
throughput of tabular profiling.

    .venv/bin/python bench/files.py [--size-mib 1024] [--profile-mib 1024] [--skip-upload]

Runs against a throw-away embedded hub (SQLite and local storage in a temporary folder, Celery
eager), through the service layer (catalog.files): the upload is the pipeline a worker runs
(inspect, SHA-256, chunked AES-256-GCM, write to storage), the download is the decrypting stream a
response sends. Prints MB/s for each, the single-core SHA-256 + AES-GCM throughput measured in the
same run (the upper bound for one pass over the data), and the process's peak RSS growth.
Targets: upload >= 50% and download >= 70% of that bound; RSS growth < 64 MiB whatever the size.
BENCH_PROFILE=1 prints a cProfile of the upload pipeline.

Profiling (catalog.profiling, streamed with pyarrow): a CSV of --profile-mib MiB (ids, names, e-mail
addresses, numbers, booleans, timestamps, with nulls) and the same rows as Parquet; MB/s, rows/s and
the peak RSS growth for each, next to the hand-written profiler it replaced (the catalog/inspection.py
of commit BASELINE_COMMIT, read from git, run on a --baseline-mib slice). Targets: >= 10x the old
profiler's rows/s; RSS growth flat (independent of the file's size).
"""

import argparse
import hashlib
import json
import os
import resource
import struct
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py is named like the standard library's http package: bench/ must not be on the import path.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
MIB = 1024 * 1024


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def current_rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB


class RssSampler:
    """Samples the resident set every 5 ms in a thread: the peak during a phase, not since the start."""

    def __init__(self):
        import threading

        self.peak, self._stop = current_rss_mib(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, current_rss_mib())

    def __enter__(self):
        self.start = current_rss_mib()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss_mib())

    @property
    def growth(self) -> float:
        return self.peak - self.start


def crypto_limit(chunk: int, total: int = 256 * MIB, clock=time.perf_counter) -> tuple[float, float, float]:
    """MB/s of SHA-256, of AES-256-GCM and of one pass of both on one core. ``clock=time.thread_time``
    measures CPU time, which other processes on a loaded machine do not inflate."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    block = os.urandom(chunk)
    n = total // chunk
    start = clock()
    digest = hashlib.sha256()
    for _ in range(n):
        digest.update(block)
    sha = total / (clock() - start) / MIB
    aes = AESGCM(AESGCM.generate_key(bit_length=256))
    nonce = os.urandom(12)
    start = clock()
    for _ in range(n):
        aes.encrypt(nonce, block, b"")
    gcm = total / (clock() - start) / MIB
    return sha, gcm, 1 / (1 / sha + 1 / gcm)


def storage_ceiling(folder: Path, size: int) -> tuple[float, float]:
    """Plain sequential writes of ``size`` bytes into the storage folder, twice (each file deleted
    after): MB/s the first time and the second. On a virtual machine whose guest memory the host
    backs only when first touched, page cache growing into fresh memory runs at a fraction of the
    speed of page cache reusing freed memory (seen here: ~500 MB/s against 3-5 GB/s); the second
    write is what a long-running server sees, and leaves the pipeline the same warm memory."""
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(MIB)
    rates = []
    for attempt in range(2):
        path = folder / f"ceiling-{attempt}"
        start = time.perf_counter()
        with open(path, "wb", buffering=0) as out:
            for _ in range(size // MIB):
                out.write(block)
        rates.append(size / MIB / (time.perf_counter() - start))
        path.unlink()
    return rates[0], rates[1]


def write_safetensors(path: Path, size: int) -> None:
    values = (size - 200) // 4
    header = json.dumps({"w": {"dtype": "F32", "shape": [values], "data_offsets": [0, values * 4]}}).encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(header)) + header)
        remaining = values * 4
        block = os.urandom(16 * MIB)
        while remaining:
            out.write(block[: min(remaining, len(block))])
            remaining -= min(remaining, len(block))


BASELINE_COMMIT = "40d101e"  # the last commit with the hand-written CSV/JSONL profiler


def write_tables(folder: Path, size: int) -> tuple[Path, Path, int]:
    """A CSV of about ``size`` bytes and a Parquet file of the same rows; the number of rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    csv_path, parquet_path = folder / "table.csv", folder / "table.parquet"
    cities = np.array(["Paris", "Lyon", "Berlin", "Madrid", "Rome", "Oslo", "Lisbon", "Vienna"])
    rows, batch, first = 0, 200_000, 0
    writer = None
    with open(csv_path, "wb") as out:
        while out.tell() < size:
            ids = np.arange(first, first + batch)
            score = rng.normal(50, 15, batch)
            table = pa.table(
                {
                    "id": ids,
                    "name": pa.array([f"user {i}" for i in ids]),
                    "email": pa.array([f"user{i}@example.org" for i in ids]),
                    "city": pa.array(cities[rng.integers(0, len(cities), batch)]),
                    "score": pa.array(score, mask=rng.random(batch) < 0.02),
                    "active": pa.array(rng.random(batch) < 0.5),
                    "joined": pa.array(
                        (1_600_000_000 + rng.integers(0, 10**8, batch)).astype("datetime64[s]"), pa.timestamp("s")
                    ),
                }
            )
            pcsv.write_csv(table, out, write_options=pcsv.WriteOptions(include_header=first == 0))
            writer = writer or pq.ParquetWriter(parquet_path, table.schema)
            writer.write_table(table)
            first += batch
            rows += batch
    writer.close()
    return csv_path, parquet_path, rows


def baseline_profiler():
    """The hand-written profiler's profile_delimited, from git (None when the history is not there)."""
    import subprocess
    import types

    try:
        source = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:catalog/inspection.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("baseline_inspection")
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(source, "baseline_inspection.py", "exec"), module.__dict__)
    return module.profile_delimited


def measure_profile(kind: str, path: Path) -> dict:
    """Profile one file in a fresh process (so that each figure's resident set is its own)."""
    import subprocess

    done = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure(kind: str, path: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openmodelhub.settings")
    import django

    django.setup()
    from catalog import profiling

    with RssSampler() as sampler:
        start = time.perf_counter()
        report = profiling.profile(Path(path), kind)
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "rows": report.table["row_count"], "rss_growth": sampler.growth}))


def bench_profiling(work: Path, size_mib: int, baseline_mib: int) -> None:
    csv_path, parquet_path, rows = write_tables(work, size_mib * MIB)
    csv_size = csv_path.stat().st_size
    quarter = work / "quarter.csv"
    with open(csv_path, "rb") as source, open(quarter, "wb") as out:
        out.write(source.read(csv_size // 4).rsplit(b"\n", 1)[0] + b"\n")
    parquet_mib = parquet_path.stat().st_size / MIB
    print(f"profiling: CSV {csv_size / MIB:.0f} MiB, {rows:,} rows, 7 columns; Parquet {parquet_mib:.0f} MiB")
    rates = {}
    for kind, path in (("csv", quarter), ("csv", csv_path), ("parquet", parquet_path)):
        figures = measure_profile(kind, path)
        seconds, size = figures["seconds"], path.stat().st_size / MIB
        if path == quarter:
            print(
                f"  csv, a quarter ({size:.0f} MiB): {seconds:6.2f} s, {figures['rows'] / seconds:10,.0f} rows/s; "
                f"RSS growth {figures['rss_growth']:.0f} MiB"
            )
            continue
        assert figures["rows"] == rows, figures
        rates[kind] = rows / seconds
        print(
            f"  {kind:8} (pyarrow, streamed): {seconds:6.2f} s, {size / seconds:5.0f} MB/s of the file, "
            f"{csv_size / MIB / seconds:5.0f} MB/s of CSV text, {rows / seconds:10,.0f} rows/s; "
            f"RSS growth {figures['rss_growth']:.0f} MiB"
        )
    old = baseline_profiler()
    if old is None:
        print(f"  baseline: commit {BASELINE_COMMIT} is not in this checkout's history; not measured")
        return
    piece = work / "slice.csv"
    with open(csv_path, "rb") as source, open(piece, "wb") as out:
        out.write(source.read(baseline_mib * MIB).rsplit(b"\n", 1)[0] + b"\n")
    with RssSampler() as sampler:
        start = time.perf_counter()
        report = old(piece, ",", "csv")
        seconds = time.perf_counter() - start
    old_rows = report.table["row_count"]
    print(
        f"  csv      (hand-written, {BASELINE_COMMIT}, on {baseline_mib} MiB): {seconds:6.2f} s, "
        f"{baseline_mib / seconds:5.0f} MB/s, {old_rows / seconds:10,.0f} rows/s; RSS growth {sampler.growth:.0f} MiB"
    )
    old_rate = old_rows / seconds
    print(
        f"  speed-up: CSV {rates['csv'] / old_rate:.1f}x, Parquet {rates['parquet'] / old_rate:.1f}x "
        "the hand-written CSV profiler's rows/s (target >= 10x)"
    )


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:  # one profiling figure, in a process of its own (bench_profiling)
        _measure(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--profile-mib", type=int, default=1024, help="CSV size to profile in MiB (default 1024)")
    parser.add_argument("--baseline-mib", type=int, default=16, help="slice the old profiler reads (default 16)")
    parser.add_argument("--skip-upload", action="store_true", help="profiling figures only")
    parser.add_argument("--skip-profiling", action="store_true", help="upload and download figures only")
    args = parser.parse_args()
    if min(args.size_mib, args.profile_mib, args.baseline_mib) <= 0:
        parser.error("sizes must be positive numbers of MiB")

    work = Path(tempfile.mkdtemp(prefix="omh-bench-files-"))
    os.environ.update(OMH_VAR_DIR=str(work / "var"), DJANGO_SETTINGS_MODULE="openmodelhub.settings")
    for var in ("DATABASE_URL", "REDIS_URL", "OMH_S3_BUCKET"):
        os.environ.pop(var, None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from accounts.models import User
    from catalog import files
    from catalog.models import FileVersion, MLModel

    if not args.skip_profiling:
        bench_profiling(work, args.profile_mib, args.baseline_mib)
    if args.skip_upload:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        return
    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("bench", password="bench-pass-123")
    model = MLModel.objects.create(owner=owner, name="bench-model")
    size = args.size_mib * MIB
    source = work / "model.safetensors"
    write_safetensors(source, size)
    size = source.stat().st_size

    sha, gcm, limit = crypto_limit(settings.OMH_ENCRYPTION_CHUNK_SIZE)
    sampler = RssSampler().__enter__()

    staged_at = time.perf_counter()
    # What the web process does: stage the body and record a pending version (the request body is
    # already on disk in the staging folder when a real request reaches this point). The pipeline
    # runs eagerly on commit here; time it on its own afterwards.
    from celery import current_app

    current_app.conf.task_always_eager = False
    from django.db import transaction

    with transaction.atomic():
        version = files._record_pending(
            user=owner,
            asset=model,
            path="model.safetensors",
            size=size,
            kind="safetensors",
            staged=files._stage(source),
        )
    stage_seconds = time.perf_counter() - staged_at
    source.unlink()  # the web side keeps only the staged copy (Django's temporary file is hard-linked)
    fresh, warm = storage_ceiling(Path(settings.MEDIA_ROOT), size)
    start = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        version = profiler.runcall(files.process_version, version.pk)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    else:
        version = files.process_version(version.pk)
    upload_seconds = time.perf_counter() - start
    assert version.status == FileVersion.Status.READY, version.reason

    start = time.perf_counter()
    received = 0
    for piece in files.read_plaintext(version):
        received += len(piece)
    download_seconds = time.perf_counter() - start
    assert received == size
    sampler.__exit__()

    mb = size / MIB
    print(
        f"file: {mb:.0f} MiB safetensors, encryption chunk {settings.OMH_ENCRYPTION_CHUNK_SIZE // 1024} KiB, "
        f"storage {work / 'var' / 'media'}"
    )
    print(f"single-core limit: SHA-256 {sha:.0f} MB/s, AES-256-GCM {gcm:.0f} MB/s, one pass of both {limit:.0f} MB/s")
    print(f"staging copy (web side, not part of the pipeline): {mb / stage_seconds:.0f} MB/s")
    print(
        f"storage write ceiling (plain writes into the storage folder): {warm:.0f} MB/s "
        f"({fresh:.0f} MB/s the first time, into memory the host had not backed yet)"
    )
    print(
        f"upload pipeline (inspect + hash + encrypt + store): {mb / upload_seconds:.0f} MB/s "
        f"= {100 * mb / upload_seconds / limit:.0f}% of the limit (target >= 50%), "
        f"{100 * mb / upload_seconds / min(limit, warm):.0f}% of min(limit, storage ceiling)"
    )
    print(
        f"download (read + decrypt + verify SHA-256): {mb / download_seconds:.0f} MB/s "
        f"= {100 * mb / download_seconds / limit:.0f}% of the limit (target >= 70%)"
    )
    print(
        f"RSS growth during upload and download: {sampler.growth:.1f} MiB (target < 64 MiB); "
        f"RSS {sampler.start:.0f} MiB before, peak {sampler.peak:.0f} MiB"
    )
    import shutil

    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
