"""The file pipeline survives faults: a real Celery worker killed mid-file (SIGKILL) and restarted,
the sweep (stuck pending versions, staged files nothing needs), storage errors past the retries."""

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.test import TestCase
from django.utils import timezone

from accounts.models import AuditEvent
from catalog import files, pipeline, uploads
from catalog.models import Commit, FileVersion, RepoFile, UploadSession
from catalog.tests.factories import MLModelFactory
from catalog.tests.test_files import staged, stored_objects, text_bytes

needs_worker_setup = pytest.mark.skipif(
    not os.environ.get("REDIS_URL") or connection.vendor != "postgresql",
    reason="needs REDIS_URL and PostgreSQL (a worker process cannot share an in-memory SQLite test database)",
)


def start_worker(queue: str, file_store: Path, pool: str = "prefork") -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "MEDIA_ROOT": str(file_store / "media"),
        "OMH_STAGING_DIR": str(django_settings.OMH_STAGING_DIR),
        "OMH_ENCRYPTION_CHUNK_SIZE": "1024",  # many small chunks: the file takes long enough to be caught
        "OMH_FILES_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "openmodelhub", "worker", f"--pool={pool}", "--concurrency=1"]
        + ["-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def has_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def wait_for(condition, seconds: float, worker: subprocess.Popen | None = None, step: float = 0.01):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        if worker is not None and worker.poll() is not None:
            pytest.fail("the worker exited: " + worker.stdout.read().decode()[-3000:])
        time.sleep(step)
    return None


def stop(worker: subprocess.Popen) -> str:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    return worker.stdout.read().decode()[-3000:]


@pytest.fixture
def worker_queue(settings):
    """A queue of the test's own, and tasks sent to the broker (not run in process)."""
    from openmodelhub.celery import app

    queue = f"omh-files-test-{uuid.uuid4().hex[:8]}"
    settings.OMH_FILES_QUEUE = queue
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield queue
    app.conf.task_always_eager = previous


def assert_ready_once(version: FileVersion, data: bytes, file_store: Path) -> None:
    version.refresh_from_db()
    assert version.status == "ready", version.reason
    assert b"".join(files.read_plaintext(version)) == data  # checks the SHA-256 of the whole content
    assert [p.name for p in stored_objects(file_store)] == [version.uuid.hex]  # no second or partial object
    assert staged(file_store) == []
    assert AuditEvent.objects.filter(action="file.ready", details__version=version.number).count() == 1
    assert Commit.objects.filter(model=version.file.model).count() == 1


def catch_mid_file(worker: subprocess.Popen, version: FileVersion, file_store: Path) -> int:
    """The pool process that has the staged file open while the encrypted object is being written."""
    staged_file = Path(django_settings.OMH_STAGING_DIR) / version.staging_name
    target = file_store / "media" / "objects" / version.uuid.hex[:2] / version.uuid.hex

    def busy():
        if not target.exists():
            return None
        return next((pid for pid in children(worker.pid) if has_open(pid, staged_file)), None)

    pid = wait_for(busy, 120, worker, step=0.005)
    assert pid, "the worker never got to the file"
    return pid


@needs_worker_setup
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_killed_mid_file_is_replaced_and_the_version_becomes_ready(owner, file_store, worker_queue):
    worker = start_worker(worker_queue, file_store)
    try:
        model = MLModelFactory(owner=owner)
        data = text_bytes(48 << 20)
        version = files.upload_file(user=owner, asset=model, path="notes.txt", content=io.BytesIO(data))
        child = catch_mid_file(worker, version, file_store)
        os.kill(child, signal.SIGKILL)
        assert FileVersion.objects.get(pk=version.pk).status == "pending"  # it really was killed mid-file
        # The pool starts a new process; the message, rejected back to the broker, runs there again.
        assert wait_for(lambda: FileVersion.objects.get(pk=version.pk).status != "pending", 180, worker, 0.2)
        assert_ready_once(version, data, file_store)
    finally:
        output = stop(worker)
    assert "WorkerLostError" in output or "SIGKILL" in output or "signal 9" in output, output


@needs_worker_setup
@pytest.mark.django_db(transaction=True)
def test_a_whole_worker_killed_mid_file_recovers_through_the_sweep_after_restart(owner, file_store, worker_queue):
    worker = start_worker(worker_queue, file_store)
    model = MLModelFactory(owner=owner)
    data = text_bytes(48 << 20)
    try:
        version = files.upload_file(user=owner, asset=model, path="notes.txt", content=io.BytesIO(data))
        child = catch_mid_file(worker, version, file_store)
        for pid in (worker.pid, child):  # the whole machine goes: no process is left to give the task back
            os.kill(pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        stop(worker)
    assert FileVersion.objects.get(pk=version.pk).status == "pending"
    worker = start_worker(worker_queue, file_store)
    try:
        out = io.StringIO()
        call_command("sweep_pipeline", "--pending-age", "0", stdout=out)
        assert out.getvalue().startswith("1 pending versions were queued again, 0 rejected")
        assert wait_for(lambda: FileVersion.objects.get(pk=version.pk).status != "pending", 180, worker, 0.2)
        assert_ready_once(version, data, file_store)
        assert FileVersion.objects.get(pk=version.pk).requeued == 1
    finally:
        stop(worker)


# --- the sweep, in process ----------------------------------------------------------------------


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_celery")
def test_the_sweep_requeues_stuck_versions_rejects_hopeless_ones_and_removes_only_unneeded_staged_files(
    owner, file_store, settings
):
    settings.OMH_STAGING_MAX_AGE = 3600
    model = MLModelFactory(owner=owner)
    staging = Path(settings.OMH_STAGING_DIR)
    staging.mkdir(parents=True, exist_ok=True)
    # A version stuck pending (its message was lost): its staged file is old but needed.
    stuck = FileVersion.objects.create(
        file=RepoFile.objects.create(model=model, path="a.txt"),
        number=1,
        size=5,
        kind="txt",
        staging_name="up-stuck",
        uploaded_by=owner,
    )
    (staging / "up-stuck").write_bytes(b"hello")
    hopeless = FileVersion.objects.create(
        file=RepoFile.objects.create(model=model, path="b.txt"),
        number=1,
        size=5,
        kind="txt",
        staging_name="up-hopeless",
        uploaded_by=owner,
        requeued=settings.OMH_PIPELINE_MAX_REQUEUES,
    )
    (staging / "up-hopeless").write_bytes(b"crash")
    FileVersion.objects.filter(pk__in=[stuck.pk, hopeless.pk]).update(
        created_at=timezone.now() - timezone.timedelta(seconds=settings.OMH_PENDING_MAX_AGE + 1)
    )
    for name in ("orphan-old", "orphan-young"):
        (staging / name).write_bytes(b"x")
    # Upload sessions (catalog.uploads): a live one keeps its bytes, an expired one goes with them.
    live = uploads.create_session(user=owner, asset=model, size=1)
    expired = uploads.create_session(user=owner, asset=model, size=1)
    UploadSession.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timezone.timedelta(seconds=1))
    for name in ("up-stuck", "up-hopeless", "orphan-old", live.staging_name, expired.staging_name):
        age(staging / name, 7200)

    dry = io.StringIO()
    call_command("sweep_pipeline", "--dry-run", stdout=dry)
    assert dry.getvalue().strip() == (
        "1 pending versions would be queued again, 1 rejected, 2 staged files removed (dry run)"
    )
    assert UploadSession.objects.count() == 2
    assert FileVersion.objects.get(pk=stuck.pk).status == "pending" and (staging / "orphan-old").exists()

    with TestCase.captureOnCommitCallbacks(execute=True):
        result = pipeline.sweep()
    assert (result.requeued, result.rejected) == ([stuck.pk], [hopeless.pk])
    assert result.removed == ["orphan-old"]  # the hopeless version's staged file went with its rejection
    assert result.expired_uploads == 1 and list(UploadSession.objects.all()) == [live]
    stuck.refresh_from_db()
    hopeless.refresh_from_db()
    assert stuck.status == "ready" and stuck.requeued == 1  # queued again, and processed (eager here)
    assert hopeless.status == "rejected" and "did not finish after 4 attempts" in hopeless.reason
    assert sorted(p.name for p in staging.iterdir()) == sorted(["orphan-young", live.staging_name])


def test_the_sweep_command_refuses_negative_ages(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--pending-age must be zero or more seconds"):
        call_command("sweep_pipeline", "--pending-age", "-1", stdout=io.StringIO())


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_celery")
def test_a_storage_error_past_the_retries_rejects_the_version_with_the_reason(owner, file_store, settings):
    from catalog.tasks import STORAGE_RETRIES, process_file_version
    from catalog.tests.test_files import committed

    default = settings.STORAGES["default"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**default, "BACKEND": "catalog.tests.test_files.FailingStorage"},
    }
    model = MLModelFactory(owner=owner)
    with pytest.raises(Exception, match="No space left"), committed():  # the first attempt: retried later
        files.upload_file(user=owner, asset=model, path="notes.txt", content=io.BytesIO(text_bytes(5000)))
    version = FileVersion.objects.get(file__model=model)
    assert version.status == "pending"
    result = process_file_version.apply(args=(version.pk,), retries=STORAGE_RETRIES)  # the last retry
    assert result.get() == "rejected"
    version.refresh_from_db()
    assert version.status == "rejected" and "could not be stored after 6 attempts" in version.reason
    assert "No space left" in version.reason
    assert stored_objects(file_store) == [] and staged(file_store) == []


def test_file_processing_is_routed_to_its_own_queue_with_time_limits(settings):
    from catalog.tasks import process_file_version, sweep_pipeline
    from openmodelhub.celery import app

    settings.OMH_FILES_QUEUE = "files-elsewhere"
    router = app.amqp.Router()
    assert router.route({}, process_file_version.name)["queue"].name == "files-elsewhere"
    assert router.route({}, sweep_pipeline.name)["queue"].name == app.conf.task_default_queue
    assert process_file_version.acks_late and process_file_version.reject_on_worker_lost
    assert 0 < process_file_version.soft_time_limit < process_file_version.time_limit
    assert app.conf.task_reject_on_worker_lost and app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert "sweep-pipeline" in settings.CELERY_BEAT_SCHEDULE
