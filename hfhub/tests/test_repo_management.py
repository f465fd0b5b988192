"""Repository management (create, delete, settings) through the Hub protocol: the real, unmodified
huggingface_hub against a live hub, and the wire format through Django's test client."""

from __future__ import annotations

import json

import pytest

from accounts.models import AuditEvent
from accounts.services import create_api_token, grant_access
from catalog.models import Dataset, MLModel, Visibility
from catalog.tests.factories import MLModelFactory
from hfhub.tests.conftest import run_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def writers(world):
    """Write-scope tokens, and a public model the grantee may write to but not manage."""
    shared = MLModelFactory(owner=world.owner, name="shared")
    grant_access(by=world.owner, asset=shared, permission="write", user=world.grantee)
    return {
        user.username: create_api_token(user=user, name="w", scope="write")[1]
        for user in (world.owner, world.grantee, world.stranger)
    }


@pytest.fixture
def live_writes(writers, hub):  # after the tokens exist, so that SQLite's copy holds them
    return hub


def audit_actions(live, name: str) -> list[str]:
    return live.query(lambda: sorted(AuditEvent.objects.filter(details__name=name).values_list("action", flat=True)))


def test_create_repo_makes_private_models_and_datasets_that_are_catalogue_assets(live_writes, writers, tmp_path):
    got = run_client(
        live_writes.url,
        """
from huggingface_hub import HfApi
api = HfApi()
model = api.create_repo("owner/new-model", private=True)
data = api.create_repo("new-data", repo_type="dataset", private=True)
again = api.create_repo("owner/new-model", exist_ok=True)
print(json.dumps([model.repo_id, model.repo_type, data.repo_id, data.repo_type, again.repo_id,
                  api.model_info("owner/new-model").private, api.dataset_info("owner/new-data").private]))
""",
        tmp_path,
        writers["owner"],
    )
    assert got == ["owner/new-model", "model", "owner/new-data", "dataset", "owner/new-model", True, True]
    model = live_writes.query(lambda: MLModel.objects.get(owner__username="owner", name="new-model"))
    dataset = live_writes.query(lambda: Dataset.objects.get(owner__username="owner", name="new-data"))
    assert model.visibility == dataset.visibility == Visibility.PRIVATE
    assert audit_actions(live_writes, "owner/new-model") == ["asset.create"]
    assert audit_actions(live_writes, "owner/new-data") == ["asset.create"]


def test_create_repo_without_exist_ok_raises_on_an_existing_repository(live_writes, writers, tmp_path):
    got = run_client(
        live_writes.url,
        """
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
try:
    HfApi().create_repo("owner/tiny-bert")
except HfHubHTTPError as exc:
    print(json.dumps(exc.response.status_code))
""",
        tmp_path,
        writers["owner"],
    )
    assert got == 409


def test_delete_repo_and_update_repo_settings_go_through_the_services(live_writes, world, writers, tmp_path):
    got = run_client(
        live_writes.url,
        """
from huggingface_hub import HfApi
from huggingface_hub.errors import RepositoryNotFoundError
api = HfApi()
api.update_repo_settings("owner/tiny-csv", repo_type="dataset", private=True)
private = api.dataset_info("owner/tiny-csv").private
api.update_repo_settings("owner/tiny-csv", repo_type="dataset", private=False)
api.delete_repo("owner/tiny-bert")
try:
    api.model_info("owner/tiny-bert")
    gone = False
except RepositoryNotFoundError:
    gone = True
api.delete_repo("owner/tiny-bert", missing_ok=True)
print(json.dumps([private, gone]))
""",
        tmp_path,
        writers["owner"],
    )
    assert got == [True, True]
    assert not live_writes.query(lambda: MLModel.objects.filter(pk=world.model.pk).exists())
    assert live_writes.query(lambda: Dataset.objects.get(pk=world.dataset.pk).visibility) == Visibility.PUBLIC
    assert audit_actions(live_writes, "owner/tiny-bert") == ["asset.delete"]
    assert audit_actions(live_writes, "owner/tiny-csv").count("asset.visibility") == 2


CALLS = """
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
api, answers = HfApi(), []
for call in CALLS:
    try:
        eval(call)
        answers.append("ok")
    except RepositoryNotFoundError:
        answers.append("RepositoryNotFoundError")
    except HfHubHTTPError as exc:
        answers.append(exc.response.status_code)
print(json.dumps(answers))
"""


def run_calls(live, tmp_path, token: str, calls: list[str]) -> list:
    return run_client(live.url, f"CALLS = {calls!r}\n" + CALLS, tmp_path, token)


