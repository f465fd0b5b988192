"""Revisions through pages and the API: ?revision= on downloads and file lists, the History pages,
commits and refs endpoints, tags."""

import io

import pytest
from django.test import TestCase

from accounts import services as sharing
from catalog import files, revisions
from catalog.models import Commit
from catalog.tests.factories import DatasetFactory, MLModelFactory
from openmodelhub.testing import api

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_store", "eager_celery")]


def upload(user, asset, path: str, data: bytes):
    with TestCase.captureOnCommitCallbacks(execute=True):
        files.upload_file(user=user, asset=asset, path=path, content=io.BytesIO(data))
    return revisions.head(asset)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def repo(owner):
    """A private model with three commits: config v1, config v2, notes deleted... and a tag on the first."""
    model = MLModelFactory(owner=owner, name="repo", visibility="private")
    first = upload(owner, model, "config.json", b'{"v": 1}')
    upload(owner, model, "notes.txt", b"notes")
    upload(owner, model, "config.json", b'{"v": 2}')
    files.delete_path(user=owner, asset=model, path="notes.txt")
    revisions.create_tag(asset=model, name="v1.0", revision=first.oid, user=owner)
    return model


def test_reading_a_file_at_an_older_commit_returns_the_older_bytes_on_the_page_and_the_api(client, owner, repo):
    first = Commit.objects.of(repo).get(number=1)
    client.force_login(owner)
    page = "/models/owner/repo/resolve/config.json"
    endpoint = "/api/v1/models/owner/repo/resolve/config.json"
    for revision in (first.oid, first.short_oid, "v1.0", "refs/tags/v1.0"):
        assert body(client.get(page, {"revision": revision})) == b'{"v": 1}', revision
        assert body(api(owner).get(endpoint, {"revision": revision})) == b'{"v": 1}', revision
    for revision in (None, "main", "refs/heads/main"):
        query = {"revision": revision} if revision else {}
        assert body(client.get(page, query)) == b'{"v": 2}'
        assert body(api(owner).get(endpoint, query)) == b'{"v": 2}'
    assert body(client.get(page, {"version": "1"})) == b'{"v": 1}'  # ?version=N as before
    second = Commit.objects.of(repo).get(number=2)
    assert body(client.get("/models/owner/repo/resolve/notes.txt", {"revision": second.oid})) == b"notes"
    assert client.get("/models/owner/repo/resolve/notes.txt").status_code == 404  # deleted on main


def test_an_unknown_revision_is_404_naming_it_and_a_doubled_request_is_400(client, owner, repo):
    client.force_login(owner)
    response = client.get("/models/owner/repo/resolve/config.json", {"revision": "nope"})
    assert response.status_code == 404
    response = api(owner).get("/api/v1/models/owner/repo/resolve/config.json", {"revision": "nope"})
    assert response.status_code == 404 and "'nope'" in response.json()["detail"]
    response = api(owner).get("/api/v1/models/owner/repo/files/", {"revision": "deadbeef00"})
    assert response.status_code == 404 and "deadbeef00" in response.json()["detail"]
    assert client.get("/models/owner/repo/files/", {"revision": "nope"}).status_code == 404
    assert client.get("/models/owner/repo/commits/", {"revision": "nope"}).status_code == 404
    assert (
        api(owner)
        .get("/api/v1/models/owner/repo/resolve/config.json", {"revision": "main", "version": "1"})
        .status_code
        == 400
    )


def test_file_lists_at_a_revision_and_the_detail_sha(client, owner, repo):
    second = Commit.objects.of(repo).get(number=2)
    listed = api(owner).get("/api/v1/models/owner/repo/files/", {"revision": second.short_oid}).json()
    assert [(f["path"], f["version"]) for f in listed] == [("config.json", 1), ("notes.txt", 1)]
    listed = api(owner).get("/api/v1/models/owner/repo/files/").json()
    assert [(f["path"], f["version"]) for f in listed] == [("config.json", 2)]
    detail = api(owner).get("/api/v1/models/owner/repo/").json()
    assert detail["sha"] == revisions.head(repo).oid and [f["path"] for f in detail["files"]] == ["config.json"]
    assert api(owner).get(f"/api/v1/datasets/{DatasetFactory(owner=owner).full_name}/").json()["sha"] is None
    client.force_login(owner)
    page = client.get("/models/owner/repo/files/", {"revision": second.oid}).content.decode()
    assert "notes.txt" in page and f"?revision={second.oid}" in page and "Upload a file" not in page
    assert "resolve/notes.txt" not in client.get("/models/owner/repo/files/").content.decode()


