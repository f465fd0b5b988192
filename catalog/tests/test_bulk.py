"""POST /api/v1/models/bulk: many models upserted by owner/name in one transaction, audited once,
permission-checked per item, with the licence resolved by the one resolver (catalog.bulk)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.audit import verify_chain
from accounts.models import AuditEvent, Grant
from catalog.models import Dataset, MLModel
from catalog.tests.factories import DatasetFactory, LicenseFactory, MLModelFactory, TaskFactory
from licensing.models import ComplianceReport

pytestmark = pytest.mark.django_db

URL = "/api/v1/models/bulk"


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def vocab():
    return {"mit": LicenseFactory(key="mit", name="MIT License", spdx_id="MIT"), "task": TaskFactory()}


def test_it_creates_and_updates_a_batch_with_its_parts_and_one_audit_event(
    owner, vocab, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the analysis runs after the commit, as on the embedded hub
    old = MLModelFactory(owner=owner, name="old", card="before", parameter_count=1)
    items = [
        {
            "name": f"bulk-{i}",
            "license_declared": "MIT",
            "tasks": [vocab["task"].slug],
            "media": ["text"],
            "authors": ["owner"],
            "architecture": {"family": "transformer", "decoder_count": 12},
        }
        for i in range(5)
    ]
    items.append({"name": "old", "parameter_count": 7, "architecture": {"family": "cnn", "modules": [
        {"conv_size": 3, "pooling_type": "max"}]}})  # fmt: skip
    before = AuditEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(owner).post(URL, {"items": items}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"]) == (5, 1)
    assert [item["created"] for item in body["items"]] == [True] * 5 + [False]
    made = MLModel.objects.get(owner=owner, name="bulk-3")
    assert made.license == vocab["mit"] and made.license_declared == "MIT"
    assert list(made.tasks.all()) == [vocab["task"]] and [m.slug for m in made.media.all()] == ["text"]
    assert list(made.authors.all()) == [owner] and made.transformer.decoder_count == 12
    old.refresh_from_db()
    assert (old.parameter_count, old.card, old.architecture_family) == (7, "before", "cnn")  # only what was given
    assert [(m.conv_size, m.pooling_type) for m in old.cnn.modules.all()] == [(3, "max")]
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("seq")
    assert event.action == "asset.bulk_write" and event.details["updated"] == [old.pk]
    assert verify_chain()[1] is None
    assert ComplianceReport.objects.filter(model__owner=owner).count() == 6  # analysed once, after the commit


def test_a_bad_item_writes_nothing_and_is_named(owner, vocab):
    items = [{"name": "fine-1"}, {"name": "fine-2", "tasks": [vocab["task"].slug]}, {"name": "bad", "tasks": ["nope"]}]
    before = AuditEvent.objects.count()
    response = client_of(owner).post(URL, {"items": items}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["items"] == {"2": {"tasks": ["'nope' is not known here."]}}
    assert "items[2] 'bad': tasks" in body["detail"]
    assert not MLModel.objects.filter(owner=owner).exists() and AuditEvent.objects.count() == before


def test_field_errors_name_the_item_before_anything_is_read(owner):
    items = [{"name": "ok"}, {"name": "neg", "parameter_count": -1}]
    response = client_of(owner).post(URL, {"items": items}, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()["items"]) == ["1"], response.json()
    assert "items[1]: parameter_count" in response.json()["detail"]
    twice = client_of(owner).post(URL, {"items": [{"name": "x"}, {"name": "x"}]}, format="json")
    assert twice.status_code == 400 and twice.json()["items"] == {"1": {"name": ["appears twice in this batch"]}}
    assert not MLModel.objects.filter(owner=owner).exists()


@pytest.mark.parametrize("kind", ["models", "datasets"])
def test_it_refuses_another_namespace_and_assets_not_editable(owner, stranger, kind):
    asset_cls, factory = (MLModel, MLModelFactory) if kind == "models" else (Dataset, DatasetFactory)
    url = f"/api/v1/{kind}/bulk"
    theirs = factory(owner=stranger, name="theirs", visibility="public")
    factory(owner=stranger, name="hidden", visibility="private")
    client = client_of(owner)
    for item, field in (({"owner": "stranger", "name": "new"}, "owner"), ({"owner": "stranger", "name": "theirs"}, "")):
        response = client.post(url, {"items": [{"name": "mine"}, item]}, format="json")
        assert response.status_code == 403, response.content
        assert response.json()["detail"].startswith("items[1]") and field in response.json()["detail"]
    # A hidden asset answers exactly like a free name in someone else's namespace.
    free = client.post(url, {"items": [{"owner": "stranger", "name": "nothing-here"}]}, format="json").json()
    secret = client.post(url, {"items": [{"owner": "stranger", "name": "hidden"}]}, format="json").json()
    assert free["detail"].replace("nothing-here", "X") == secret["detail"].replace("hidden", "X")
    assert not asset_cls.objects.filter(owner=owner).exists()
    assert asset_cls.objects.get(pk=theirs.pk).updated_at == theirs.updated_at
    assert APIClient().post(url, {"items": [{"name": "x"}]}, format="json").status_code in (401, 403)


def test_a_write_grant_updates_but_cannot_change_visibility(owner, grantee):
    model = MLModelFactory(owner=owner, name="shared", visibility="private", card="a")
    Grant.objects.create(model=model, user=grantee, permission="write", created_by=owner)
    client = client_of(grantee)
    ok = client.post(URL, {"items": [{"owner": "owner", "name": "shared", "card": "b"}]}, format="json")
    assert ok.status_code == 200, ok.content
    model.refresh_from_db()
    assert model.card == "b" and model.owner == owner
    refused = client.post(URL, {"items": [{"owner": "owner", "name": "shared", "visibility": "public"}]}, format="json")
    assert refused.status_code == 403 and "visibility" in refused.json()["detail"]


def test_a_curator_creates_in_any_namespace_and_anonymous_is_refused(curator, owner):
    response = client_of(curator).post(URL, {"items": [{"owner": "owner", "name": "for-you"}]}, format="json")
    assert response.status_code == 200, response.content
    assert MLModel.objects.get(name="for-you").owner == owner
    assert APIClient().post(URL, {"items": [{"name": "x"}]}, format="json").status_code in (401, 403)


def test_new_models_are_embedded_from_what_was_written(owner, vocab, settings, django_capture_on_commit_callbacks):
    """Eager tasks embed a batch's new models from the rows in memory (one encode call, no read back): the
    stored digest is that of the text a read of the stored model gives."""
    from catalog import semantic
    from catalog.models import SearchEmbedding

    settings.CELERY_TASK_ALWAYS_EAGER = True
    items = [
        {"name": f"emb-{i}", "license_declared": "MIT", "tasks": [vocab["task"].slug], "media": ["text", "image"],
         "card": "A card.", "architecture": {"family": "transformer", "decoder_count": 2}}
        for i in range(3)
    ]  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert client_of(owner).post(URL, {"items": items}, format="json").status_code == 200
    ids = list(MLModel.objects.filter(owner=owner).values_list("pk", flat=True))
    for pk, text in semantic.texts(MLModel, ids).items():  # what embed_assets would read back
        stored = SearchEmbedding.objects.get(model_id=pk)
        assert stored.digest == semantic.digest(text, semantic.token_weights()), pk


def test_a_single_api_create_goes_through_the_bulk_writer(owner, vocab):
    """POST /api/v1/models/ is one item of the bulk writer: the same validation messages by field, the
    single create's audit event, and a taken name answered by the database's constraint."""
    client = client_of(owner)
    response = client.post("/api/v1/models/", {"name": "one", "tasks": ["nope"]}, format="json")
    assert response.status_code == 400 and response.json()["tasks"] == ["'nope' is not known here."]
    response = client.post("/api/v1/models/", {"name": "one", "parameter_count": -1}, format="json")
    assert response.status_code == 400 and "parameter_count" in response.json()
    ok = client.post("/api/v1/models/", {"name": "one", "license": "mit", "owner": "stranger"}, format="json")
    assert ok.status_code == 201 and ok.json()["owner"] == "owner" and ok.json()["license"] == "mit"
    event = AuditEvent.objects.latest("seq")
    assert event.action == "asset.create" and event.target_id == str(ok.json()["id"])
    again = client.post("/api/v1/models/", {"name": "one"}, format="json")
    assert again.status_code == 400 and again.json()["name"] == ["A model named owner/one already exists."]
    assert MLModel.objects.filter(owner=owner).count() == 1 and verify_chain()[1] is None