def test_a_stranger_finds_a_private_repository_missing_and_cannot_create_in_another_namespace(
    live_writes, world, writers, tmp_path
):
    got = run_calls(
        live_writes,
        tmp_path,
        writers["stranger"],
        [
            'api.delete_repo("owner/secret")',
            'api.update_repo_settings("owner/secret", private=False)',
            'api.delete_repo("owner/no-such-repo")',
            'api.create_repo("owner/mine-now")',
        ],
    )
    assert got == ["RepositoryNotFoundError", "RepositoryNotFoundError", "RepositoryNotFoundError", 403]
    assert live_writes.query(lambda: MLModel.objects.get(pk=world.private.pk).visibility) == Visibility.PRIVATE
    assert not live_writes.query(lambda: MLModel.objects.filter(name="mine-now").exists())


def test_a_write_grantee_may_neither_delete_nor_change_visibility(live_writes, world, writers, tmp_path):
    got = run_calls(
        live_writes,
        tmp_path,
        writers["grantee"],
        ['api.delete_repo("owner/shared")', 'api.update_repo_settings("owner/shared", private=True)'],
    )
    assert got == [403, 403]
    shared = live_writes.query(lambda: MLModel.objects.get(owner__username="owner", name="shared"))
    assert shared.visibility == Visibility.PUBLIC
    assert audit_actions(live_writes, "owner/shared") == []


def test_a_read_scope_token_is_refused_every_write(live_writes, world, tmp_path):
    got = run_calls(
        live_writes,
        tmp_path,
        world.tokens["owner"],
        [
            'api.create_repo("owner/by-reader")',
            'api.delete_repo("owner/tiny-bert")',
            'api.update_repo_settings("owner/tiny-bert", private=True)',
        ],
    )
    assert got == [403, 403, 403]
    assert live_writes.query(lambda: MLModel.objects.filter(owner__username="owner").count()) == 3


# --- the wire format ---------------------------------------------------------------------------


def send(client, method: str, url: str, body, token: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(url, data, content_type="application/json", **headers)


def test_create_answers_the_url_name_and_id_the_client_reads(client, writers):
    response = send(client, "post", "/hf/api/repos/create", {"name": "fresh", "organization": None}, writers["owner"])
    assert response.status_code == 200
    model = MLModel.objects.get(owner__username="owner", name="fresh")
    assert response.json() == {"url": "http://testserver/hf/owner/fresh", "name": "owner/fresh", "id": str(model.pk)}
    assert model.visibility == Visibility.PUBLIC
    again = send(client, "post", "/hf/api/repos/create", {"name": "fresh", "type": "model"}, writers["owner"])
    assert again.status_code == 409
    assert again.json()["url"] == "http://testserver/hf/owner/fresh"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "has space "},
        {"name": "a/b"},
        {"name": "x" * 201},
        {"name": "ok", "type": "space"},
        {"name": "ok", "visibility": "protected"},
        {"name": "ok", "private": "yes"},
        {"name": "ok", "region": "eu"},
        {"name": 7},
        ["not", "an", "object"],
        "{not json",
    ],
)
def test_invalid_creations_are_a_400_in_the_hubs_shape_and_create_nothing(client, writers, body):
    count = MLModel.objects.count() + Dataset.objects.count()
    response = send(client, "post", "/hf/api/repos/create", body, writers["owner"])
    assert response.status_code == 400
    assert set(response.json()) == {"error"} and response["X-Error-Message"] == response.json()["error"]
    assert MLModel.objects.count() + Dataset.objects.count() == count


HUB_REFUSES = [
    "what?",
    "a#b",
    "has space",
    "modèle",
    "ünï",
    "a--b",
    "a..b",
    "x" * 97,
    "-lead",
    "trail.",
    ".git",
    "m.git",
]
HUB_ACCEPTS = ["Foo-BAR_foo.bar123", "x" * 96, "7", "_under", "a.b-c_d"]


@pytest.mark.parametrize("name", HUB_REFUSES)
def test_a_name_the_hub_refuses_is_a_400_with_the_rule_and_creates_nothing(client, writers, name):
    count = MLModel.objects.count() + Dataset.objects.count()
    for kind in ("model", "dataset"):
        response = send(client, "post", "/hf/api/repos/create", {"name": name, "type": kind}, writers["owner"])
        assert response.status_code == 400
        assert response.json()["error"].startswith("Invalid repository name") and "96 ASCII" in response.json()["error"]
    assert MLModel.objects.count() + Dataset.objects.count() == count


