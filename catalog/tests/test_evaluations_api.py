"""Evaluation results through the API (issue #20): filters, leaderboards, visibility, write permission."""

import pytest
from rest_framework.test import APIClient

from accounts import services as sharing
from accounts.models import AuditEvent
from catalog.models import EvaluationResult, EvaluationSource
from catalog.tests.factories import MLModelFactory, evaluation_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(owner, grantee):
    world = evaluation_world(owner, grantee)
    for model in world["models"].values():
        top1 = model.evaluations.get(dataset=world["imagenet_r"]).value
        EvaluationResult.objects.create(model=model, dataset=world["imagenet_r"], metric="top5", value=top1 + 10)
    return world


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def names(response) -> list[tuple[str, str, float]]:
    assert response.status_code == 200, response.content
    return [(r["model"]["name"], r["metric"], r["value"]) for r in response.json()["results"]]


def test_models_with_top1_above_80_on_imagenet_r_is_one_request(world):
    response = api().get("/api/v1/evaluations/?dataset=timm/imagenet-r&metric=top1&value_min=80")
    assert names(response) == [("vit", "top1", 85.5), ("convnext", "top1", 82.25)]
    first = response.json()["results"][0]
    assert first["dataset"] == {"id": world["imagenet_r"].pk, "owner": "timm", "name": "imagenet-r"}
    assert first["source"] == "api" and first["split"] == "validation"


def test_filters_combine_and_sort_both_ways(world):
    client = api()
    low_first = "/api/v1/evaluations/?dataset=timm/imagenet-r&metric=top1&sort=-value"
    assert [n for n, _, _ in names(client.get(low_first))] == ["resnet", "convnext", "vit"]
    assert names(client.get("/api/v1/evaluations/?model=owner/vit&value_max=90")) == [("vit", "top1", 85.5)]
    assert names(client.get("/api/v1/evaluations/?source=timm")) == []
    assert len(names(client.get("/api/v1/evaluations/?split=validation&metric=top5"))) == 3


@pytest.mark.parametrize(
    "query, param",
    [
        ("value_min=lots", "value_min"),
        ("source=guess", "source"),
        ("sort=fastest", "sort"),
        ("model=nobody/x", "model"),
    ],
)
def test_bad_filters_are_400s_naming_the_parameter(world, query, param):
    response = api().get(f"/api/v1/evaluations/?{query}")
    assert response.status_code == 400 and param in response.json()


def test_a_hidden_model_or_dataset_never_shows_to_a_stranger(world, stranger):
    client = api(stranger)
    everything = names(client.get("/api/v1/evaluations/?limit=200"))
    assert "hidden-model" not in {n for n, _, _ in everything}
    assert 95.0 not in {v for _, _, v in everything}  # the private dataset's result
    board = names(client.get("/api/v1/datasets/timm/imagenet-r/evaluations/?metric=top1"))
    assert [n for n, _, _ in board] == ["vit", "convnext", "resnet"]
    assert [v for _, _, v in names(client.get("/api/v1/models/owner/resnet/evaluations/"))] == [85.0, 75.0]
    assert client.get("/api/v1/models/owner/hidden-model/evaluations/").status_code == 404
    assert client.get("/api/v1/datasets/owner/secret-set/evaluations/").status_code == 404
    hidden_result = EvaluationResult.objects.filter(model=world["models"]["hidden"]).first()
    assert client.get(f"/api/v1/evaluations/{hidden_result.pk}/").status_code == 404


def test_a_hidden_reference_is_refused_like_a_missing_one(world, stranger):
    client = api(stranger)
    for param, hidden, missing in (
        ("model", "owner/hidden-model", "owner/no-such-model"),
        ("dataset", "owner/secret-set", "owner/no-such-set"),
        ("dataset", str(world["secret_set"].pk), "987654321"),
    ):
        hidden_answer = client.get("/api/v1/evaluations/", {param: hidden})
        missing_answer = client.get("/api/v1/evaluations/", {param: missing})
        assert hidden_answer.status_code == missing_answer.status_code == 400
        assert hidden_answer.json()[param][0].replace(hidden, "REF") == missing_answer.json()[param][0].replace(
            missing, "REF"
        )


def test_a_grantee_sees_the_hidden_model_until_the_grant_is_revoked(world, owner, grantee):
    url = "/api/v1/datasets/timm/imagenet-r/evaluations/?metric=top1"
    assert names(api(grantee).get(url))[0] == ("hidden-model", "top1", 99.0)
    sharing.revoke_grant(by=owner, grant=world["grant"])
    assert "hidden-model" not in {n for n, _, _ in names(api(grantee).get(url))}
    assert api(grantee).get("/api/v1/models/owner/hidden-model/evaluations/").status_code == 404


