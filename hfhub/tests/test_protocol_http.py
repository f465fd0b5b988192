"""The wire format, through Django's test client: headers, errors, visibility, counting."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from catalog.models import MLModel

pytestmark = pytest.mark.django_db(transaction=True)


def bearer(world, name: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {world.tokens[name]}"}


def test_head_resolve_sends_the_headers_the_client_reads_and_counts_nothing(client, world):
    downloads = MLModel.objects.get(pk=world.model.pk).downloads
    events = AuditEvent.objects.count()
    response = client.head("/hf/owner/tiny-bert/resolve/main/config.json")
    assert response.status_code == 200
    version = world.commits["second"].changes.get(path="config.json").version
    assert response["X-Repo-Commit"] == world.commits["second"].oid
    assert response["ETag"] == response["X-Linked-Etag"] == f'"{version.sha256}"'
    assert response["X-Linked-Size"] == response["Content-Length"] == str(version.size)
    assert response["Accept-Ranges"] == "bytes"
    assert MLModel.objects.get(pk=world.model.pk).downloads == downloads
    assert AuditEvent.objects.count() == events


def test_get_resolve_streams_counts_and_audits_like_the_native_download(client, world):
    response = client.get("/hf/owner/tiny-bert/resolve/main/config.json")
    assert b"".join(response.streaming_content) == b'{"hidden_size": 2}'
    assert MLModel.objects.get(pk=world.model.pk).downloads == 1
    assert AuditEvent.objects.filter(action="file.download").count() == 1


def test_a_range_is_answered_with_206_and_not_counted(client, world):
    response = client.get("/hf/datasets/owner/tiny-csv/resolve/main/data/train.csv", HTTP_RANGE="bytes=0-3")
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == b"a,b\n"
    assert response["X-Repo-Commit"]


def test_an_older_commit_and_a_tag_return_the_older_bytes(client, world):
    for revision in (world.commits["first"].oid, world.commits["first"].oid[:7], "v1", "refs%2Ftags%2Fv1"):
        response = client.get(f"/hf/owner/tiny-bert/resolve/{revision}/config.json")
        assert response.status_code == 200, revision
        assert b"".join(response.streaming_content) == b'{"hidden_size": 1}'
        assert response["X-Repo-Commit"] == world.commits["first"].oid


@pytest.mark.parametrize(
    "url",
    [
        "/hf/owner/secret/resolve/main/config.json",
        "/hf/api/models/owner/secret",
        "/hf/api/models/owner/secret/tree/main",
    ],
)
def test_a_private_repository_answers_like_a_missing_one(client, world, url):
    missing = url.replace("secret", "no-such-repo")
    for headers, status in (({}, 401), (bearer(world, "stranger"), 404)):
        hidden, absent = client.get(url, **headers), client.get(missing, **headers)
        assert hidden.status_code == absent.status_code == status
        assert hidden["X-Error-Code"] == absent["X-Error-Code"] == "RepoNotFound"
        assert hidden.json() == absent.json() == {"error": "Repository not found"}
    assert client.get(url, **bearer(world, "grantee")).status_code == 200
    assert client.get(url, **bearer(world, "owner")).status_code == 200


def test_unknown_revisions_and_entries_have_their_error_codes(client, world):
    response = client.get("/hf/api/models/owner/tiny-bert/revision/nope")
    assert (response.status_code, response["X-Error-Code"]) == (404, "RevisionNotFound")
    response = client.head("/hf/owner/tiny-bert/resolve/main/missing.json")
    assert (response.status_code, response["X-Error-Code"]) == (404, "EntryNotFound")
    assert response["X-Repo-Commit"] == world.commits["second"].oid


def test_an_invalid_token_is_refused_and_a_foreign_one_is_anonymous(client, world):
    response = client.get("/hf/api/models/owner/tiny-bert", HTTP_AUTHORIZATION="Bearer omh_dead_beef")
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid credentials in Authorization header"}
    assert client.get("/hf/api/models/owner/tiny-bert", HTTP_AUTHORIZATION="Bearer hf_abc").status_code == 200


def test_whoami_names_the_token_owner(client, world):
    answer = client.get("/hf/api/whoami-v2", **bearer(world, "owner")).json()
    assert answer["name"] == "owner" and answer["auth"]["accessToken"]["role"] == "read"
    assert client.get("/hf/api/whoami-v2").status_code == 401


def test_crafted_list_parameters_are_rejected_cleanly(client, world):
    for query in ("limit=0", "limit=abc", "limit=100000", "sort=password", "direction=2", "cursor=xyz"):
        response = client.get(f"/hf/api/models?{query}")
        assert response.status_code == 400, query
        assert "error" in response.json()


def test_paths_info_answers_files_and_folders_and_ignores_missing_ones(client, world):
    response = client.post(
        "/hf/api/models/owner/tiny-bert/paths-info/main",
        {"paths": ["config.json", "weights", "nope.txt"], "expand": "False"},
    )
    assert [(entry["type"], entry["path"]) for entry in response.json()] == [
        ("file", "config.json"),
        ("directory", "weights"),
    ]


def test_a_read_of_the_protocol_writes_nothing_but_the_download_event(client, world, django_assert_max_num_queries):
    events = AuditEvent.objects.count()
    for url in (
        "/hf/api/models/owner/tiny-bert",
        "/hf/api/models/owner/tiny-bert/tree/main",
        "/hf/api/models?search=tiny",
        "/hf/api/models/owner/tiny-bert/refs",
        "/hf/api/models/owner/tiny-bert/commits/main",
    ):
        assert client.get(url).status_code == 200, url
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("who", [None, "stranger"])
def test_a_dataset_filter_naming_a_hidden_dataset_answers_like_a_missing_one(client, world, who):
    from catalog.models import Dataset, ModelDataset, Visibility

    hidden = Dataset.objects.create(owner=world.owner, name="hidden-data", visibility=Visibility.PRIVATE)
    ModelDataset.objects.create(model=world.model, dataset=hidden, role="trained_on")
    headers = bearer(world, who) if who else {}
    named = client.get("/hf/api/models?filter=dataset:owner/hidden-data", **headers)
    missing = client.get("/hf/api/models?filter=dataset:owner/no-such-data", **headers)
    assert named.status_code == missing.status_code == 200
    assert named.json() == missing.json() == []
    owner_view = client.get("/hf/api/models?filter=dataset:owner/hidden-data", **bearer(world, "owner")).json()
    assert [item["id"] for item in owner_view] == ["owner/tiny-bert"]
