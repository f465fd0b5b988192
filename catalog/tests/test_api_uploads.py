"""Resumable uploads and multi-file commits through the native API (catalog/api/uploads.py): sessions
of numbered parts sent in any order and resumed, completion hashing, one commit of several files and
deletions, a stale parent (412), a refused file (422, nothing stored), an unchanged re-upload (400),
and who may do it (reader 403, stranger 404, another writer's session missing)."""

import hashlib
import io
import os
import pickle

import pytest
from django.test import Client, TestCase

from accounts import services as sharing
from accounts.models import ApiToken, AuditEvent
from catalog import files, revisions
from catalog.models import Commit, FileVersion, RepoFile, UploadSession
from catalog.tests.factories import DatasetFactory, MLModelFactory
from openmodelhub.testing import api

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_store", "eager_celery")]

PART = 1024


@pytest.fixture(autouse=True)
def small_parts(settings):
    settings.OMH_UPLOAD_PART_BYTES = PART


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def base(asset) -> str:
    return f"/api/v1/{asset.plural}/{asset.owner.username}/{asset.name}/"


def put_part(client, asset, upload_id: str, number: int, data: bytes, **extra):
    return client.generic(
        "PUT",
        f"{base(asset)}uploads/{upload_id}/parts/{number}",
        data,
        content_type="application/octet-stream",
        **extra,
    )


def send(client, asset, data: bytes) -> str:
    """A completed upload of ``data`` (parts sent last to first), its id."""
    created = client.post(f"{base(asset)}uploads/", {"size": len(data)}, format="json")
    assert created.status_code == 201, created.content
    upload_id, count = created.json()["id"], created.json()["part_count"]
    for number in range(count, 0, -1):
        part = data[(number - 1) * PART : number * PART]
        assert put_part(client, asset, upload_id, number, part).status_code == 200
    done = client.post(f"{base(asset)}uploads/{upload_id}/complete")
    assert done.status_code == 200 and done.json() == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    return upload_id


def commit(client, asset, message: str = "Add files", **body):
    return client.post(f"{base(asset)}commits/", {"message": message, **body}, format="json")


def download(client, asset, path: str) -> bytes:
    response = client.get(f"{base(asset)}resolve/{path}")
    assert response.status_code == 200, path
    return b"".join(response.streaming_content)


def stored_objects(root) -> list:
    return sorted(p for p in (root / "media").rglob("*") if p.is_file())


