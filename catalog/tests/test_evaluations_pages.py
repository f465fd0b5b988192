"""Evaluation results on the pages (issue #20): the dataset's leaderboard, the model's table and its
form, the admin; never a hidden model or dataset."""

import re

import pytest
from django.urls import reverse

from accounts import services as sharing
from accounts.models import AuditEvent
from catalog.models import EvaluationResult
from catalog.tests.factories import MLModelFactory, evaluation_world

pytestmark = pytest.mark.django_db

BOARD = "/datasets/timm/imagenet-r/"


@pytest.fixture
def world(owner, grantee):
    world = evaluation_world(owner, grantee)
    board, models = world["imagenet_r"], world["models"]
    EvaluationResult.objects.create(
        model=models["vit"], dataset=board, metric="error", value=3.0, higher_is_better=False
    )
    EvaluationResult.objects.create(
        model=models["resnet"], dataset=board, metric="error", value=1.0, higher_is_better=False
    )
    return world


def board_models(client, query: str = "") -> list[str]:
    response = client.get(BOARD + query)
    assert response.status_code == 200, response.content[:500]
    table = response.content.decode().split('class="facts leaderboard"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'href="/models/owner/([\w.-]+)/#evaluations"', table)


def test_the_leaderboard_sorts_server_side_both_ways(client, world):
    assert board_models(client) == ["vit", "convnext", "resnet"]  # top1, highest first
    assert board_models(client, "?metric=top1&sort=-value") == ["resnet", "convnext", "vit"]
    assert board_models(client, "?metric=error") == ["resnet", "vit"]  # lower is better: lowest first


def test_the_leaderboard_pages_and_refuses_a_bad_sort(client, world, monkeypatch):
    from catalog import selectors

    monkeypatch.setattr(selectors, "LEADERBOARD_PAGE", 2)
    page = client.get(BOARD).content.decode()
    assert board_models(client) == ["vit", "convnext"]
    cursor = re.search(r'href="\?cursor=([^"&]+)" rel="next"', page).group(1)
    assert board_models(client, f"?cursor={cursor}") == ["resnet"]
    bad = client.get(BOARD + "?sort=fastest")
    assert bad.status_code == 400 and "Unknown sort" in bad.content.decode()


def test_a_hidden_model_or_dataset_never_shows_on_the_pages(client, world, stranger, owner, grantee):
    for viewer in (None, stranger):
        if viewer:
            client.force_login(viewer)
        assert "hidden-model" not in board_models(client)
        resnet_page = client.get("/models/owner/resnet/").content.decode()
        assert "secret-set" not in resnet_page and "95" not in resnet_page.split('id="evaluations"', 1)[1]
        assert client.get("/models/owner/hidden-model/").status_code == 404
    client.force_login(grantee)
    assert board_models(client)[0] == "hidden-model"
    sharing.revoke_grant(by=owner, grant=world["grant"])
    assert "hidden-model" not in board_models(client)
    client.force_login(owner)
    assert "secret-set" in client.get("/models/owner/resnet/").content.decode()


def test_an_editor_adds_changes_and_deletes_a_result_from_the_model_page(client, world, owner):
    client.force_login(owner)
    page = client.get("/models/owner/resnet/").content.decode()
    assert 'id="evaluations"' in page and "Add an evaluation result" in page
    add = reverse("catalog:evaluation-add", args=["owner", "resnet"])
    data = {"evaluation-dataset": "timm/imagenet-r", "evaluation-split": "test", "evaluation-metric": "f1"}
    response = client.post(add, {**data, "evaluation-value": "0.5", "evaluation-higher_is_better": "on"})
    assert response.status_code == 302 and response["Location"].endswith("#evaluations")
    result = EvaluationResult.objects.get(model=world["models"]["resnet"], metric="f1")
    assert result.value == 0.5 and result.split == "test" and result.created_by == owner
    edit = reverse("catalog:evaluation-edit", args=["owner", "resnet", result.pk])
    assert 'value="timm/imagenet-r"' in client.get(edit).content.decode()
    changed = {"dataset": "timm/imagenet-r", "split": "test", "metric": "f1", "value": "0.75", "config": '{"seed": 1}'}
    assert client.post(edit, changed).status_code == 302
    result.refresh_from_db()
    assert result.value == 0.75 and result.config == {"seed": 1} and not result.higher_is_better
    delete = reverse("catalog:evaluation-delete", args=["owner", "resnet", result.pk])
    assert client.post(delete).status_code == 302
    assert not EvaluationResult.objects.filter(pk=result.pk).exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="evaluation.").order_by("seq").values_list("action", flat=True)
    )
    assert actions == ["evaluation.create", "evaluation.update", "evaluation.delete"]


