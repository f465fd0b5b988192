"""Repositories with files committed through the hub's own services, a live hub, and the real, unmodified
Hugging Face clients run in a subprocess (``huggingface_hub`` reads HF_ENDPOINT when it is imported)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.signals import request_started

from accounts.services import create_api_token, grant_access
from accounts.tests.test_login import hub  # noqa: F401  (live hub on both engines; SQLite: a file copy)
from catalog import files, revisions
from catalog.models import CommitChange, FileVersion, Visibility
from catalog.tests.factories import DatasetFactory, MLModelFactory

CLIENT_PRELUDE = "import json, os, sys\n"


def put_files(*, user, asset, contents: dict[str, bytes], message: str = "Upload"):
    """Upload through the file service (the pipeline runs eagerly) and make sure the versions are committed
    (one commit for all of them when the upload path did not already commit each)."""
    versions = {}
    for path, content in contents.items():
        version = files.upload_file(user=user, asset=asset, path=path, content=ContentFile(content, name=path))
        version.refresh_from_db()
        assert version.status == FileVersion.Status.READY, version.reason
        versions[path] = version
    pending = {p: v for p, v in versions.items() if not CommitChange.objects.filter(version=v).exists()}
    if pending:
        revisions.commit_changes(asset=asset, author=user, message=message, changes=pending)
    return revisions.head(asset)


@dataclass
class Requests:
    """Every request the hub received (method, path, Range header), recorded by Django's own signal."""

    seen: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, sender, environ=None, **kwargs):
        with self.lock:
            self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("HTTP_RANGE", "")))

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()


@pytest.fixture
def requests_seen():
    recorder = Requests()
    request_started.connect(recorder, dispatch_uid="hfhub-tests")
    yield recorder
    request_started.disconnect(dispatch_uid="hfhub-tests")


@dataclass
class World:
    owner: object
    stranger: object
    grantee: object
    model: object
    dataset: object
    private: object
    grant: object
    tokens: dict
    commits: dict


@pytest.fixture
def world(file_store, eager_celery, owner, stranger, grantee) -> World:
    model = MLModelFactory(owner=owner, name="tiny-bert")
    first = put_files(
        user=owner,
        asset=model,
        contents={
            "config.json": b'{"hidden_size": 1}',
            "weights/readme.txt": b"weights go here",
            "notes.txt": b"hello",
        },
    )
    revisions.create_tag(asset=model, name="v1", revision=first.oid, user=owner)
    second = put_files(user=owner, asset=model, contents={"config.json": b'{"hidden_size": 2}'}, message="Bigger")
    dataset = DatasetFactory(owner=owner, name="tiny-csv")
    put_files(
        user=owner,
        asset=dataset,
        contents={"data/train.csv": b"a,b\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(200))},
    )
    private = MLModelFactory(owner=owner, name="secret", visibility=Visibility.PRIVATE)
    put_files(user=owner, asset=private, contents={"config.json": b'{"secret": true}'})
    grant = grant_access(by=owner, asset=private, permission="read", user=grantee)
    tokens = {
        user.username: create_api_token(user=user, name="hf", scope="read")[1] for user in (owner, stranger, grantee)
    }
    return World(owner, stranger, grantee, model, dataset, private, grant, tokens, {"first": first, "second": second})


@pytest.fixture
def live(world, hub):  # noqa: F811  (after the world exists, so that SQLite's copy holds it)
    return hub


def run_client(live_url: str, code: str, home: Path, token: str | None = None, timeout: int = 180):
    """Run ``code`` with the real clients against the hub; it prints one JSON value last."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "HUGGING"))}
    env.update(
        HF_ENDPOINT=f"{live_url}/hf",
        HF_HOME=str(home / "hf-home"),
        HF_HUB_CACHE=str(home / "hub-cache"),
        HF_DATASETS_CACHE=str(home / "datasets-cache"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_OFFLINE="0",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_XET="1",
        NO_PROXY="*",
        no_proxy="*",
    )
    if token:
        env["HF_TOKEN"] = token
    done = subprocess.run(
        [sys.executable, "-c", CLIENT_PRELUDE + code], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
