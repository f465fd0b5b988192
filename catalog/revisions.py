"""Repository revisions: selectors (resolve a revision, the files at a commit, history) and the
services that write commits and tags. Every change of a repository's files goes through
``commit_changes``, which writes one commit for any number of paths (see catalog/models/revisions.py)."""

from __future__ import annotations

import re
from urllib.parse import unquote

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts import audit
from catalog.models import Commit, CommitChange, FileVersion, Ref, RepoFile, compute_oid, version_identity
from catalog.models.revisions import SHORT_OID

MAX_REVISION = 255
_HEX = re.compile(r"^[0-9a-f]+$")
TAG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
REF_PREFIXES = {"refs/heads/": Ref.Kind.BRANCH, "refs/tags/": Ref.Kind.TAG}


class RevisionNotFound(Exception):
    def __init__(self, revision: str):
        self.revision = revision
        super().__init__(f"Revision not found: {revision!r}.")


def _refs(asset) -> QuerySet[Ref]:
    return Ref.objects.filter(**{asset.kind: asset})


# --- selectors --------------------------------------------------------------------------------


def head(asset) -> Commit | None:
    """The commit ``main`` points at (None while the repository has no commit)."""
    ref = _refs(asset).filter(name=Ref.MAIN).select_related("commit").first()
    return ref.commit if ref else None


def resolve_revision(asset, revision: str | None) -> Commit | None:
    """The commit a revision names: None, "" or "main" -> the head of main (None without commits); a
    full or a unique short (>= 7) hex commit id; a branch or a tag name, also as "refs/heads/<name>"
    or "refs/tags/<name>" (URL-encoded or not). Anything else raises RevisionNotFound."""
    if not revision or revision == Ref.MAIN:
        return head(asset)
    text = unquote(revision) if "%" in revision else revision
    if len(text) > MAX_REVISION:
        raise RevisionNotFound(revision)
    kind = None
    for prefix, prefix_kind in REF_PREFIXES.items():
        if text.startswith(prefix):
            text, kind = text[len(prefix) :], prefix_kind
    if text == Ref.MAIN and kind != Ref.Kind.TAG:
        return head(asset)
    commits = Commit.objects.of(asset)
    if kind is None and len(text) == 40 and _HEX.match(text):
        if commit := commits.filter(oid=text).first():
            return commit
    refs = _refs(asset).filter(name=text).select_related("commit")
    if kind is not None:
        refs = refs.filter(kind=kind)
    if ref := refs.first():
        return ref.commit
    if kind is None and SHORT_OID <= len(text) < 40 and _HEX.match(text):
        found = list(commits.filter(oid__startswith=text)[:2])
        if len(found) == 1:
            return found[0]
    raise RevisionNotFound(revision)


def _changes_at(commit: Commit) -> QuerySet[CommitChange]:
    """For each path, its latest change at or before ``commit`` (index: asset, path, number)."""
    field = "model" if commit.model_id else "dataset"
    asset_id = commit.model_id or commit.dataset_id
    later = CommitChange.objects.filter(
        **{f"{field}_id": asset_id}, path=OuterRef("path"), number__gt=OuterRef("number"), number__lte=commit.number
    )
    return CommitChange.objects.filter(**{f"{field}_id": asset_id}, number__lte=commit.number).filter(~Exists(later))


def files_at(commit: Commit | None) -> dict[str, FileVersion]:
    """Path -> the version present at ``commit`` (deleted paths absent), sorted by path. One query."""
    if commit is None:
        return {}
    changes = _changes_at(commit).filter(version__isnull=False).select_related("version__file").order_by("path")
    return {change.path: change.version for change in changes}


def version_at(commit: Commit | None, path: str) -> FileVersion | None:
    """The version of ``path`` present at ``commit`` (None when absent or deleted there)."""
    if commit is None:
        return None
    field = "model" if commit.model_id else "dataset"
    change = (
        CommitChange.objects.filter(
            **{f"{field}_id": commit.model_id or commit.dataset_id}, path=path, number__lte=commit.number
        )
        .select_related("version__file")
        .order_by("-number")
        .first()
    )
    return change.version if change else None


def list_commits(asset, revision: str | None = None) -> QuerySet[Commit]:
    """The history reaching ``revision`` (default main), newest first. Raises RevisionNotFound."""
    commit = resolve_revision(asset, revision)
    if commit is None:
        return Commit.objects.none()
    return Commit.objects.of(asset).filter(number__lte=commit.number).select_related("author").order_by("-number")


def list_refs(asset) -> QuerySet[Ref]:
    return _refs(asset).select_related("commit").order_by("kind", "name")


# --- services ---------------------------------------------------------------------------------


def _check_change(asset, path: str, version: FileVersion | None, present: FileVersion | None) -> None:
    if version is None:
        if present is None:
            raise ValueError(f"{path}: there is no such file to delete.")
        return
    file = version.file
    if getattr(file, f"{asset.kind}_id") != asset.pk:
        raise ValueError(f"{path}: the version belongs to another repository.")
    if file.path != path:
        raise ValueError(f"{path}: the version is a version of {file.path!r}.")
    if version.status != FileVersion.Status.READY:
        reason = f": {version.reason}" if version.reason else ""
        raise ValueError(f"{path}: version {version.number} is {version.status}, not ready{reason}")


