# Backfill repository history (issue 16): for each model and dataset, one commit per ready file
# version and per deleted path, in time order, with main pointing at the last. Repositories that
# already have commits are left alone, so the migration is safe to run again.
#
# What is known: the ready versions (processed_at, or created_at) and a path's current deletion
# (RepoFile.deleted_at). A deletion followed by a re-upload cleared deleted_at before this release,
# so such earlier deletions cannot be recovered; the history shows the uploads only.

from django.db import migrations

from catalog.models.revisions import compute_oid


def _events(apps, field: str, asset_id: int) -> list[tuple]:
    RepoFile, FileVersion = apps.get_model("catalog", "RepoFile"), apps.get_model("catalog", "FileVersion")
    versions = (FileVersion.objects.filter(**{f"file__{field}_id": asset_id}, status="ready")
                .select_related("file", "uploaded_by").order_by("pk"))
    events = [((v.processed_at or v.created_at), 0, v.pk, v.file.path, v) for v in versions]
    ready_paths = {v.file.path for v in versions}
    for repo_file in RepoFile.objects.filter(**{f"{field}_id": asset_id}, deleted_at__isnull=False):
        if repo_file.path in ready_paths:
            events.append((repo_file.deleted_at, 1, repo_file.pk, repo_file.path, None))
    return sorted(events, key=lambda e: e[:3])


def _backfill_asset(apps, field: str, asset_id: int) -> None:
    Commit, CommitChange, Ref = (apps.get_model("catalog", name) for name in ("Commit", "CommitChange", "Ref"))
    parent, present = None, set()
    for when, _, _, path, version in _events(apps, field, asset_id):
        if version is None and path not in present:
            continue
        present.add(path) if version is not None else present.discard(path)
        author = version.uploaded_by if version is not None else None
        author_name = author.username if author else ""
        message = f"{'Upload' if version is not None else 'Delete'} {path}"
        identity = f"{version.sha256}:{version.uuid.hex}" if version is not None else None
        number = parent.number + 1 if parent else 1
        oid = compute_oid(parent_oid=parent.oid if parent else "", asset_kind=field, asset_id=asset_id, number=number,
                          author=author_name, created_at=when, message=message, changes={path: identity})
        parent = Commit.objects.create(**{f"{field}_id": asset_id}, oid=oid, number=number, parent=parent,
                                       author=author, author_name=author_name, message=message, created_at=when)
        CommitChange.objects.create(commit=parent, **{f"{field}_id": asset_id}, number=number, path=path,
                                    version=version)
    if parent is not None:
        Ref.objects.create(**{f"{field}_id": asset_id}, name="main", kind="branch", commit=parent)


def backfill(apps, schema_editor) -> None:
    RepoFile, Commit = apps.get_model("catalog", "RepoFile"), apps.get_model("catalog", "Commit")
    for field in ("model", "dataset"):
        done = set(Commit.objects.filter(**{f"{field}__isnull": False}).values_list(f"{field}_id", flat=True))
        asset_ids = (RepoFile.objects.filter(**{f"{field}__isnull": False}).order_by(f"{field}_id")
                     .values_list(f"{field}_id", flat=True).distinct())
        for asset_id in asset_ids:
            if asset_id not in done:
                _backfill_asset(apps, field, asset_id)


def forget(apps, schema_editor) -> None:
    for name in ("Ref", "CommitChange", "Commit"):
        apps.get_model("catalog", name).objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0009_repository_revisions"),
    ]

    operations = [migrations.RunPython(backfill, forget)]
