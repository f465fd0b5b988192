"""The vocabulary models and datasets share: kind and plural on the class, ``objects.named`` (visible
or 404) and ``objects.with_name``; every page, API view and the Hub API look assets up through it."""

import pytest
from django.http import Http404

from accounts.models import Grant, Permission
from catalog.models import Asset, Dataset, MLModel
from catalog.tests.factories import DatasetFactory, MLModelFactory

pytestmark = pytest.mark.django_db


def test_each_asset_class_names_its_kind_and_its_plural():
    assert (MLModel.kind, MLModel.plural) == ("model", "models")
    assert (Dataset.kind, Dataset.plural) == ("dataset", "datasets")


def test_the_kind_is_the_name_of_the_foreign_key_that_grants_hold():
    assert {field.name for field in Grant._meta.get_fields()} >= {MLModel.kind, Dataset.kind}


def test_of_plural_knows_exactly_the_two_asset_classes():
    assert Asset.kinds() == {"models": MLModel, "datasets": Dataset}
    assert Asset.of_plural("datasets") is Dataset


@pytest.mark.parametrize("word", ["users", "model", "", "Models", "__class__"])
def test_of_plural_answers_404_for_any_other_word(word):
    with pytest.raises(Http404):
        Asset.of_plural(word)


def test_named_finds_a_public_asset_for_anyone(anonymous):
    model = MLModelFactory()
    assert MLModel.objects.named(model.full_name, user=anonymous) == model


def test_named_finds_a_private_asset_for_its_owner_and_a_grantee(owner, grantee):
    dataset = DatasetFactory(owner=owner, visibility="private")
    Grant.objects.create(dataset=dataset, user=grantee, permission=Permission.READ)
    assert Dataset.objects.named(f"owner/{dataset.name}", user=owner) == dataset
    assert Dataset.objects.named(f"owner/{dataset.name}", user=grantee) == dataset


def test_named_answers_404_for_a_hidden_asset_as_for_a_missing_one(owner, stranger):
    model = MLModelFactory(owner=owner, visibility="private")
    with pytest.raises(Http404) as hidden:
        MLModel.objects.named(model.full_name, user=stranger)
    with pytest.raises(Http404) as missing:
        MLModel.objects.named("owner/no-such-model", user=stranger)
    assert str(hidden.value) == str(missing.value)


@pytest.mark.parametrize("ref", ["", "/", "owner", "owner/", "/name"])
def test_named_answers_404_for_a_malformed_name(owner, ref):
    MLModelFactory(owner=owner, name="name")
    with pytest.raises(Http404):
        MLModel.objects.named(ref, user=owner)


def test_named_keeps_the_joins_chained_before_it(owner, django_assert_num_queries):
    model = MLModelFactory(owner=owner)
    found = MLModel.objects.select_related("owner").named(model.full_name, user=owner)
    with django_assert_num_queries(0):
        assert found.owner.username == "owner"


def test_named_looks_up_one_kind_only(owner):
    dataset = DatasetFactory(owner=owner)
    with pytest.raises(Http404):
        MLModel.objects.named(dataset.full_name, user=owner)


def test_with_name_decides_no_access(owner, stranger):
    model = MLModelFactory(owner=owner, visibility="private")
    assert list(MLModel.objects.with_name(model.full_name)) == [model]
    assert not MLModel.objects.visible_to(stranger).with_name(model.full_name).exists()
    assert not MLModel.objects.with_name("owner").exists()