def test_the_form_refuses_a_hidden_dataset_and_a_duplicate(client, world, owner, stranger):
    mine = MLModelFactory(owner=stranger, name="mine")
    client.force_login(stranger)
    add = reverse("catalog:evaluation-add", args=["stranger", mine.name])
    base = {"evaluation-split": "validation", "evaluation-metric": "top1", "evaluation-value": "1"}
    hidden = client.post(add, {**base, "evaluation-dataset": "owner/secret-set"})
    missing = client.post(add, {**base, "evaluation-dataset": "owner/nothing"})
    assert hidden.status_code == missing.status_code == 400
    assert "There is no dataset &#x27;owner/secret-set&#x27; you can see." in hidden.content.decode()
    assert client.post(add, {**base, "evaluation-dataset": "timm/imagenet-r"}).status_code == 302
    again = client.post(add, {**base, "evaluation-dataset": "timm/imagenet-r"})
    assert again.status_code == 400 and "already exists" in again.content.decode()
    assert EvaluationResult.objects.filter(model=mine).count() == 1


def test_only_editors_get_the_form_and_may_post(client, world, stranger):
    result = EvaluationResult.objects.get(model=world["models"]["vit"], dataset=world["imagenet_r"], metric="top1")
    add = reverse("catalog:evaluation-add", args=["owner", "vit"])
    delete = reverse("catalog:evaluation-delete", args=["owner", "vit", result.pk])
    anonymous = client.post(delete)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    client.force_login(stranger)
    assert "Add an evaluation result" not in client.get("/models/owner/vit/").content.decode()
    body = {"evaluation-dataset": "timm/imagenet-r", "evaluation-metric": "x", "evaluation-value": "1"}
    assert client.post(add, body).status_code == 403
    assert client.post(delete).status_code == 403
    assert client.get(reverse("catalog:evaluation-edit", args=["owner", "vit", result.pk])).status_code == 403
    hidden = EvaluationResult.objects.get(model=world["models"]["hidden"])
    assert (
        client.post(reverse("catalog:evaluation-delete", args=["owner", "hidden-model", hidden.pk])).status_code == 404
    )
    assert EvaluationResult.objects.filter(pk=result.pk).exists()


def test_the_admin_saves_and_deletes_through_the_audited_service(client, world, admin_user):
    client.force_login(admin_user)
    vit, board = world["models"]["vit"], world["imagenet_r"]
    response = client.post(
        reverse("admin:catalog_evaluationresult_add"),
        {
            "model": vit.pk,
            "dataset": board.pk,
            "split": "test",
            "metric": "top5",
            "value": "97.5",
            "higher_is_better": "on",
            "source": "api",
            "config": "{}",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    result = EvaluationResult.objects.get(model=vit, metric="top5")
    assert result.created_by == admin_user
    listing = client.get(reverse("admin:catalog_evaluationresult_changelist") + "?q=vit&source__exact=api")
    assert listing.status_code == 200 and "top5" in listing.content.decode()
    client.post(reverse("admin:catalog_evaluationresult_delete", args=[result.pk]), {"post": "yes"})
    assert not EvaluationResult.objects.filter(pk=result.pk).exists()
    actions = set(AuditEvent.objects.filter(action__startswith="evaluation.").values_list("action", flat=True))
    assert actions == {"evaluation.create", "evaluation.delete"}
