"""The test suite's wall time against its target (make test under ~7 minutes per engine on two cores).

    .venv/bin/python bench/tests.py [--workers auto] [--slowest 15] [--target-seconds 420] [-- PYTEST ARGS]

Runs what `make test` runs (pytest on pytest-xdist workers, --dist load) on the engine the
environment names (DATABASE_URL / REDIS_URL, as for make test), and prints the wall time, the target,
the machine's load average before and after (the suite shares the cores with whatever else runs: a
missed target on a loaded machine says little), the sum of the test durations (the CPU the workers had
to share) and the slowest tests. Arguments after `--` go to pytest (a file or -k, to time a part).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DURATION = re.compile(r"^(\d+\.\d+)s (call|setup|teardown)\s+(\S.*)$")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="auto", help="pytest-xdist workers (-n), as TEST_WORKERS")
    parser.add_argument("--slowest", type=int, default=15)
    parser.add_argument("--target-seconds", type=float, default=420.0)
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()

    command = [sys.executable, "-m", "pytest", "-n", args.workers, "--dist", "load", "-q"]
    command += ["-p", "no:cacheprovider", "--durations=0", "--durations-min=0.5", *args.pytest_args]
    engine = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    engine += " + Redis" if os.environ.get("REDIS_URL") else ""
    load_before = os.getloadavg()
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - started
    load_after = os.getloadavg()

    durations: dict[str, float] = {}
    for line in done.stdout.splitlines():
        if match := DURATION.match(line.strip()):
            seconds, _phase, test = match.groups()
            durations[test] = durations.get(test, 0.0) + float(seconds)
    summary = next((line for line in reversed(done.stdout.splitlines()) if " in " in line), "(no summary)")

    print(f"engine: {engine}; workers: {args.workers}; pytest exit code {done.returncode}")
    print(f"result: {summary.strip('= ')}")
    verdict = "met" if wall <= args.target_seconds else "MISSED"
    print(f"wall time: {wall:.0f} s (target {args.target_seconds:.0f} s: {verdict})")
    print(f"load average (1 min) before {load_before[0]:.1f}, after {load_after[0]:.1f} on {os.cpu_count()} cores")
    print(f"sum of test durations >= 0.5 s: {sum(durations.values()):.0f} s")
    print(f"slowest {args.slowest} (setup + call + teardown):")
    for test, seconds in sorted(durations.items(), key=lambda item: -item[1])[: args.slowest]:
        print(f"  {seconds:7.1f} s  {test}")
    if done.returncode not in (0, 5):
        print(done.stdout[-3000:], done.stderr[-2000:], sep="\n")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
