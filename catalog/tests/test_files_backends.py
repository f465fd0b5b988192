"""File storage on an S3-compatible server, and the pipeline through a real Celery worker."""

import hashlib
import io
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.test import TestCase

from catalog import crypto, files
from catalog.models import FileVersion
from catalog.stored import StoredContent
from catalog.tests.factories import MLModelFactory
from catalog.tests.test_files import text_bytes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_storage(s3_server, settings, file_store, monkeypatch):
    import boto3

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    bucket = f"omh-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "file_overwrite": True,
                "default_acl": None,
            },
        },
    }
    return boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1"), bucket


@pytest.mark.django_db
def test_files_round_trip_rotate_and_resist_tampering_on_s3(s3_storage, owner, eager_celery, monkeypatch):
    client, bucket = s3_storage
    model = MLModelFactory(owner=owner)
    data = text_bytes(5 * 1024 + 3)
    with TestCase.captureOnCommitCallbacks(execute=True):
        version = files.upload_file(user=owner, asset=model, path="notes.txt", content=io.BytesIO(data))
    version.refresh_from_db()
    assert version.status == "ready", version.reason
    stored = client.get_object(Bucket=bucket, Key=version.storage_key)["Body"].read()
    assert len(stored) == crypto.ciphertext_size(len(data), 1024) and data[:50] not in stored
    assert b"".join(files.read_plaintext(version)) == data
    assert b"".join(files.read_plaintext(version, 1000, 3100)) == data[1000:3100]  # ranged GET

    new_id, new_key = crypto.new_master_key()
    monkeypatch.setenv("OMH_MASTER_KEYS", f"{os.environ['OMH_MASTER_KEYS']},{new_id}:{new_key}")
    monkeypatch.setenv("OMH_MASTER_KEY_ID", new_id)
    crypto.keyring.cache_clear()
    call_command("rotate_master_key", stdout=io.StringIO())
    monkeypatch.setenv("OMH_MASTER_KEYS", f"{new_id}:{new_key}")
    crypto.keyring.cache_clear()
    version.refresh_from_db()
    assert version.key_id == new_id and b"".join(files.read_plaintext(version)) == data

    client.put_object(
        Bucket=bucket, Key=version.storage_key, Body=stored[:100] + bytes([stored[100] ^ 1]) + stored[101:]
    )
    with pytest.raises(crypto.IntegrityError):
        b"".join(files.read_plaintext(version))


@pytest.mark.django_db
def test_a_basic_transfer_is_encrypted_into_s3_while_received_and_the_commit_adopts_it(s3_storage, owner):
    from catalog import revisions, uploads
    from catalog.models import UploadSession

    client, bucket = s3_storage
    model = MLModelFactory(owner=owner)
    data = text_bytes(6 * 1024 + 5)
    oid = hashlib.sha256(data).hexdigest()
    session = uploads.create_session(user=owner, asset=model, size=len(data), oid=oid)
    session = uploads.receive_whole(session, io.BytesIO(data), len(data))
    stored = client.get_object(Bucket=bucket, Key=session.storage_key)["Body"].read()
    assert len(stored) == crypto.ciphertext_size(len(data), 1024) and data[:50] not in stored

    addition = uploads.Addition("notes.txt", staged=uploads.staged_session(model, oid=oid))
    created = uploads.commit(user=owner, asset=model, message="Add notes", additions=[addition])
    version = revisions.version_at(created, "notes.txt")
    assert version.storage_key == session.storage_key and not UploadSession.objects.exists()
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [session.storage_key]  # adopted, not written a second time
    assert b"".join(files.read_plaintext(version)) == data
    with StoredContent.of(version).open("rb") as handle:  # what inspection reads: ranged GETs, any order
        handle.seek(3000)
        assert handle.read(2500) == data[3000:5500]
        handle.seek(10)
        assert handle.read(5) == data[10:15] and handle.seek(0, io.SEEK_END) == len(data) and handle.read() == b""

    refused = uploads.create_session(user=owner, asset=model, size=len(data), oid="0" * 64)
    with pytest.raises(uploads.UploadError, match="not the announced"):
        uploads.receive_whole(refused, io.BytesIO(data), len(data))
    assert [item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", [])] == keys


needs_worker_setup = pytest.mark.skipif(
    not os.environ.get("REDIS_URL") or connection.vendor != "postgresql",
    reason="needs REDIS_URL and PostgreSQL (a worker process cannot share an in-memory SQLite test database)",
)


@needs_worker_setup
@pytest.mark.django_db(transaction=True)
def test_the_pipeline_runs_in_a_real_celery_worker_through_redis(owner, file_store, settings):
    from openmodelhub.celery import app

    queue = f"omh-test-{uuid.uuid4().hex[:8]}"
    settings.OMH_FILES_QUEUE = queue  # file processing is routed to its own queue
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "MEDIA_ROOT": str(file_store / "media"),
        "OMH_STAGING_DIR": str(django_settings.OMH_STAGING_DIR),
        "OMH_ENCRYPTION_CHUNK_SIZE": "1024",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "openmodelhub",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "warning",
        ],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    previous_queue, previous_eager = app.conf.task_default_queue, app.conf.task_always_eager
    app.conf.task_default_queue, app.conf.task_always_eager = queue, False
    try:
        model = MLModelFactory(owner=owner)
        data = text_bytes(4000)
        version = files.upload_file(user=owner, asset=model, path="notes.txt", content=io.BytesIO(data))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            version.refresh_from_db()
            if version.status != "pending" or worker.poll() is not None:
                break
            time.sleep(0.2)
        assert version.status == "ready", f"status {version.status} {version.reason}; worker said: " + (
            worker.stdout.read().decode() if worker.poll() is not None else "(still running)"
        )
        assert b"".join(files.read_plaintext(version)) == data
        assert FileVersion.objects.get(pk=version.pk).processed_at is not None
    finally:
        app.conf.task_default_queue, app.conf.task_always_eager = previous_queue, previous_eager
        worker.terminate()
        worker.wait(timeout=30)
