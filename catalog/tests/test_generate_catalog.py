from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F

from accounts.models import User
from catalog.models import (
    CNNDetails,
    CNNModule,
    Dataset,
    DatasetFile,
    MLModel,
    ModelDataset,
    ModelLineage,
    TransformerDetails,
    ancestor_ids,
)
from licensing.models import License

pytestmark = pytest.mark.django_db


def generate(**options) -> str:
    out = StringIO()
    call_command("generate_catalog", stdout=out, **{"models": 400, "datasets": 80, "seed": 7, "batch": 150, **options})
    return out.getvalue()


def test_it_builds_a_realistic_catalogue_and_says_what_it_made():
    output = generate()
    assert MLModel.objects.count() == 400 and Dataset.objects.count() == 80
    assert "models" in output and "400" in output and "Done in" in output
    assert License.objects.count() >= 3
    models = MLModel.objects.all()
    assert models.filter(visibility="private").exists() and models.filter(visibility="public").count() > 250
    assert models.filter(media__isnull=False).distinct().count() == 400
    assert models.filter(tasks__isnull=False).distinct().count() == 400
    assert models.values("architecture_family").distinct().count() == 4
    assert models.filter(license__isnull=True).exists() and models.filter(license__isnull=False).count() > 250
    counts = sorted(models.exclude(parameter_count=None).values_list("parameter_count", flat=True))
    assert counts[0] >= 1_000 and counts[-1] <= 2 * 10**12 and counts[-1] / counts[0] > 1000  # log-normal spread
    assert models.values("created_at__year", "created_at__month").distinct().count() > 12
    assert TransformerDetails.objects.count() == models.filter(architecture_family="transformer").count()
    assert CNNModule.objects.count() >= 2 * CNNDetails.objects.count()
    assert ModelDataset.objects.exists()


def test_the_lineage_has_every_relation_merges_and_no_cycle():
    generate()
    edges = ModelLineage.objects.all()
    assert set(edges.values_list("relation", flat=True)) == {
        "fine_tune",
        "adapter",
        "quantization",
        "merge",
        "distillation",
        "continued_pretraining",
    }
    assert not edges.filter(base_id__gte=F("model_id")).exists()  # edges point back in time: acyclic
    merged = edges.filter(relation="merge").values("model").annotate(n=Count("base")).filter(n__gt=1)
    assert merged.exists()
    deep = max(edges.values_list("model_id", flat=True), key=lambda pk: len(ancestor_ids([pk])))
    assert len(ancestor_ids([deep])) >= 3


def test_datasets_carry_exai_fields_ethics_flags_and_file_metadata():
    generate()
    datasets = Dataset.objects.all()
    assert not datasets.filter(instances_number=None).exists()
    assert datasets.filter(informed_consent=True).exists() and datasets.filter(informed_consent=False).exists()
    assert datasets.filter(informed_consent=None).exists()
    assert datasets.filter(domains__isnull=False).distinct().count() == 80
    assert datasets.filter(media__isnull=False).distinct().count() == 80
    files = DatasetFile.objects.all()
    assert files.count() >= 80 and not files.filter(size_bytes=None).exists()
    assert set(files.values_list("logical_role", flat=True)) >= {"training_data", "test_data"}


def test_it_is_safe_to_run_twice_and_reproducible_from_its_seed():
    generate()
    first_names = set(MLModel.objects.values_list("name", flat=True))
    generate()
    assert MLModel.objects.count() == 800 and Dataset.objects.count() == 160
    assert User.objects.filter(email__endswith="@example.org").count() >= 40
    assert len(first_names & set(MLModel.objects.exclude(name__in=first_names).values_list("name", flat=True))) == 0


def test_new_rows_keep_working_with_the_orm_afterwards():
    generate(models=50, datasets=10)
    owner = User.objects.first()
    created = MLModel.objects.create(owner=owner, name="made-by-hand")
    assert created.pk > MLModel.objects.exclude(pk=created.pk).order_by("-pk").first().pk


def test_a_dry_run_writes_nothing():
    output = generate(dry_run=True)
    assert "Dry run" in output and MLModel.objects.count() == 0 and User.objects.count() == 0


@pytest.mark.parametrize("options", [{"models": -1}, {"datasets": -5}, {"batch": 0}, {"users": 0}])
def test_bad_arguments_are_refused_with_a_message(options):
    with pytest.raises(CommandError):
        generate(**options)
