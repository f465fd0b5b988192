"""A model card's model-index becomes evaluation results (issue #20), only for datasets the writer sees."""

import io

import pytest
from django.test import TestCase

from accounts.models import AuditEvent
from catalog import files
from catalog.discovery.model_index import import_model_index
from catalog.models import EvaluationResult, EvaluationSource, MLModel
from catalog.tests.factories import DatasetFactory, MLModelFactory, UserFactory

pytestmark = pytest.mark.django_db

CARD = """---
license: apache-2.0
model-index:
  - name: vit-small
    results:
      - task: {type: image-classification}
        dataset: {name: ImageNet-R, type: timm/imagenet-r, config: default, split: test}
        metrics:
          - {type: top1, value: 81.25, name: Top-1}
          - {type: top5, value: "95.5"}
          - {type: "bad metric!", value: 1}
          - {type: f1, value: lots}
        source: {name: Paper, url: "https://example.org/paper"}
      - dataset: {name: Secret, type: someone/secret-set}
        metrics: [{type: top1, value: 99}]
      - dataset: {name: ImageNet, type: imagenet-1k}
        metrics: [{type: top1, value: 80}]
---
# ViT small
"""


@pytest.fixture
def world(owner):
    imagenet_r = DatasetFactory(owner=UserFactory(username="timm"), name="imagenet-r")
    secret = DatasetFactory(owner=UserFactory(username="someone"), name="secret-set", visibility="private")
    model = MLModelFactory(owner=owner, name="vit-small")
    return {"model": model, "imagenet_r": imagenet_r, "secret": secret}


def parse(card: str) -> list:
    from catalog.cards import split_front_matter

    return split_front_matter(card)[0]["model-index"]


def test_the_results_of_datasets_the_writer_sees_are_created_the_rest_reported(world, owner):
    report = import_model_index(model=world["model"], model_index=parse(CARD), user=owner)
    results = {r.metric: r for r in EvaluationResult.objects.filter(model=world["model"])}
    assert sorted(results) == ["top1", "top5"]
    top1 = results["top1"]
    assert (top1.dataset, top1.split, top1.value, top1.source) == (
        world["imagenet_r"],
        "test",
        81.25,
        EvaluationSource.MODEL_INDEX,
    )
    assert top1.config == {"task": "image-classification", "dataset_config": "default"}
    assert top1.source_url == "https://example.org/paper" and results["top5"].value == 95.5
    assert report.results.created == 2
    assert report.skipped == [
        "model-index[0].results[0].metrics[2]: metric type 'bad metric!' is not a metric name",
        "model-index[0].results[0].metrics[3]: value 'lots' is not a number",
        "model-index[0].results[1]: dataset.type 'someone/secret-set' is not owner/name of a dataset you can see",
        "model-index[0].results[2]: dataset.type 'imagenet-1k' is not owner/name of a dataset you can see",
    ]
    assert not EvaluationResult.objects.filter(dataset=world["secret"]).exists()
    event = AuditEvent.objects.get(action="evaluation.import")
    assert event.details["source"] == "model-index" and event.details["created"] == 2


def test_a_second_save_updates_and_keeps_a_hand_entered_result(world, owner):
    import_model_index(model=world["model"], model_index=parse(CARD), user=owner)
    EvaluationResult.objects.filter(metric="top5").update(source=EvaluationSource.API, value=1.0)
    report = import_model_index(model=world["model"], model_index=parse(CARD.replace("81.25", "82.0")), user=owner)
    assert (report.results.updated, report.results.kept) == (1, 1)
    assert EvaluationResult.objects.get(metric="top1").value == 82.0
    assert EvaluationResult.objects.get(metric="top5").value == 1.0


def test_committing_the_card_imports_its_results(world, owner, file_store, eager_celery):
    with TestCase.captureOnCommitCallbacks(execute=True):
        files.upload_file(user=owner, asset=world["model"], path="README.md", content=io.BytesIO(CARD.encode()))
    assert MLModel.objects.get(pk=world["model"].pk).card.startswith("# ViT small")
    assert set(EvaluationResult.objects.values_list("metric", "value")) == {("top1", 81.25), ("top5", 95.5)}


def test_malformed_model_index_creates_nothing(world, owner):
    for junk in (None, "text", [1, "two"], [{"results": "no"}], [{"results": [{"dataset": "timm/imagenet-r"}]}]):
        import_model_index(model=world["model"], model_index=junk, user=owner)
    assert not EvaluationResult.objects.exists()
