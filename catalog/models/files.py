"""Files of models and datasets, each path with immutable versions (see catalog/files.py for the flows)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models.base import exactly_one_asset, non_negative
from catalog.models.datasets import Dataset
from catalog.models.mlmodels import MLModel


class RepoFileQuerySet(models.QuerySet):
    def present(self) -> RepoFileQuerySet:
        return self.filter(deleted_at__isnull=True)

    def of(self, asset) -> RepoFileQuerySet:
        return self.filter(**{asset.kind: asset})

    def with_latest(self) -> RepoFileQuerySet:
        """Annotate each path with its latest ready version's id, number, size and hash."""
        latest = FileVersion.objects.filter(file=models.OuterRef("pk"), status=FileVersion.Status.READY).order_by(
            "-number"
        )
        return self.annotate(
            latest_id=models.Subquery(latest.values("pk")[:1]),
            latest_number=models.Subquery(latest.values("number")[:1]),
            latest_size=models.Subquery(latest.values("size")[:1]),
            latest_sha256=models.Subquery(latest.values("sha256")[:1]),
            latest_created_at=models.Subquery(latest.values("created_at")[:1]),
        )


class RepoFile(models.Model):
    """A path in a model's or a dataset's repository. Deleting a path keeps its history."""

    model = models.ForeignKey(MLModel, null=True, blank=True, on_delete=models.CASCADE, related_name="repo_files")
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="repo_files")
    path = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = RepoFileQuerySet.as_manager()

    class Meta:
        verbose_name = "file"
        ordering = ["path"]
        constraints = [
            exactly_one_asset("repofile"),
            models.UniqueConstraint(
                fields=["model", "path"], condition=Q(model__isnull=False), name="repofile_model_path_unique"
            ),
            models.UniqueConstraint(
                fields=["dataset", "path"], condition=Q(dataset__isnull=False), name="repofile_dataset_path_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset}:{self.path}"

    @property
    def asset(self):
        return self.model or self.dataset

    def latest_ready(self) -> FileVersion | None:
        return self.versions.filter(status=FileVersion.Status.READY).order_by("-number").first()


class FileVersion(models.Model):
    """One immutable upload of a path. Content lives encrypted in storage under ``storage_key``."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        REJECTED = "rejected", "Rejected"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    file = models.ForeignKey(RepoFile, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    reason = models.TextField(blank=True, help_text="Why the version was rejected.")
    size = models.BigIntegerField(validators=[non_negative])
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    content_type = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20, blank=True, help_text="File kind by extension and content, e.g. safetensors")
    staging_name = models.CharField(max_length=100, blank=True, help_text="Upload waiting for the pipeline.")
    requeued = models.PositiveSmallIntegerField(
        default=0, help_text="Times the pipeline sweep queued this pending version again (catalog.pipeline)."
    )
    storage_key = models.CharField(max_length=300, blank=True)
    # Encryption envelope (catalog.crypto)
    cipher = models.CharField(max_length=40, blank=True)
    key_id = models.CharField(max_length=64, blank=True, db_index=True)
    wrapped_key = models.BinaryField(blank=True, default=b"")
    nonce_prefix = models.BinaryField(blank=True, default=b"")
    chunk_size = models.PositiveIntegerField(null=True, blank=True)
    inspection = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["file", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["file", "number"], name="fileversion_number_unique"),
            models.CheckConstraint(condition=Q(size__gte=0), name="fileversion_size_non_negative"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "ready", "rejected"]), name="fileversion_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="ready") | (~Q(sha256="") & ~Q(storage_key="")), name="fileversion_ready_is_stored"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file} v{self.number} ({self.status})"


class UploadSession(models.Model):
    """Bytes being received into the staging folder for a repository, before a commit names them: one
    Git LFS object (``oid`` given by the client and checked) or a page/API upload (``oid`` computed).

    The content arrives whole (one streamed PUT, hashed and encrypted as it is written) or in numbered
    parts of ``part_size`` bytes written at their offsets, in any order and any number of times, so that
    an interrupted transfer resumes with the parts still missing; ``complete`` hashes and encrypts the
    assembled file in one pass. Either pass writes the verified copy that the commit inspects. A
    verified session is consumed by a commit (catalog/uploads.py), which runs the inspection and storage
    pipeline on it, adopting the object encrypted on receipt; unclaimed sessions expire with their
    staged bytes and their object."""

    class Status(models.TextChoices):
        RECEIVING = "receiving", "Receiving"
        VERIFIED = "verified", "Verified"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    model = models.ForeignKey(MLModel, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    oid = models.CharField(max_length=64, blank=True, help_text="SHA-256 the client announced (LFS), or empty.")
    sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the received bytes, once verified.")
    size = models.BigIntegerField(validators=[non_negative])
    part_size = models.BigIntegerField(help_text="Bytes per part (the last part may be shorter).")
    received_parts = models.JSONField(default=list, blank=True, help_text="Part numbers (from 1) received.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVING)
    staging_name = models.CharField(max_length=100)
    # The content encrypted into storage while it was received (or when its parts were completed):
    # the commit adopts this object instead of encrypting the staged copy again. The staged plaintext
    # stays for inspection. Deleted with the session unless a commit adopted it.
    storage_key = models.CharField(max_length=300, blank=True)
    key_id = models.CharField(max_length=64, blank=True)
    wrapped_key = models.BinaryField(blank=True, default=b"")
    nonce_prefix = models.BinaryField(blank=True, default=b"")
    chunk_size = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            exactly_one_asset("uploadsession"),
            models.CheckConstraint(condition=Q(size__gte=0), name="uploadsession_size_non_negative"),
            models.CheckConstraint(condition=Q(part_size__gt=0), name="uploadsession_part_size_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["receiving", "verified"]), name="uploadsession_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="verified") | ~Q(sha256=""), name="uploadsession_verified_has_sha256"
            ),
        ]
        indexes = [
            models.Index(fields=["model", "oid"], name="uploadsession_model_oid"),
            models.Index(fields=["dataset", "oid"], name="uploadsession_dataset_oid"),
        ]

    def __str__(self) -> str:
        return f"upload {self.uuid} ({self.size} bytes, {self.status})"

    @property
    def asset(self):
        return self.model or self.dataset

    @property
    def part_count(self) -> int:
        return max(1, -(-self.size // self.part_size))

    def part_bounds(self, number: int) -> tuple[int, int]:
        """(offset, length) of part ``number`` (1-based)."""
        start = (number - 1) * self.part_size
        return start, max(0, min(self.part_size, self.size - start))

    def missing_parts(self) -> list[int]:
        have = set(self.received_parts)
        return [n for n in range(1, self.part_count + 1) if n not in have]
