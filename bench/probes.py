"""What the benchmarks that run a probe in a fresh process share: a fresh PostgreSQL database and the
environment of an embedded-default hub (eager Celery, no Redis, throttles out of the way, quiet logs)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_per_engine(engines: str, database_url: str, probe: str, args: list[str], *, note: str = "", **env) -> None:
    """Run ``probe`` (Python source) with ``args`` in a fresh process per engine of ``engines``
    ("sqlite,postgresql"): its own var folder, and for PostgreSQL a freshly created ``database_url``."""
    for engine in engines.split(","):
        with tempfile.TemporaryDirectory() as var:
            url = ""
            if engine == "postgresql":
                fresh_postgres(database_url)
                url = database_url
            print(f"\n== {engine}{note}", flush=True)
            command = [sys.executable, "-c", probe, *args]
            subprocess.run(command, cwd=ROOT, env=probe_env(var, url, **env), check=True)


def fresh_postgres(url: str) -> None:
    """Drop and create the database ``url`` names (on the server it names)."""
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def probe_env(var: str, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a probe process: its own ``var`` folder and database, Celery eager, no Redis."""
    return {
        **os.environ,
        "OMH_VAR_DIR": var,
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "DEBUG": "0",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "DJANGO_SETTINGS_MODULE": "openmodelhub.settings",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
        "OMH_PROGRESS_SECONDS": "100000",
        **extra,
    }


def django_in_process(database_url: str, redis_url: str = "", **env: str) -> None:
    """Set up Django in this process against ``database_url`` for an in-process benchmark: DEBUG off,
    throttles out of the way, any host accepted (the test client's)."""
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DEBUG="0",
        API_THROTTLE_ANON="100000000/minute",
        API_THROTTLE_USER="100000000/minute",
        DJANGO_SETTINGS_MODULE="openmodelhub.settings",
        **env,
    )
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
