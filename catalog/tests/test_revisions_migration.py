"""Migration 0010 gives an existing hub's repositories their history (run with the migration executor)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalog import revisions
from catalog.models import Commit, Dataset, MLModel

BEFORE = [("catalog", "0008_loaded_records")]
AFTER = [("catalog", "0010_backfill_commits")]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_schema(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def make_version(apps, repo_file, number: int, status: str, minutes: int, user):
    return apps.get_model("catalog", "FileVersion").objects.create(
        file=repo_file,
        number=number,
        status=status,
        size=1,
        uploaded_by=user,
        sha256=f"{number:064x}" if status == "ready" else "",
        storage_key=f"objects/{repo_file.pk}-{number}" if status == "ready" else "",
        processed_at=T0 + timedelta(minutes=minutes),
    )


def test_the_backfill_writes_one_commit_per_ready_version_and_deletion_in_time_order(old_schema):
    apps = old_schema
    user = apps.get_model("accounts", "User").objects.create(username="olduser")
    model = apps.get_model("catalog", "MLModel").objects.create(owner=user, name="old-model")
    empty = apps.get_model("catalog", "Dataset").objects.create(owner=user, name="no-files")
    dataset = apps.get_model("catalog", "Dataset").objects.create(owner=user, name="old-data")
    RepoFile = apps.get_model("catalog", "RepoFile")
    a = RepoFile.objects.create(model=model, path="a.txt")
    b = RepoFile.objects.create(model=model, path="b.txt", deleted_at=T0 + timedelta(minutes=40))
    c = RepoFile.objects.create(model=model, path="c.txt")
    x = RepoFile.objects.create(dataset=dataset, path="x.csv")
    a1 = make_version(apps, a, 1, "ready", 10, user)
    make_version(apps, a, 2, "rejected", 15, user)
    a3 = make_version(apps, a, 3, "ready", 30, user)
    make_version(apps, b, 1, "ready", 20, None)
    make_version(apps, c, 1, "pending", 25, user)
    x1 = make_version(apps, x, 1, "ready", 5, user)

    migrate(AFTER)
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())  # the current models' columns, to read back

    model, dataset = MLModel.objects.get(pk=model.pk), Dataset.objects.get(pk=dataset.pk)
    history = list(revisions.list_commits(model))
    assert [(c.number, c.message, c.author_name) for c in history] == [
        (4, "Delete b.txt", ""),
        (3, "Upload a.txt", "olduser"),
        (2, "Upload b.txt", ""),
        (1, "Upload a.txt", "olduser"),
    ]
    assert [c.parent_id for c in history] == [history[1].pk, history[2].pk, history[3].pk, None]
    assert history[0].created_at == T0 + timedelta(minutes=40) and history[3].created_at == T0 + timedelta(minutes=10)
    assert {p: v.pk for p, v in revisions.files_at(revisions.head(model)).items()} == {"a.txt": a3.pk}
    assert {p: v.pk for p, v in revisions.files_at(history[2]).items()} == {
        "a.txt": a1.pk,
        "b.txt": b.versions.get().pk,
    }
    assert revisions.resolve_revision(model, history[3].oid[:7]) == history[3]
    assert len({c.oid for c in Commit.objects.all()}) == Commit.objects.count() == 5
    assert [(c.number, c.changes.get().version_id) for c in revisions.list_commits(dataset)] == [(1, x1.pk)]
    assert revisions.head(Dataset.objects.get(pk=empty.pk)) is None