def test_names_the_hub_accepts_are_created(client, writers):
    for name in HUB_ACCEPTS:
        response = send(client, "post", "/hf/api/repos/create", {"name": name}, writers["owner"])
        assert response.status_code == 200, response.content
    assert set(MLModel.objects.filter(owner__username="owner").values_list("name", flat=True)) >= set(HUB_ACCEPTS)


def test_catalogue_names_outside_the_hubs_rule_stay_usable_through_the_protocol(client, world, writers):
    legacy = MLModelFactory(owner=world.owner, name="modèle ancien")  # as a page or /api/v1/ may name it
    response = send(client, "post", "/hf/api/repos/create", {"name": "modèle ancien"}, writers["owner"])
    assert response.status_code == 409  # exists: exist_ok accepts it; nothing is refused or created
    response = send(client, "put", "/hf/api/models/owner/modèle ancien/settings", {"private": True}, writers["owner"])
    assert response.status_code == 200
    legacy.refresh_from_db()
    assert legacy.visibility == Visibility.PRIVATE


def test_the_client_shows_the_hubs_name_rule_as_an_error(live_writes, writers, tmp_path):
    # huggingface_hub checks a repo_id itself before create_repo sends it, so a name it would let through
    # is sent here with the client's own session, headers and error handling (what `hf` and scripts that
    # post to the API directly use): the hub's 400 reaches the user as an HfHubHTTPError with the rule.
    got = run_client(
        live_writes.url,
        f"""
from huggingface_hub import constants
from huggingface_hub.errors import HfHubHTTPError, HFValidationError
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status, validate_repo_id
answers = []
for name in {HUB_REFUSES!r}:
    response = get_session().post(
        f"{{constants.ENDPOINT}}/api/repos/create", headers=build_hf_headers(), json={{"name": name}}
    )
    try:
        hf_raise_for_status(response)
        answers.append("created")
    except HfHubHTTPError as exc:
        answers.append([exc.response.status_code, str(exc)])
try:
    validate_repo_id("owner/what?")
except HFValidationError:
    answers.append("the client refuses it too")
print(json.dumps(answers))
""",
        tmp_path,
        writers["owner"],
    )
    assert got[-1] == "the client refuses it too"
    for name, answer in zip(HUB_REFUSES, got, strict=False):
        assert answer[0] == 400 and f"Invalid repository name {name[:100]!r}" in answer[1], answer
    assert not live_writes.query(lambda: MLModel.objects.filter(name__in=HUB_REFUSES).exists())


def test_a_signed_in_browser_session_cannot_create_delete_or_change_settings(client, world, writers):
    client.force_login(world.owner)
    writes = [
        ("post", "/hf/api/repos/create", {"name": "csrf"}),
        ("delete", "/hf/api/repos/delete", {"name": "tiny-bert", "organization": "owner"}),
        ("put", "/hf/api/models/owner/tiny-bert/settings", {"private": True}),
    ]
    for method, url, body in writes:
        response = send(client, method, url, body)
        assert response.status_code == 401, url
    assert not MLModel.objects.filter(name="csrf").exists()
    assert MLModel.objects.get(pk=world.model.pk).visibility == Visibility.PUBLIC
    assert client.get("/hf/api/models/owner/secret").status_code == 200  # the session still reads


def test_a_stranger_deleting_a_private_repository_gets_the_answer_for_a_missing_one(client, world, writers):
    answers = [
        send(client, "delete", "/hf/api/repos/delete", {"name": name, "organization": "owner"}, writers["stranger"])
        for name in ("secret", "no-such-repo")
    ]
    assert [a.status_code for a in answers] == [404, 404]
    assert [a["X-Error-Code"] for a in answers] == ["RepoNotFound", "RepoNotFound"]
    assert answers[0].json() == answers[1].json()
    assert MLModel.objects.filter(pk=world.private.pk).exists()


def test_gating_and_unknown_settings_are_refused(client, world, writers):
    url = "/hf/api/models/owner/tiny-bert/settings"
    assert send(client, "put", url, {"gated": "auto"}, writers["owner"]).status_code == 400
    assert send(client, "put", url, {"discussionsDisabled": True}, writers["owner"]).status_code == 400
    assert send(client, "put", url, {"gated": False}, writers["owner"]).json() == {"private": False, "gated": False}


def test_a_read_scope_token_may_still_post_paths_info(client, world):
    response = client.post(
        "/hf/api/models/owner/secret/paths-info/main",
        {"paths": ["config.json"]},
        HTTP_AUTHORIZATION=f"Bearer {world.tokens['grantee']}",
    )
    assert response.status_code == 200
    assert [entry["path"] for entry in response.json()] == ["config.json"]
