"""Repository revisions: every model and dataset is a repository of commits, like git on a linear
``main``. A commit's manifest is the set of changes it made (path -> file version, or None for a
deletion); the files present at a commit are, for each path, its latest change at or before it
(catalog/revisions.py). Refs name commits: the branch ``main`` (moved by each commit) and tags."""

from __future__ import annotations

import hashlib
from datetime import datetime, UTC

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models.base import exactly_one_asset
from catalog.models.datasets import Dataset
from catalog.models.files import FileVersion
from catalog.models.mlmodels import MLModel

SHORT_OID = 7


def compute_oid(
    *,
    parent_oid: str,
    asset_kind: str,
    asset_id: int,
    number: int,
    author: str,
    created_at: datetime,
    message: str,
    changes: dict[str, str | None],
) -> str:
    """SHA-1 (40 lowercase hex, like git) of a canonical text of the commit. ``changes`` maps each path
    to the content identity of its new version (``version_identity``) or None for a deletion."""
    lines = [
        f"parent {parent_oid}",
        f"asset {asset_kind} {asset_id}",
        f"number {number}",
        f"author {author}",
        f"time {created_at.astimezone(UTC).isoformat()}",
        "",
    ]
    lines += [f"{'-' if identity is None else identity}\t{path}" for path, identity in sorted(changes.items())]
    lines += ["", message]
    return hashlib.sha1("\n".join(lines).encode("utf-8"), usedforsecurity=False).hexdigest()


def version_identity(version: FileVersion) -> str:
    """What a commit's id commits to for a version: its content hash and the immutable version id."""
    return f"{version.sha256}:{version.uuid.hex}"


def _unique_per_asset(prefix: str, field: str) -> list[models.UniqueConstraint]:
    return [
        models.UniqueConstraint(
            fields=["model", field], condition=Q(model__isnull=False), name=f"{prefix}_model_{field}_unique"
        ),
        models.UniqueConstraint(
            fields=["dataset", field], condition=Q(dataset__isnull=False), name=f"{prefix}_dataset_{field}_unique"
        ),
    ]


class CommitQuerySet(models.QuerySet):
    def of(self, asset) -> CommitQuerySet:
        return self.filter(**{asset.kind: asset})


class Commit(models.Model):
    """One change of a repository's files. Immutable once written."""

    model = models.ForeignKey(MLModel, null=True, blank=True, on_delete=models.CASCADE, related_name="commits")
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="commits")
    oid = models.CharField(max_length=40, unique=True)
    number = models.PositiveIntegerField(help_text="1, 2, 3... along the repository's history.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=150, blank=True)
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = CommitQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        constraints = [exactly_one_asset("commit"), *_unique_per_asset("commit", "number")]

    def __str__(self) -> str:
        return f"{self.short_oid} {self.message.splitlines()[0] if self.message else ''}"

    @property
    def asset(self):
        return self.model or self.dataset

    @property
    def short_oid(self) -> str:
        return self.oid[:SHORT_OID]

    @property
    def title(self) -> str:
        return self.message.splitlines()[0] if self.message else ""


class CommitChange(models.Model):
    """A path set to a version (or deleted, ``version`` None) by a commit. The asset and the commit's
    number are copied here so that "the latest change of each path at or before commit N" is one
    indexed query (``catalog.revisions.files_at``)."""

    commit = models.ForeignKey(Commit, on_delete=models.CASCADE, related_name="changes")
    model = models.ForeignKey(MLModel, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    path = models.CharField(max_length=500)
    version = models.ForeignKey(FileVersion, null=True, blank=True, on_delete=models.RESTRICT, related_name="changes")

    class Meta:
        ordering = ["path"]
        constraints = [
            exactly_one_asset("commitchange"),
            models.UniqueConstraint(fields=["commit", "path"], name="commitchange_commit_path_unique"),
        ]
        indexes = [
            models.Index(
                fields=["model", "path", "number"], condition=Q(model__isnull=False), name="commitchange_model_path_idx"
            ),
            models.Index(
                fields=["dataset", "path", "number"],
                condition=Q(dataset__isnull=False),
                name="commitchange_dataset_path_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.path} {'deleted' if self.version_id is None else 'changed'}"

    @property
    def is_deletion(self) -> bool:
        return self.version_id is None


class Ref(models.Model):
    """A name for a commit: the branch ``main`` (history is linear on it) or a tag."""

    class Kind(models.TextChoices):
        BRANCH = "branch", "Branch"
        TAG = "tag", "Tag"

    MAIN = "main"

    model = models.ForeignKey(MLModel, null=True, blank=True, on_delete=models.CASCADE, related_name="refs")
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="refs")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    commit = models.ForeignKey(Commit, on_delete=models.CASCADE, related_name="refs")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            exactly_one_asset("ref"),
            *_unique_per_asset("ref", "name"),
            models.CheckConstraint(condition=Q(kind__in=["branch", "tag"]), name="ref_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} -> {self.commit_id}"

    @property
    def asset(self):
        return self.model or self.dataset
