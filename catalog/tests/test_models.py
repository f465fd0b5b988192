from itertools import pairwise

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.models import (
    CNNDetails,
    CNNModule,
    Dataset,
    DatasetFile,
    DatasetRelationship,
    MLModel,
    ModelDataset,
    ModelLineage,
    Task,
    ancestor_ids,
    check_lineage_edge,
    descendant_ids,
)
from catalog.tests.factories import DatasetFactory, DatasetFileFactory, MLModelFactory, UserFactory

pytestmark = pytest.mark.django_db


def rejected_by_database(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


def test_the_database_refuses_a_negative_parameter_count():
    owner = UserFactory()
    assert rejected_by_database(lambda: MLModel.objects.create(owner=owner, name="m", parameter_count=-1))
    assert not rejected_by_database(lambda: MLModel.objects.create(owner=owner, name="m", parameter_count=0))


def test_the_database_holds_parameter_counts_beyond_32_bits():
    model = MLModelFactory(parameter_count=1_800_000_000_000)
    model.refresh_from_db()
    assert model.parameter_count == 1_800_000_000_000


def test_the_database_refuses_a_second_model_with_the_same_owner_and_name():
    model = MLModelFactory(name="bert")
    assert rejected_by_database(lambda: MLModel.objects.create(owner=model.owner, name="bert"))
    assert not rejected_by_database(lambda: MLModel.objects.create(owner=UserFactory(), name="bert"))


@pytest.mark.parametrize(
    "field,value",
    [
        ("training_type", "supervised"),
        ("architecture_family", "mamba"),
        ("visibility", "secret"),
        ("downloads", -5),
        ("likes", -1),
    ],
)
def test_the_database_refuses_invalid_model_values(field, value):
    owner = UserFactory()
    assert rejected_by_database(lambda: MLModel.objects.create(owner=owner, name="m", **{field: value}))


@pytest.mark.parametrize(
    "field,value",
    [
        ("instances_number", -1),
        ("global_missing_percentage", 100.5),
        ("global_missing_percentage", -0.1),
        ("year", 1800),
        ("representativity_level", "huge"),
        ("sample_balance_level", "odd"),
        ("visibility", "x"),
    ],
)
def test_the_database_refuses_invalid_dataset_values(field, value):
    owner = UserFactory()
    assert rejected_by_database(lambda: Dataset.objects.create(owner=owner, name="d", **{field: value}))


def test_the_database_refuses_negative_file_sizes_and_row_counts_and_duplicate_paths():
    dataset = DatasetFactory()
    assert rejected_by_database(lambda: DatasetFile.objects.create(dataset=dataset, path="a.csv", size_bytes=-1))
    assert rejected_by_database(lambda: DatasetFile.objects.create(dataset=dataset, path="a.csv", row_count=-1))
    DatasetFile.objects.create(dataset=dataset, path="a.csv")
    assert rejected_by_database(lambda: DatasetFile.objects.create(dataset=dataset, path="a.csv"))


def test_the_database_refuses_unknown_pooling_and_relationship_types_and_roles():
    model = MLModelFactory()
    cnn = CNNDetails.objects.create(model=model, module_count=1)
    assert rejected_by_database(lambda: CNNModule.objects.create(cnn=cnn, position=1, conv_size=3, pooling_type="sum"))
    dfile = DatasetFileFactory()
    assert rejected_by_database(
        lambda: DatasetRelationship.objects.create(
            dataset=dfile.dataset, from_file=dfile, to_file=dfile, relationship_type="friendship"
        )
    )
    assert rejected_by_database(lambda: ModelDataset.objects.create(model=model, dataset=dfile.dataset, role="liked"))
    assert rejected_by_database(lambda: Task.objects.create(slug="t", name="t", modality="smell"))


def test_the_database_refuses_a_lineage_self_loop_and_duplicate_edges():
    a, b = MLModelFactory(), MLModelFactory()
    assert rejected_by_database(lambda: ModelLineage.objects.create(model=a, base=a, relation="fine_tune"))
    ModelLineage.objects.create(model=a, base=b, relation="fine_tune")
    assert rejected_by_database(lambda: ModelLineage.objects.create(model=a, base=b, relation="merge"))
    assert rejected_by_database(lambda: ModelLineage.objects.create(model=b, base=a, relation="bogus"))


def test_lineage_refuses_an_edge_that_closes_a_cycle():
    a, b, c = MLModelFactory(), MLModelFactory(), MLModelFactory()
    ModelLineage.objects.create(model=a, base=b, relation="fine_tune")  # a derives from b
    ModelLineage.objects.create(model=b, base=c, relation="quantization")  # b derives from c
    with pytest.raises(ValidationError, match="cycle"):
        check_lineage_edge(c.pk, a.pk)  # c derives from a: c -> a -> b -> c
    with pytest.raises(ValidationError, match="cycle"):
        ModelLineage(model=c, base=a, relation="merge").full_clean()
    with pytest.raises(ValidationError, match="own base"):
        check_lineage_edge(a.pk, a.pk)
    check_lineage_edge(a.pk, c.pk)  # a shortcut edge to an ancestor is fine


def test_a_model_may_have_several_bases_and_ancestors_are_found_at_any_depth():
    chain = [MLModelFactory() for _ in range(30)]
    for child, base in pairwise(chain):
        ModelLineage.objects.create(model=child, base=base, relation="fine_tune")
    other = MLModelFactory()
    ModelLineage.objects.create(model=chain[0], base=other, relation="merge")
    assert ancestor_ids([chain[0].pk]) == {m.pk for m in chain[1:]} | {other.pk}
    assert chain[-1].ancestor_ids() == set()
    assert descendant_ids([chain[-1].pk]) == {m.pk for m in chain[:-1]}
    assert descendant_ids([other.pk]) == {chain[0].pk} and descendant_ids([chain[0].pk]) == set()


def test_asset_names_may_not_contain_a_slash_or_control_characters():
    owner = UserFactory()
    for bad in ["a/b", "tab\there", " lead", "trail "]:
        with pytest.raises(ValidationError):
            MLModel(owner=owner, name=bad).full_clean()
    MLModel(owner=owner, name="Moments in Time").full_clean()
