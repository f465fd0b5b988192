"""The model detail read as values (catalog.api.detail) writes the bytes MLModelSerializer writes from model
instances, for every shape of model and every kind of reader; its statements are compiled once per
visibility shape (catalog.statements) and a hidden model or related asset is never named."""

import datetime as dt
import io
from types import SimpleNamespace

import pytest
from django.test import TestCase
from rest_framework.test import APIClient

from accounts.services import grant_access
from catalog import files
from catalog.api.serializers import MLModelSerializer
from catalog.api.views import _model_detail_queryset
from catalog.models import CNNDetails, CNNModule, MLModel, ModelDataset, RNNDetails, TransformerDetails
from catalog.statements import Statement
from catalog.tests.factories import (
    DatasetFactory,
    DatasetFileFactory,
    FileColumnFactory,
    LicenseFactory,
    LineageFactory,
    MLModelFactory,
    TaskFactory,
)
from openmodelhub.renderers import FastJSONRenderer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_store", "eager_celery")]


@pytest.fixture
def world(owner, stranger, grantee, admin_user):
    """Models of every architecture shape, lineage both ways through public, private and granted models,
    dataset links to public, private and granted datasets, authors, media, tasks and a repository."""
    licence = LicenseFactory(key="gpl-3.0", spdx_id="GPL-3.0", category="copyleft")
    tasks = [TaskFactory(slug="text-generation"), TaskFactory(slug="Fill-Mask"), TaskFactory(slug="a_b")]
    tf = MLModelFactory(owner=owner, name="tf", architecture_family="transformer", license=licence, card="# card")
    TransformerDetails.objects.create(model=tf, decoder_count=12, attention_size=768, up_size=None)
    tf.tasks.set(tasks)
    tf.media.set(["text", "image"])
    tf.authors.set([stranger, owner, grantee])
    tf.release_date = dt.date(2025, 3, 1)
    tf.license_declared = "GPL-3.0-only"
    tf.save()
    bare = MLModelFactory(owner=owner, name="tf-bare", architecture_family="transformer", parameter_count=None)
    cnn = MLModelFactory(owner=stranger, name="cnn", architecture_family="cnn")
    details = CNNDetails.objects.create(model=cnn, module_count=2)
    CNNModule.objects.create(cnn=details, position=2, conv_size=5, pooling_type="avg")
    CNNModule.objects.create(cnn=details, position=1, conv_size=3, pooling_type="max")
    rnn = MLModelFactory(owner=stranger, name="rnn", architecture_family="rnn", training_type="finetune")
    RNNDetails.objects.create(model=rnn, criterion="ctc", batch_size=32)
    hidden = MLModelFactory(owner=owner, name="hidden-base", visibility="private")
    shared = MLModelFactory(owner=owner, name="shared", visibility="private", architecture_family="other")
    grant_access(by=owner, asset=shared, permission="read", user=grantee)
    for model, base, relation in [
        (tf, hidden, "fine_tune"),
        (tf, rnn, "merge"),
        (cnn, tf, "distillation"),
        (shared, tf, "adapter"),
        (bare, hidden, "quantization"),
        (rnn, shared, "merge"),
    ]:
        LineageFactory(model=model, base=base, relation=relation)  # fmt: skip
    public, private = DatasetFactory(owner=stranger, name="pub"), DatasetFactory(owner=owner, name="priv")
    private.visibility = "private"
    private.save()
    lent = DatasetFactory(owner=owner, name="lent", visibility="private")
    grant_access(by=owner, asset=lent, permission="read", user=grantee)
    for dataset, role in [
        (public, "trained_on"),
        (private, "evaluated_on"),
        (lent, "fine_tuned_on"),
        (public, "evaluated_on"),
    ]:
        ModelDataset.objects.create(model=tf, dataset=dataset, role=role)  # fmt: skip
    ModelDataset.objects.create(model=shared, dataset=lent, role="trained_on")
    with TestCase.captureOnCommitCallbacks(execute=True):
        files.upload_file(user=owner, asset=tf, path="config.json", content=io.BytesIO(b"{}"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        files.upload_file(user=owner, asset=tf, path="a/notes.txt", content=io.BytesIO(b"notes"))
    return [tf, bare, cnn, rnn, hidden, shared]


def _as(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _serialized(model: MLModel, user) -> bytes:
    instance = _model_detail_queryset().get(pk=model.pk)
    request = SimpleNamespace(user=user if user is not None else SimpleNamespace(is_authenticated=False))
    return FastJSONRenderer().render(MLModelSerializer(instance, context={"request": request}).data)


@pytest.mark.parametrize("reader", ["anonymous", "stranger", "grantee", "owner", "curator", "admin_user"])
def test_the_lean_detail_is_byte_for_byte_the_serializers(world, reader, request):
    user = None if reader == "anonymous" else request.getfixturevalue(reader)
    client, shown = _as(user), 0
    for model in world:
        visible = MLModel.objects.visible_to(user or request.getfixturevalue("anonymous")).filter(pk=model.pk).exists()
        for url in (f"/api/v1/models/{model.full_name}/", f"/api/v1/models/{model.pk}/"):
            response = client.get(url)
            if not visible:
                assert response.status_code == 404 and response.json() == {"detail": "Not found."}, url
                continue
            assert response.status_code == 200, url
            assert response.content == _serialized(model, user), url
            shown += 1
    assert shown == 2 * {"anonymous": 4, "stranger": 4, "grantee": 5}.get(reader, 6)


def test_related_assets_are_named_only_to_those_who_may_see_them(world, stranger, grantee, owner):
    tf = world[0]
    seen = {}
    for name, user in [("stranger", stranger), ("grantee", grantee), ("owner", owner)]:
        body = _as(user).get(f"/api/v1/models/{tf.full_name}/").json()
        seen[name] = (
            [edge["model"]["name"] for edge in body["bases"]],
            [edge["model"]["name"] for edge in body["derivatives"]],
            [(link["dataset"]["name"], link["role"]) for link in body["datasets"]],
        )
    assert seen["stranger"] == (["rnn"], ["cnn"], [("pub", "evaluated_on"), ("pub", "trained_on")])
    assert sorted(seen["grantee"][1]) == ["cnn", "shared"] and ("lent", "fine_tuned_on") in seen["grantee"][2]
    assert "hidden-base" not in seen["grantee"][0] and ("priv", "evaluated_on") not in seen["grantee"][2]
    assert sorted(seen["owner"][0]) == ["hidden-base", "rnn"]
    body = _as(owner).get(f"/api/v1/models/{tf.full_name}/").json()
    assert [entry["path"] for entry in body["files"]] == ["a/notes.txt", "config.json"] and len(body["sha"]) == 40
    assert body["authors"] == sorted(body["authors"]) and len(body["authors"]) == 3


def test_a_statement_is_compiled_once_per_visibility_shape(world, stranger, curator, django_assert_num_queries):
    compiled = Statement(lambda user, pk: MLModel.objects.visible_to(user).filter(pk=pk).values_list("name"))
    tf, cnn, shared = world[0], world[2], world[5]
    assert compiled.rows(None, pk=tf.pk) == [("tf",)]
    assert compiled.rows(None, pk=shared.pk) == []  # private: the visitors' statement, reused
    assert compiled.rows(curator, pk=shared.pk) == [("shared",)]
    assert sorted(shape for shape, _ in compiled._compiled) == ["everything", "public"]
    assert compiled.rows(stranger, pk=cnn.pk) == [("cnn",)]  # a member's: built each time, not kept
    assert compiled.rows(stranger, pk=shared.pk) == []
    assert len(compiled._compiled) == 2
    with django_assert_num_queries(1):
        compiled.rows(None, pk=cnn.pk)


def test_a_statement_refuses_an_argument_it_cannot_keep_as_a_parameter(world):
    listed = Statement(lambda user, pk: MLModel.objects.filter(pk__in=[pk]).values_list("name"), visible=False)
    assert listed.rows(None, pk=world[0].pk) == [("tf",)]
    lowered = Statement(
        lambda user, name: MLModel.objects.filter(name__icontains=name).values_list("id"), visible=False
    )
    with pytest.raises(ValueError, match="name: not a parameter"):
        lowered.rows(None, name="TF")
    with pytest.raises(TypeError):
        lowered.rows(None, name=None)


# --- datasets ------------------------------------------------------------------------------------------


@pytest.fixture
def shelf(owner, stranger, grantee):
    """Datasets with EXAI metadata, described files and columns (JSON values), relationships with ordered
    column pairs, domains, authors, a repository, and links from public, private and granted models."""
    from catalog.models import DatasetRelationship, DatasetRelationshipColumnLink, Domain

    full = DatasetFactory(owner=owner, name="full", license=LicenseFactory(), card="rows", year=2024)
    full.media.set(["tabular", "text"])
    full.tasks.set([TaskFactory(slug="z-task"), TaskFactory(slug="a-task")])
    full.domains.set([Domain.objects.create(slug="health", name="Health"), Domain.objects.create(slug="edu", name="E")])
    full.authors.set([grantee, stranger])
    full.has_missing_values, full.global_missing_percentage, full.citation_link = True, 12.5, "https://example.org/c"
    full.save()
    train = DatasetFileFactory(dataset=full, path="data/train.csv", size_bytes=10, row_count=3, format="csv")
    labels = DatasetFileFactory(dataset=full, path="data/labels.csv")
    for i, file in enumerate([train, labels]):
        FileColumnFactory(dataset_file=file, name="id", position=1, is_primary_key_component=True, stats={"n": i})
        FileColumnFactory(dataset_file=file, name="y", position=3, example_values=["a", 1, None], is_pii=True)
        FileColumnFactory(dataset_file=file, name="x", position=2, data_type_interpreted="float")
    relation = DatasetRelationship.objects.create(
        dataset=full, from_file=labels, to_file=train, relationship_type="foreign_key", description="labels"
    )
    first, second = (train.columns.get(name=n) for n in ("id", "x"))
    DatasetRelationshipColumnLink.objects.create(
        relationship=relation, from_column=second, to_column=first, link_order=2
    )
    DatasetRelationshipColumnLink.objects.create(
        relationship=relation, from_column=first, to_column=second, link_order=1
    )
    bare = DatasetFactory(owner=stranger, name="bare")
    lent = DatasetFactory(owner=owner, name="lent", visibility="private")
    grant_access(by=owner, asset=lent, permission="read", user=grantee)
    secret = MLModelFactory(owner=owner, name="secret", visibility="private")
    shared = MLModelFactory(owner=owner, name="shared", visibility="private")
    grant_access(by=owner, asset=shared, permission="read", user=grantee)
    for model, role in [
        (MLModelFactory(owner=stranger, name="open"), "trained_on"),
        (secret, "evaluated_on"),
        (shared, "fine_tuned_on"),
    ]:
        ModelDataset.objects.create(model=model, dataset=full, role=role)  # fmt: skip
        ModelDataset.objects.create(model=model, dataset=lent, role="trained_on")
    with TestCase.captureOnCommitCallbacks(execute=True):
        files.upload_file(user=owner, asset=full, path="README.md", content=io.BytesIO(b"# rows"))
    return [full, bare, lent]


def _dataset_serialized(dataset, user) -> bytes:
    from catalog.api.serializers import DatasetSerializer
    from catalog.api.views import DatasetDetailView

    instance = DatasetDetailView().lookup_queryset().get(pk=dataset.pk)
    request = SimpleNamespace(user=user if user is not None else SimpleNamespace(is_authenticated=False))
    return FastJSONRenderer().render(DatasetSerializer(instance, context={"request": request}).data)


@pytest.mark.parametrize("reader", ["anonymous", "stranger", "grantee", "owner", "curator"])
def test_the_lean_dataset_detail_is_byte_for_byte_the_serializers(shelf, reader, request):
    from catalog.models import Dataset

    user = None if reader == "anonymous" else request.getfixturevalue(reader)
    client, shown = _as(user), 0
    for dataset in shelf:
        visible = Dataset.objects.visible_to(user or request.getfixturevalue("anonymous")).filter(pk=dataset.pk)
        for url in (f"/api/v1/datasets/{dataset.full_name}/", f"/api/v1/datasets/{dataset.pk}/"):
            response = client.get(url)
            if not visible.exists():
                assert response.status_code == 404 and response.json() == {"detail": "Not found."}, url
                continue
            assert response.status_code == 200, url
            assert response.content == _dataset_serialized(dataset, user), url
            shown += 1
    assert shown == 2 * (3 if reader in ("grantee", "owner", "curator") else 2)
    body = client.get(f"/api/v1/datasets/{shelf[0].full_name}/").json()
    described = {f["path"]: f for f in body["described_files"]}  # README.md too: the upload describes it
    assert [f["path"] for f in body["described_files"]] == sorted(described) and "data/labels.csv" in described
    assert [c["name"] for c in described["data/train.csv"]["columns"]] == ["id", "x", "y"]
    assert [p["order"] for p in body["relationships"][0]["column_links"]] == [1, 2]
    named = {link["model"]["name"] for link in body["models"]}
    assert named == {"open", "secret", "shared"} if reader in ("owner", "curator") else "secret" not in named
    assert ("shared" in named) == (reader in ("grantee", "owner", "curator"))


def test_a_dataset_detail_runs_one_statement_per_concern(shelf, django_assert_num_queries):
    """The dataset, its slugs, described files, relationships and visible models; the columns, the column
    pairs and the files at the head only when there are some (10 statements before, whatever the dataset)."""
    full, bare = shelf[0], shelf[1]
    client = _as(None)
    for dataset, statements in ((full, 8), (bare, 5)):
        client.get(f"/api/v1/datasets/{dataset.full_name}/")  # warm: the throttle's cache, the statements
        with django_assert_num_queries(statements):
            assert client.get(f"/api/v1/datasets/{dataset.full_name}/").status_code == 200
