"""Repository revisions: commits written by the file pipeline and by deletions, resolving revisions,
the files at a commit, tags."""

import io
import os
import pickle
import re
from itertools import pairwise

import pytest
from django.core.exceptions import PermissionDenied
from django.test import TestCase

from accounts.models import AuditEvent
from catalog import files, revisions
from catalog.models import Commit, FileVersion, Ref
from catalog.revisions import RevisionNotFound
from catalog.tests.factories import MLModelFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_store", "eager_celery")]


def upload(user, asset, path: str, data: bytes) -> FileVersion:
    with TestCase.captureOnCommitCallbacks(execute=True):
        version = files.upload_file(user=user, asset=asset, path=path, content=io.BytesIO(data))
    version.refresh_from_db()
    return version


def contents(commit) -> dict[str, bytes]:
    return {path: b"".join(files.read_plaintext(v)) for path, v in revisions.files_at(commit).items()}


@pytest.fixture
def repo(owner):
    return MLModelFactory(owner=owner, name="repo")


def test_each_ready_upload_makes_one_commit_and_moves_main(owner, repo):
    assert revisions.head(repo) is None
    v1 = upload(owner, repo, "config.json", b'{"a": 1}')
    first = revisions.head(repo)
    assert (first.number, first.parent, first.message, first.author, first.author_name) == (
        1,
        None,
        "Upload config.json",
        owner,
        "owner",
    )
    assert re.fullmatch(r"[0-9a-f]{40}", first.oid) and first.short_oid == first.oid[:7]
    upload(owner, repo, "notes.txt", b"hello")
    second = revisions.head(repo)
    assert (second.number, second.parent) == (2, first)
    assert [c.path for c in second.changes.all()] == ["notes.txt"]
    assert revisions.files_at(first) == {"config.json": v1}
    assert AuditEvent.objects.filter(action="repo.commit").count() == 2


def test_files_at_follows_uploads_deletes_and_reuploads(owner, repo):
    upload(owner, repo, "a.txt", b"a1")
    upload(owner, repo, "b.txt", b"b1")
    c2 = revisions.head(repo)
    upload(owner, repo, "a.txt", b"a2")
    c3 = revisions.head(repo)
    files.delete_path(user=owner, asset=repo, path="b.txt")
    c4 = revisions.head(repo)
    upload(owner, repo, "b.txt", b"b2")
    c5 = revisions.head(repo)
    assert c4.message == "Delete b.txt" and c4.changes.get().version is None
    assert contents(c2) == {"a.txt": b"a1", "b.txt": b"b1"}
    assert contents(c3) == {"a.txt": b"a2", "b.txt": b"b1"}
    assert contents(c4) == {"a.txt": b"a2"}
    assert contents(c5) == {"a.txt": b"a2", "b.txt": b"b2"}
    assert revisions.version_at(c4, "b.txt") is None
    assert b"".join(files.read_plaintext(revisions.version_at(c2, "a.txt"))) == b"a1"


def test_files_at_is_one_query(owner, repo, django_assert_num_queries):
    for n in range(5):
        upload(owner, repo, f"f{n}.txt", b"x" * n)
    commit = revisions.head(repo)
    with django_assert_num_queries(1):
        assert len(revisions.files_at(commit)) == 5


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_rejected_upload_makes_no_commit_and_keeps_its_reason(owner, repo):
    good = upload(owner, repo, "pytorch_model.bin", pickle.dumps({"weights": [1.0]}, protocol=4))
    before = revisions.head(repo)
    bad = upload(owner, repo, "pytorch_model.bin", pickle.dumps(Evil()))
    assert bad.status == FileVersion.Status.REJECTED and "system" in bad.reason
    assert revisions.head(repo) == before and Commit.objects.of(repo).count() == 1
    assert not bad.changes.exists()
    assert revisions.files_at(revisions.head(repo)) == {"pytorch_model.bin": good}


def test_commit_changes_refuses_versions_that_are_not_ready_with_the_reason(owner, repo):
    upload(owner, repo, "a.txt", b"a")
    version = upload(owner, repo, "a.txt", b"b")
    FileVersion.objects.filter(pk=version.pk).update(status=FileVersion.Status.REJECTED, reason="unsafe")
    version.refresh_from_db()
    with pytest.raises(ValueError, match="rejected, not ready: unsafe"):
        revisions.commit_changes(asset=repo, author=owner, message="x", changes={"a.txt": version})
    assert revisions.head(repo).number == 2


def test_commit_changes_refuses_deleting_an_absent_path_and_foreign_versions(owner, repo):
    other = MLModelFactory(owner=owner)
    foreign = upload(owner, other, "a.txt", b"a")
    upload(owner, repo, "a.txt", b"a")
    with pytest.raises(ValueError, match="no such file"):
        revisions.commit_changes(asset=repo, author=owner, message="x", changes={"gone.txt": None})
    with pytest.raises(ValueError, match="another repository"):
        revisions.commit_changes(asset=repo, author=owner, message="x", changes={"a.txt": foreign})
    with pytest.raises(ValueError, match="at least one change"):
        revisions.commit_changes(asset=repo, author=owner, message="x", changes={})
    assert Commit.objects.of(repo).count() == 1