def test_the_model_list_filters_on_evaluations_among_visible_results(world, owner, stranger):
    url = "/api/v1/models/?evaluated_on=timm/imagenet-r&metric=top1&value_min=80"
    found = sorted(m["name"] for m in api(stranger).get(url).json()["results"])
    assert found == ["convnext", "vit"]
    assert sorted(m["name"] for m in api(owner).get(url).json()["results"]) == ["convnext", "hidden-model", "vit"]
    # resnet's 95 is on the private dataset: it counts for its owner only
    assert [m["name"] for m in api(stranger).get("/api/v1/models/?metric=top1&value_min=90").json()["results"]] == []
    mine = api(owner).get("/api/v1/models/?metric=top1&value_min=90").json()["results"]
    assert sorted(m["name"] for m in mine) == ["hidden-model", "resnet"]
    hidden_ref = api(stranger).get("/api/v1/models/?evaluated_on=owner/secret-set").json()["results"]
    assert hidden_ref == api(stranger).get("/api/v1/models/?evaluated_on=owner/nothing").json()["results"] == []


def test_the_owner_records_changes_and_deletes_a_result_audited(world, owner):
    client = api(owner)
    body = {"model": "owner/resnet", "dataset": "timm/imagenet-r", "metric": "f1", "value": 0.5, "split": "test"}
    created = client.post("/api/v1/evaluations/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["source"] == EvaluationSource.API
    again = client.post("/api/v1/evaluations/", body, format="json")
    assert again.status_code == 400  # one result per model, dataset, split and metric
    changed = client.patch(f"/api/v1/evaluations/{pk}/", {"value": 0.75, "config": {"seed": 1}}, format="json")
    assert changed.status_code == 200 and changed.json()["value"] == 0.75
    assert client.delete(f"/api/v1/evaluations/{pk}/").status_code == 204
    assert not EvaluationResult.objects.filter(pk=pk).exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="evaluation.").order_by("seq").values_list("action", flat=True)
    )
    assert actions == ["evaluation.create", "evaluation.update", "evaluation.delete"]


def test_writing_needs_write_permission_on_the_model_and_sight_of_the_dataset(world, owner, stranger, grantee):
    body = {"model": "owner/vit", "dataset": "timm/imagenet-r", "metric": "f1", "value": 1}
    assert api(stranger).post("/api/v1/evaluations/", body, format="json").status_code == 403
    assert api().post("/api/v1/evaluations/", body, format="json").status_code in (401, 403)
    result = EvaluationResult.objects.get(model=world["models"]["vit"], metric="top1")
    assert api(stranger).patch(f"/api/v1/evaluations/{result.pk}/", {"value": 1}, format="json").status_code == 403
    assert api(stranger).delete(f"/api/v1/evaluations/{result.pk}/").status_code == 403
    hidden = api(stranger).post(
        "/api/v1/evaluations/", {**body, "model": "stranger/x", "dataset": "owner/secret-set"}, format="json"
    )
    assert hidden.status_code == 400 and "dataset" not in hidden.json()  # the model is checked first
    mine = MLModelFactory(owner=stranger, name="mine")
    refused = api(stranger).post(
        "/api/v1/evaluations/", {**body, "model": mine.full_name, "dataset": "owner/secret-set"}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["dataset"] == ["No visible dataset 'owner/secret-set'."]
    sharing.grant_access(by=owner, asset=world["models"]["vit"], permission="write", user=grantee)
    assert api(grantee).patch(f"/api/v1/evaluations/{result.pk}/", {"value": 86}, format="json").status_code == 200
    assert EvaluationResult.objects.get(pk=result.pk).value == 86
    bad = api(owner).post("/api/v1/evaluations/", {**body, "value": "nan"}, format="json")
    assert bad.status_code == 400 and "value" in bad.json()


def test_the_list_uses_a_fixed_number_of_queries(world, owner, django_assert_num_queries):
    client = api(owner)
    with django_assert_num_queries(1):  # results with their models, datasets and owners (the user is forced)
        assert len(names(client.get("/api/v1/evaluations/?limit=5"))) == 5
    with django_assert_num_queries(2):  # + the dataset named in the filter
        assert len(names(client.get("/api/v1/evaluations/?dataset=timm/imagenet-r&limit=5"))) == 5


def test_a_leaderboard_pages_by_cursor(world):
    first = api().get("/api/v1/datasets/timm/imagenet-r/evaluations/?metric=top1&limit=2").json()
    assert [r["value"] for r in first["results"]] == [85.5, 82.25]
    second = api().get(first["next"]).json()
    assert [r["value"] for r in second["results"]] == [75.0] and second["next"] is None


def test_settings_are_a_small_json_object_without_nul_characters(world, owner):
    body = {"model": "owner/vit", "dataset": "timm/imagenet-r", "metric": "f1", "value": 1}
    for config in ({"a": "x\u0000"}, {"big": "x" * 20_000}):
        response = api(owner).post("/api/v1/evaluations/", {**body, "config": config}, format="json")
        assert response.status_code == 400 and "config" in response.json()
    assert api(owner).post("/api/v1/evaluations/", {**body, "config": {"crop": 0.9}}, format="json").status_code == 201