def _lock_main(asset) -> Ref | None:
    """Lock main; while there is none, the asset row, so that two first commits still queue."""
    ref = _refs(asset).select_for_update().filter(name=Ref.MAIN).first()
    if ref is None:
        type(asset).objects.select_for_update().filter(pk=asset.pk).first()
        ref = _refs(asset).select_for_update().filter(name=Ref.MAIN).first()
    return ref


@transaction.atomic
def commit_changes(*, asset, author, message: str, changes: dict[str, FileVersion | None], request=None) -> Commit:
    """Write one commit setting each path to a ready version or deleting it (None), and move main.
    Raises ValueError with the reason (nothing written) for an empty change set, a version that is not
    ready or not of that path, or the deletion of a path absent at the head."""
    if not changes:
        raise ValueError("A commit needs at least one change.")
    ref = _lock_main(asset)
    parent = ref.commit if ref else None
    present = files_at(parent)
    for path, version in changes.items():
        _check_change(asset, path, version, present.get(path))
    field = asset.kind
    author = author if getattr(author, "pk", None) else None
    number, now = (parent.number + 1 if parent else 1), timezone.now()
    author_name = author.get_username() if author else ""
    oid = compute_oid(
        parent_oid=parent.oid if parent else "",
        asset_kind=field,
        asset_id=asset.pk,
        number=number,
        author=author_name,
        created_at=now,
        message=message,
        changes={p: version_identity(v) if v else None for p, v in changes.items()},
    )
    commit = Commit.objects.create(
        **{field: asset},
        oid=oid,
        number=number,
        parent=parent,
        author=author,
        author_name=author_name,
        message=message,
        created_at=now,
    )
    CommitChange.objects.bulk_create(
        CommitChange(commit=commit, **{field: asset}, number=number, path=path, version=version)
        for path, version in sorted(changes.items())
    )
    if ref is None:
        Ref.objects.create(**{field: asset}, name=Ref.MAIN, kind=Ref.Kind.BRANCH, commit=commit)
    else:
        ref.commit = commit
        ref.save(update_fields=["commit", "updated_at"])
    _sync_present(asset, changes, now)
    audit.record(
        "repo.commit",
        actor=author,
        target=asset,
        request=request,
        details={
            "commit": oid,
            "number": number,
            "message": message[:200],
            "paths": {p: (v.number if v else None) for p, v in sorted(changes.items())},
        },
    )
    return commit


def _sync_present(asset, changes: dict[str, FileVersion | None], now) -> None:
    """RepoFile.deleted_at follows main, for the queries that list the present paths."""
    repo_files = RepoFile.objects.of(asset)
    deleted = [path for path, version in changes.items() if version is None]
    added = [path for path, version in changes.items() if version is not None]
    if deleted:
        repo_files.filter(path__in=deleted, deleted_at__isnull=True).update(deleted_at=now)
    if added:
        repo_files.filter(path__in=added, deleted_at__isnull=False).update(deleted_at=None)


def _check_writer(asset, user) -> None:
    if not asset.is_editable_by(user):
        raise PermissionDenied("You may not change this repository's tags.")


@transaction.atomic
def create_tag(*, asset, name: str, revision: str | None, user, request=None) -> Ref:
    """Tag the commit ``revision`` names (default main). Needs write access. ValueError on a bad or
    taken name or an empty repository; RevisionNotFound on an unknown revision."""
    _check_writer(asset, user)
    if not isinstance(name, str) or not TAG_NAME.match(name) or name == Ref.MAIN:
        raise ValueError(
            "A tag name is 1-100 letters, digits, '.', '_' or '-', starts with a letter or digit, and is not 'main'."
        )
    if len(name) >= SHORT_OID and _HEX.match(name):
        raise ValueError("A tag name may not look like a commit id.")
    commit = resolve_revision(asset, revision)
    if commit is None:
        raise ValueError("The repository has no commit to tag yet.")
    if _refs(asset).filter(name=name).exists():
        raise ValueError(f"A tag or branch named {name!r} already exists.")
    ref = Ref.objects.create(**{asset.kind: asset}, name=name, kind=Ref.Kind.TAG, commit=commit)
    audit.record(
        "repo.tag.create", actor=user, target=asset, request=request, details={"tag": name, "commit": commit.oid}
    )
    return ref


@transaction.atomic
def delete_tag(*, asset, name: str, user, request=None) -> None:
    """Remove a tag (branches cannot be deleted). Needs write access; RevisionNotFound if absent."""
    _check_writer(asset, user)
    ref = _refs(asset).filter(name=name, kind=Ref.Kind.TAG).select_related("commit").first()
    if ref is None:
        raise RevisionNotFound(name)
    audit.record(
        "repo.tag.delete", actor=user, target=asset, request=request, details={"tag": name, "commit": ref.commit.oid}
    )
    ref.delete()