def test_a_multi_file_change_is_one_commit(owner, repo):
    a = upload(owner, repo, "a.txt", b"a")
    b = upload(owner, repo, "b.txt", b"b")
    commit = revisions.commit_changes(asset=repo, author=owner, message="Both", changes={"a.txt": None, "b.txt": b})
    assert sorted((c.path, c.version_id) for c in commit.changes.all()) == [("a.txt", None), ("b.txt", b.pk)]
    assert revisions.files_at(commit) == {"b.txt": b}
    assert a.file.__class__.objects.get(pk=a.file_id).deleted_at is not None


def test_resolve_revision_accepts_every_form(owner, repo):
    upload(owner, repo, "a.txt", b"1")
    first = revisions.head(repo)
    upload(owner, repo, "a.txt", b"2")
    second = revisions.head(repo)
    revisions.create_tag(asset=repo, name="v1.0", revision=first.oid, user=owner)
    for revision in (
        None,
        "",
        "main",
        "refs/heads/main",
        "refs%2Fheads%2Fmain",
        second.oid,
        second.short_oid,
        second.oid[:12],
    ):
        assert revisions.resolve_revision(repo, revision) == second, revision
    for revision in ("v1.0", "refs/tags/v1.0", "refs%2Ftags%2Fv1.0", first.oid, first.oid[:7]):
        assert revisions.resolve_revision(repo, revision) == first, revision
    for revision in (
        "v2",
        "refs/heads/v1.0",
        "refs/tags/main",
        first.oid[:6],
        "0" * 40,
        second.oid.upper(),
        "x" * 300,
        "refs/pr/1",
    ):
        with pytest.raises(RevisionNotFound):
            revisions.resolve_revision(repo, revision)


def test_an_ambiguous_short_id_is_not_found(owner, repo):
    upload(owner, repo, "a.txt", b"1")
    upload(owner, repo, "a.txt", b"2")
    one, two = Commit.objects.of(repo).order_by("number")
    Commit.objects.filter(pk=one.pk).update(oid="abcdef0" + one.oid[7:])
    Commit.objects.filter(pk=two.pk).update(oid="abcdef0" + two.oid[7:])
    with pytest.raises(RevisionNotFound):
        revisions.resolve_revision(repo, "abcdef0")


def test_revisions_of_another_repository_are_not_found(owner, repo):
    other = MLModelFactory(owner=owner)
    upload(owner, other, "a.txt", b"1")
    with pytest.raises(RevisionNotFound):
        revisions.resolve_revision(repo, revisions.head(other).oid)
    assert revisions.resolve_revision(repo, "main") is None


def test_tags_need_write_access_and_a_clean_unused_name(owner, stranger, repo):
    upload(owner, repo, "a.txt", b"1")
    with pytest.raises(PermissionDenied):
        revisions.create_tag(asset=repo, name="v1", revision=None, user=stranger)
    for bad in ("main", "", "-x", "a/b", "v 1", "abcdef01"):
        with pytest.raises(ValueError):
            revisions.create_tag(asset=repo, name=bad, revision=None, user=owner)
    tag = revisions.create_tag(asset=repo, name="v1", revision=None, user=owner)
    assert (tag.kind, tag.commit) == (Ref.Kind.TAG, revisions.head(repo))
    with pytest.raises(ValueError, match="already exists"):
        revisions.create_tag(asset=repo, name="v1", revision=None, user=owner)
    with pytest.raises(PermissionDenied):
        revisions.delete_tag(asset=repo, name="v1", user=stranger)
    with pytest.raises(RevisionNotFound):
        revisions.delete_tag(asset=repo, name="main", user=owner)
    revisions.delete_tag(asset=repo, name="v1", user=owner)
    assert [r.name for r in revisions.list_refs(repo)] == ["main"]


def test_list_commits_walks_back_from_the_revision(owner, repo):
    for n in range(3):
        upload(owner, repo, "a.txt", str(n).encode())
    first = Commit.objects.of(repo).get(number=1)
    assert [c.number for c in revisions.list_commits(repo)] == [3, 2, 1]
    assert [c.number for c in revisions.list_commits(repo, first.oid)] == [1]
    assert not revisions.list_commits(MLModelFactory(owner=owner)).exists()


def test_deleting_a_path_rejects_its_pending_upload(owner, repo):
    upload(owner, repo, "a.txt", b"1")
    pending = files.upload_file(user=owner, asset=repo, path="a.txt", content=io.BytesIO(b"2"))  # not processed
    files.delete_path(user=owner, asset=repo, path="a.txt")
    pending.refresh_from_db()
    assert pending.status == FileVersion.Status.REJECTED and "deleted" in pending.reason
    files.process_version(pending.pk)
    assert revisions.files_at(revisions.head(repo)) == {}


def test_deleting_an_asset_deletes_its_history(owner, repo):
    upload(owner, repo, "a.txt", b"1")
    revisions.create_tag(asset=repo, name="v1", revision=None, user=owner)
    repo.delete()
    assert not Commit.objects.exists() and not Ref.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_commits_stay_linear_on_postgresql(owner, repo):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("row locks are what is tested; SQLite serialises every write anyway")
    paths = [f"f{n}.txt" for n in range(8)]
    for path in paths:
        upload(owner, repo, path, path.encode())

    def delete(path: str) -> int:
        try:
            return revisions.commit_changes(
                asset=repo, author=owner, message=f"Delete {path}", changes={path: None}
            ).number
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        numbers = sorted(pool.map(delete, paths))
    assert numbers == list(range(9, 17))
    history = list(revisions.list_commits(repo))
    assert [c.number for c in history] == list(range(16, 0, -1))
    assert all(c.parent_id == older.pk for c, older in pairwise(history))
    assert revisions.files_at(history[0]) == {}