def text(size: int, seed: bytes = b"x") -> bytes:
    return (seed + b" 0123456789 abcdefghijklmnopqrstuvwxyz\n") * (size // 40 + 1)


def upload_directly(user, asset, path: str, data: bytes):
    with TestCase.captureOnCommitCallbacks(execute=True):
        files.upload_file(user=user, asset=asset, path=path, content=io.BytesIO(data))
    return revisions.head(asset)


def test_parts_arrive_in_any_order_and_an_interrupted_upload_resumes_with_the_missing_ones(owner):
    model = MLModelFactory(owner=owner, name="m")
    client, data = api(owner), text(2500)[:2500]
    created = client.post(f"{base(model)}uploads/", {"size": len(data)}, format="json")
    assert created.status_code == 201
    session = created.json()
    assert (session["size"], session["part_size"], session["part_count"], session["received_parts"]) == (
        2500,
        PART,
        3,
        [],
    )
    assert session["expires_at"] and session["sha256"] == ""
    upload_id = session["id"]

    response = put_part(client, model, upload_id, 3, data[2048:])
    assert response.status_code == 200 and response.json() == {"received_parts": [3]}
    response = put_part(client, model, upload_id, 1, data[:PART])
    assert response.json() == {"received_parts": [1, 3]}

    # The transfer stops here. Completing now names what is missing; the session says it too.
    response = client.post(f"{base(model)}uploads/{upload_id}/complete")
    assert response.status_code == 400 and "part 2" not in response.json()["detail"]
    assert "1 part(s) of 3 are missing: 2." in response.json()["detail"]
    resumed = client.get(f"{base(model)}uploads/{upload_id}")
    assert resumed.status_code == 200 and resumed.json()["received_parts"] == [1, 3]

    assert put_part(client, model, upload_id, 2, data[PART : 2 * PART]).json() == {"received_parts": [1, 2, 3]}
    done = client.post(f"{base(model)}uploads/{upload_id}/complete")
    assert done.status_code == 200
    assert done.json() == {"sha256": hashlib.sha256(data).hexdigest(), "size": 2500}
    assert client.post(f"{base(model)}uploads/{upload_id}/complete").json() == done.json()  # again: same answer
    assert client.get(f"{base(model)}uploads/{upload_id}").json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_part_of_the_wrong_length_number_or_without_a_length_is_refused(owner):
    model = MLModelFactory(owner=owner, name="m")
    client = api(owner)
    upload_id = client.post(f"{base(model)}uploads/", {"size": 1500}, format="json").json()["id"]
    response = put_part(client, model, upload_id, 1, b"short")
    assert response.status_code == 400 and response.json()["detail"] == "Part 1 must be 1,024 bytes, not 5."
    response = put_part(client, model, upload_id, 3, b"x" * 476)
    assert response.status_code == 400 and "parts 1 to 2" in response.json()["detail"]
    response = put_part(client, model, upload_id, 2, b"x" * 476, CONTENT_LENGTH="")
    assert response.status_code == 400 and "Content-Length" in response.json()["detail"]
    assert client.get(f"{base(model)}uploads/{upload_id}").json()["received_parts"] == []
    for size in (-1, "many", None, 10**15):
        response = client.post(f"{base(model)}uploads/", {"size": size}, format="json")
        assert response.status_code == 400, size
    assert client.post(f"{base(model)}uploads/", {}, format="json").json() == {"size": ["This field is required."]}


def test_a_part_streams_to_staging_and_is_never_read_into_memory_by_the_request(owner, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100  # reading request.body would fail with RequestDataTooBig
    model = MLModelFactory(owner=owner, name="m")
    data = text(3000)[:3000]
    upload_id = send(api(owner), model, data)
    assert UploadSession.objects.get(uuid=upload_id).status == "verified"


def test_several_files_and_a_deletion_are_one_commit(owner, file_store):
    model = MLModelFactory(owner=owner, name="m")
    upload_directly(owner, model, "old.txt", b"old")
    head = upload_directly(owner, model, "keep.txt", b"keep")
    client = api(owner)
    first, second = text(3000, b"a"), b'{"layers": [' + b"1, " * 700 + b"2]}"
    ids = [send(client, model, first), send(client, model, second)]

    response = commit(
        client,
        model,
        "Add weights and config",
        description="Two files at once.",
        files=[{"path": "a.txt", "upload": ids[0]}, {"path": "conf/config.json", "upload": ids[1]}],
        delete=["old.txt"],
        parent_commit=head.oid,
    )
    assert response.status_code == 201, response.content
    result = response.json()
    created = revisions.head(model)
    assert result["commit"] == created.oid and created.parent == head
    assert result["url"] == f"http://testserver/models/owner/m/commit/{created.oid}/"
    assert created.message == "Add weights and config\n\nTwo files at once."
    assert [(f["path"], f["deleted"], f["size"]) for f in result["files"]] == [
        ("a.txt", False, len(first)),
        ("conf/config.json", False, len(second)),
        ("old.txt", True, None),
    ]
    assert Commit.objects.of(model).count() == 3  # old.txt, keep.txt, then this one
    assert sorted(revisions.files_at(created)) == ["a.txt", "conf/config.json", "keep.txt"]
    assert download(client, model, "a.txt") == first and download(client, model, "conf/config.json") == second
    assert client.get(f"{base(model)}resolve/old.txt").status_code == 404
    assert sorted(RepoFile.objects.of(model).present().values_list("path", flat=True)) == [
        "a.txt",
        "conf/config.json",
        "keep.txt",
    ]
    uploads_audited = AuditEvent.objects.filter(action="file.upload", details__commit=created.oid)
    assert sorted(e.details["path"] for e in uploads_audited) == ["a.txt", "conf/config.json"]
    assert AuditEvent.objects.filter(action="file.delete", details__path="old.txt").exists()
    # The sessions were consumed by the commit, their staged bytes gone.
    assert client.get(f"{base(model)}uploads/{ids[0]}").status_code == 404
    assert not UploadSession.objects.exists()
    assert [p.name for p in (file_store / "staging").iterdir()] == []


def test_a_dataset_takes_the_same_path(owner):
    dataset = DatasetFactory(owner=owner, name="d")
    client = api(owner)
    rows = b"id,score\n" + b"".join(b"%d,%d\n" % (i, i * 7) for i in range(400))
    upload_id = send(client, dataset, rows)
    response = commit(client, dataset, "Add the table", files=[{"path": "data/table.csv", "upload": upload_id}])
    assert response.status_code == 201, response.content
    assert download(client, dataset, "data/table.csv") == rows
    version = FileVersion.objects.get(file__dataset=dataset)
    assert version.status == "ready" and version.sha256 == hashlib.sha256(rows).hexdigest()


def test_a_stale_parent_is_412_and_changes_nothing_until_the_commit_is_retried_on_the_head(owner):
    model = MLModelFactory(owner=owner, name="m")
    first = upload_directly(owner, model, "a.txt", b"one")
    second = upload_directly(owner, model, "b.txt", b"two")
    client = api(owner)
    upload_id = send(client, model, b"three")
    files_ = [{"path": "c.txt", "upload": upload_id}]
    response = commit(client, model, files=files_, parent_commit=first.oid)
    assert response.status_code == 412
    assert response.json() == {"detail": "A commit has happened since. Please refresh and try again."}
    assert revisions.head(model) == second and not RepoFile.objects.of(model).filter(path="c.txt").exists()
    response = commit(client, model, files=files_, parent_commit=second.oid)
    assert response.status_code == 201 and download(client, model, "c.txt") == b"three"


def test_an_unsafe_pickle_fails_the_whole_commit_with_the_reason_and_stores_nothing(owner, file_store):
    model = MLModelFactory(owner=owner, name="m")
    head = upload_directly(owner, model, "README.md", b"# m\n")
    objects_before, versions_before = stored_objects(file_store), FileVersion.objects.count()
    client = api(owner)
    good, evil = send(client, model, text(2000)), send(client, model, pickle.dumps(Evil()))
    response = commit(
        client,
        model,
        files=[{"path": "notes.txt", "upload": good}, {"path": "pytorch_model.bin", "upload": evil}],
        delete=["README.md"],
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("pytorch_model.bin: ") and "system" in response.json()["detail"]
    assert revisions.head(model) == head and sorted(revisions.files_at(head)) == ["README.md"]
    # Nothing of the refused file is kept (neither its staged bytes nor its object); the good upload
    # keeps the object it was encrypted into when completed, for the next commit to adopt.
    kept = UploadSession.objects.get(uuid=good)
    assert not UploadSession.objects.filter(uuid=evil).exists()
    assert FileVersion.objects.count() == versions_before
    assert stored_objects(file_store) == sorted([*objects_before, file_store / "media" / kept.storage_key])
    assert not RepoFile.objects.of(model).filter(path__in=["notes.txt", "pytorch_model.bin"]).exists()
    assert client.get(f"{base(model)}uploads/{evil}").status_code == 404
    assert commit(client, model, files=[{"path": "notes.txt", "upload": good}]).status_code == 201
    assert files.latest_version(model, "notes.txt").storage_key == kept.storage_key


def test_an_identical_re_upload_is_400_no_files_have_been_modified(owner):
    model = MLModelFactory(owner=owner, name="m")
    client = api(owner)
    data = text(1500)
    assert commit(client, model, files=[{"path": "a.txt", "upload": send(client, model, data)}]).status_code == 201
    versions, head = FileVersion.objects.count(), revisions.head(model)
    response = commit(client, model, files=[{"path": "a.txt", "upload": send(client, model, data)}])
    assert response.status_code == 400
    assert response.json() == {"detail": "No files have been modified since last commit."}
    assert FileVersion.objects.count() == versions and revisions.head(model) == head


def test_bad_commit_bodies_are_400_or_404_with_a_message(owner):
    model = MLModelFactory(owner=owner, name="m")
    client = api(owner)
    upload_directly(owner, model, "a.txt", b"a")
    unfinished = client.post(f"{base(model)}uploads/", {"size": 5}, format="json").json()["id"]
    response = commit(client, model, files=[{"path": "b.txt", "upload": unfinished}])
    assert response.status_code == 400 and "not uploaded (or not completed)" in response.json()["detail"]
    response = commit(client, model, files=[{"path": "b.txt", "upload": "not-a-uuid"}])
    assert response.json() == {"files": {"0": {"upload": ["Must be a valid UUID."]}}}
    response = commit(client, model, files=[{"path": "../b.txt", "upload": send(client, model, b"b")}])
    assert response.status_code == 400 and "../b.txt" in response.json()["detail"]
    response = commit(client, model, delete=["nope.txt"])
    assert response.status_code == 404 and response.json()["detail"] == "A file with this name doesn't exist: nope.txt"
    assert commit(client, model, "", delete=["a.txt"]).status_code == 400
    assert commit(client, model, delete=["a.txt"], parent_commit="0" * 40).status_code == 412
    assert Commit.objects.of(model).count() == 1


def test_readers_get_403_strangers_404_and_writers_may_upload_but_not_use_another_writers_upload(
    owner, grantee, stranger
):
    model = MLModelFactory(owner=owner, name="m", visibility="private")
    sharing.grant_access(by=owner, asset=model, permission="read", user=grantee)
    upload_id = send(api(owner), model, b"mine")
    endpoints = [
        ("post", f"{base(model)}uploads/", {"size": 3}),
        ("get", f"{base(model)}uploads/{upload_id}", None),
        ("post", f"{base(model)}uploads/{upload_id}/complete", None),
        ("post", f"{base(model)}commits/", {"message": "x", "files": [{"path": "a.txt", "upload": upload_id}]}),
    ]
    for user, expected in ((grantee, 403), (stranger, 404)):
        client = api(user)
        for method, url, body in endpoints:
            assert getattr(client, method)(url, body, format="json").status_code == expected, (user, url)
        assert put_part(client, model, upload_id, 1, b"mine").status_code == expected
    assert api().post(f"{base(model)}uploads/", {"size": 3}, format="json").status_code == 401

    sharing.grant_access(by=owner, asset=model, permission="write", user=grantee)
    writer = api(grantee)
    assert writer.get(f"{base(model)}uploads/{upload_id}").status_code == 404  # the owner's, not theirs
    response = commit(writer, model, files=[{"path": "a.txt", "upload": upload_id}])
    assert response.status_code == 400 and "not uploaded" in response.json()["detail"]
    response = commit(writer, model, files=[{"path": "a.txt", "upload": send(writer, model, b"theirs")}])
    assert response.status_code == 201 and download(writer, model, "a.txt") == b"theirs"
    assert revisions.head(model).author == grantee


def test_a_read_scope_token_is_refused_and_a_write_scope_token_uploads(owner):
    model = MLModelFactory(owner=owner, name="m")
    _, read = sharing.create_api_token(user=owner, name="r", scope=ApiToken.Scope.READ)
    _, write = sharing.create_api_token(user=owner, name="w", scope=ApiToken.Scope.WRITE)
    reader, writer = Client(HTTP_AUTHORIZATION=f"Bearer {read}"), Client(HTTP_AUTHORIZATION=f"Bearer {write}")
    url = f"{base(model)}uploads/"
    assert reader.post(url, {"size": 3}, content_type="application/json").status_code == 403
    created = writer.post(url, {"size": 3}, content_type="application/json")
    assert created.status_code == 201
    assert put_part(writer, model, created.json()["id"], 1, b"abc").status_code == 200


def test_a_session_needs_the_csrf_token_as_the_rest_of_the_api(owner):
    model = MLModelFactory(owner=owner, name="m")
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    page = client.get("/models/owner/m/files/")
    token = page.cookies["csrftoken"].value
    url = f"{base(model)}uploads/"
    refused = client.post(url, {"size": 3}, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    created = client.post(url, {"size": 3}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert created.status_code == 201
    upload_id = created.json()["id"]
    assert put_part(client, model, upload_id, 1, b"abc").status_code == 403
    assert put_part(client, model, upload_id, 1, b"abc", HTTP_X_CSRFTOKEN=token).json() == {"received_parts": [1]}


def test_an_expired_upload_is_gone(owner):
    model = MLModelFactory(owner=owner, name="m")
    client = api(owner)
    upload_id = send(client, model, b"late")
    UploadSession.objects.update(expires_at="2000-01-01T00:00:00Z")
    assert client.get(f"{base(model)}uploads/{upload_id}").status_code == 404
    response = commit(client, model, files=[{"path": "a.txt", "upload": upload_id}])
    assert response.status_code == 400 and not Commit.objects.of(model).exists()
