"""Keeping the file pipeline moving after faults: the periodic sweep and giving up on a version.

Faults and what becomes of the version (``catalog.tasks.process_file_version``):

- the worker process dies mid-file (SIGKILL, out of memory, a lost machine): the task is acknowledged
  late and rejected back to the broker (``task_reject_on_worker_lost``), so another worker runs it
  again; ``files.process_version`` is safe to run twice (it writes the same storage key and marks the
  version ready once);
- the soft time limit (``OMH_FILE_TASK_SOFT_SECONDS``) passes: the version is rejected with the reason;
- the hard time limit passes (the process did not even stop at the soft one) or a message is lost:
  the version stays pending and the sweep queues it again, at most ``OMH_PIPELINE_MAX_REQUEUES``
  times, then rejects it with the reason;
- storage keeps failing (``OSError``) past the task's retries: the version is rejected with the
  error, so the uploader learns it and can upload again (nothing stays pending forever).

The sweep (``sweep()``; Celery beat's ``sweep-pipeline`` entry and ``manage.py sweep_pipeline``) also
removes staged files that nothing needs: older than ``OMH_STAGING_MAX_AGE``, named by no pending
version and by no live upload session (``catalog.uploads.live_staging_names()``), and deletes upload
sessions past their expiry (``OMH_UPLOAD_SESSION_SECONDS``) with their received bytes and the object
they were encrypted into. A transfer's partial file left by a killed worker takes its object along.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from catalog.models import FileVersion

log = logging.getLogger(__name__)


def give_up(version_id: int, reason: str) -> str:
    """Reject a still-pending version with ``reason`` and remove its staged file; the version's status."""
    from catalog import files

    version = FileVersion.objects.filter(pk=version_id).first()
    if version is None:
        return "missing"
    staged = version.staging_name
    version = files._reject(version, reason)
    if staged and version.status == FileVersion.Status.REJECTED and not version.staging_name:
        (Path(settings.OMH_STAGING_DIR) / staged).unlink(missing_ok=True)
    return version.status


@dataclass
class SweepResult:
    requeued: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    expired_uploads: int = 0

    def as_dict(self) -> dict:
        return {
            "requeued": len(self.requeued),
            "rejected": len(self.rejected),
            "removed": len(self.removed),
            "expired_uploads": self.expired_uploads,
        }


def _live_session_names() -> set[str]:
    """Staging names of upload sessions still open."""
    from catalog import uploads

    return uploads.live_staging_names()


def sweep(*, pending_age: float | None = None, staging_age: float | None = None, dry_run: bool = False) -> SweepResult:
    """Queue again the versions pending for longer than ``pending_age`` seconds (reject those queued
    OMH_PIPELINE_MAX_REQUEUES times already) and delete staged files older than ``staging_age`` seconds
    that no pending version and no live upload session names."""
    from catalog.tasks import process_file_version

    pending_age = settings.OMH_PENDING_MAX_AGE if pending_age is None else pending_age
    staging_age = settings.OMH_STAGING_MAX_AGE if staging_age is None else staging_age
    result = SweepResult()
    cutoff = timezone.now() - timedelta(seconds=pending_age)
    stuck = FileVersion.objects.filter(status=FileVersion.Status.PENDING, created_at__lt=cutoff).order_by("pk")
    for pk, requeued in stuck.values_list("pk", "requeued"):
        if requeued >= settings.OMH_PIPELINE_MAX_REQUEUES:
            result.rejected.append(pk)
            if not dry_run:
                give_up(
                    pk,
                    f"processing did not finish after {requeued + 1} attempts (the worker stopped or passed its "
                    "time limit); upload the file again",
                )
            continue
        result.requeued.append(pk)
        if not dry_run:
            FileVersion.objects.filter(pk=pk).update(requeued=F("requeued") + 1)
            process_file_version.delay(pk)
    if not dry_run:
        from catalog import uploads

        result.expired_uploads = uploads.purge_expired_sessions()
    result.removed = _stale_staged_files(staging_age, dry_run)
    if result.requeued or result.rejected or result.removed or result.expired_uploads:
        log.warning("pipeline sweep: %s", result.as_dict())
    return result


def _stale_staged_files(staging_age: float, dry_run: bool) -> list[str]:
    from catalog import storage, uploads

    folder = Path(settings.OMH_STAGING_DIR)
    if not folder.is_dir():
        return []
    oldest = time.time() - staging_age
    candidates = [p for p in folder.iterdir() if p.is_file() and not p.is_symlink() and p.stat().st_mtime < oldest]
    if not candidates:
        return []
    # Read after listing: a version or session created meanwhile names a file younger than the cut-off.
    needed = set(
        FileVersion.objects.filter(status=FileVersion.Status.PENDING)
        .exclude(staging_name="")
        .values_list("staging_name", flat=True)
    )
    needed |= _live_session_names()
    removed = []
    for path in candidates:
        if path.name in needed:
            continue
        removed.append(path.name)
        if not dry_run:
            path.unlink(missing_ok=True)
            if key := uploads.transfer_object(path.name):  # a transfer a killed worker left: its object too
                storage.delete_object(key)
    return removed