def test_the_history_pages_list_commits_for_readers_and_404_for_strangers(client, owner, stranger, grantee, repo):
    client.force_login(owner)
    page = client.get("/models/owner/repo/commits/").content.decode()
    head = revisions.head(repo)
    assert page.index("Delete notes.txt") < page.index("Upload notes.txt") and head.short_oid in page
    detail = client.get(f"/models/owner/repo/commit/{head.short_oid}/").content.decode()
    assert "Delete notes.txt" in detail and "deleted" in detail and head.oid in detail
    assert "v1.0" in page
    client.force_login(stranger)
    for url in ("/models/owner/repo/commits/", f"/models/owner/repo/commit/{head.oid}/"):
        assert client.get(url).status_code == 404
    assert api(stranger).get("/api/v1/models/owner/repo/commits/").status_code == 404
    assert api(stranger).get("/api/v1/models/owner/repo/refs/").status_code == 404
    sharing.grant_access(by=owner, asset=repo, permission="read", user=grantee)
    client.force_login(grantee)
    assert client.get("/models/owner/repo/commits/").status_code == 200


def test_the_commits_endpoint_is_paginated_with_a_fixed_number_of_queries(owner, django_assert_num_queries):
    model = MLModelFactory(owner=owner, name="many")
    for n in range(7):
        upload(owner, model, f"f{n}.txt", str(n).encode())
    client = api(owner)
    with django_assert_num_queries(3):  # the asset, the head of main, the page (with parents and change counts)
        page = client.get("/api/v1/models/owner/many/commits/", {"limit": 3}).json()
    assert [c["number"] for c in page["results"]] == [7, 6, 5] and page["results"][0]["files_changed"] == 1
    assert page["results"][0]["parent"] == page["results"][1]["oid"]
    seen = [c["number"] for c in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [c["number"] for c in page["results"]]
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    first = Commit.objects.of(model).get(number=2)
    older = client.get("/api/v1/models/owner/many/commits/", {"revision": first.oid}).json()
    assert [c["number"] for c in older["results"]] == [2, 1]


def test_the_commit_and_refs_endpoints(owner, repo):
    head = revisions.head(repo)
    detail = api(owner).get(f"/api/v1/models/owner/repo/commits/{head.short_oid}/").json()
    assert (detail["oid"], detail["message"], detail["changes"]) == (
        head.oid,
        "Delete notes.txt",
        [{"path": "notes.txt", "deleted": True, "version": None, "size": None, "sha256": None}],
    )
    refs = api(owner).get("/api/v1/models/owner/repo/refs/").json()
    first = Commit.objects.of(repo).get(number=1)
    assert [(r["name"], r["kind"], r["commit"]) for r in refs] == [
        ("main", "branch", head.oid),
        ("v1.0", "tag", first.oid),
    ]


def test_tags_through_the_api_need_write_access(owner, grantee, repo):
    sharing.grant_access(by=owner, asset=repo, permission="read", user=grantee)
    url = "/api/v1/models/owner/repo/refs/tags/"
    assert api(grantee).post(url, {"name": "v2"}).status_code == 403
    assert api(owner).post(url, {"name": "v2", "revision": "nope"}).status_code == 400
    assert api(owner).post(url, {"name": "main"}).status_code == 400
    created = api(owner).post(url, {"name": "v2"})
    assert created.status_code == 201 and created.json()["commit"] == revisions.head(repo).oid
    assert api(owner).post(url, {"name": "v2"}).status_code == 400
    assert api(grantee).delete(f"{url}v2/").status_code == 403
    assert api(owner).delete(f"{url}main/").status_code == 404
    assert api(owner).delete(f"{url}v2/").status_code == 204
    assert not revisions.list_refs(repo).filter(name="v2").exists()


def test_the_admin_shows_commits_read_only(client, admin_user, repo):
    client.force_login(admin_user)
    head = revisions.head(repo)
    assert head.short_oid in client.get("/admin/catalog/commit/").content.decode()
    page = client.get(f"/admin/catalog/commit/{head.pk}/change/")
    assert page.status_code == 200 and "notes.txt" in page.content.decode()
    assert client.get("/admin/catalog/commit/add/").status_code == 403
