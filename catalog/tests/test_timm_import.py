"""import_timm_results: creates what it needs, idempotent, atomic with the bad row named (issue #20)."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent, User
from catalog.discovery.timm import SETS
from catalog.models import Dataset, EvaluationResult, EvaluationSource, MLModel
from catalog.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

COMMIT = "aa4b5850c1543fa488abf260f18390eda46cf85d"
HEADER = "model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation\n"
ROWS = [
    # the same model at two image sizes: the larger one is kept whatever the order
    "convnext_large.fb_in22k_ft_in1k,224,86.6,13.4,98.0,2.0,197.77,0.875,bicubic",
    "convnext_large.fb_in22k_ft_in1k,288,87.0,13.0,98.2,1.8,197.77,1.000,bicubic",
    'eva_giant_patch14_336.clip_ft_in1k,336,89.4,10.6,98.8,1.2,"1,013.01",1.000,bicubic',
    "resnet50.a1_in1k,224,80.1,19.9,94.6,5.4,25.56,0.950,bicubic",
]


@pytest.fixture
def tables(tmp_path):
    folder = tmp_path / "timm-results"
    folder.mkdir()
    (folder / "README.md").write_text(f"# timm\n\n- Commit: {COMMIT}\n")
    for i, evalset in enumerate(SETS):
        # each set its own values, so that a result landing on the wrong dataset shows
        rows = [row.replace(",86.6,", f",{60 + i}.5,").replace(",80.1,", f",{50 + i}.25,") for row in ROWS]
        (folder / evalset.file).write_text(HEADER + "\n".join(rows) + "\n")
    TaskFactory(slug="image-classification", name="Image classification", modality="image")
    return folder


def run(folder, *args) -> str:
    out = io.StringIO()
    call_command("import_timm_results", "--dir", str(folder), *args, stdout=out)
    return out.getvalue()


def counts() -> tuple[int, ...]:
    return (
        Dataset.objects.count(),
        MLModel.objects.count(),
        EvaluationResult.objects.count(),
        User.objects.count(),
        AuditEvent.objects.count(),
    )


def test_it_creates_the_sets_the_models_and_their_results(tables):
    out = run(tables)
    assert "Created 8 datasets, 3 models (0 already present), 48 results" in out
    timm = User.objects.get(username="timm")
    assert sorted(Dataset.objects.filter(owner=timm).values_list("name", flat=True)) == sorted(s.name for s in SETS)
    giant = MLModel.objects.get(owner=timm, name="eva_giant_patch14_336.clip_ft_in1k")
    assert giant.parameter_count == 1_013_010_000
    assert list(giant.tasks.values_list("slug", flat=True)) == ["image-classification"]
    assert list(giant.media.values_list("slug", flat=True)) == ["image"]
    convnext = EvaluationResult.objects.get(
        model__name="convnext_large.fb_in22k_ft_in1k", dataset__name="imagenet-r", metric="top1"
    )
    assert convnext.value == 87.0 and convnext.split == "validation" and convnext.source == EvaluationSource.TIMM
    assert convnext.config == {"img_size": 288, "crop_pct": 1.0, "interpolation": "bicubic"}
    assert convnext.source_url == f"https://github.com/huggingface/pytorch-image-models/tree/{COMMIT}/results"
    resnet_r = EvaluationResult.objects.get(model__name="resnet50.a1_in1k", dataset__name="imagenet-r", metric="top1")
    assert resnet_r.value == 56.25  # the seventh set's own value
    assert "Sketch" in Dataset.objects.get(name="imagenet-sketch").card
    assert AuditEvent.objects.filter(action="asset.create").count() == 8  # the datasets, one by one
    batch = AuditEvent.objects.get(action="asset.bulk_write")  # the models, through catalog.bulk's writer
    assert batch.details["source"] == "import_timm_results" and len(batch.details["created"]) == 3
    assert sorted(batch.details["names"]) == sorted(f"timm/{m.name}" for m in MLModel.objects.filter(owner=timm))
    assert AuditEvent.objects.filter(action="evaluation.import").count() == 8


def test_a_second_run_changes_nothing_and_says_so(tables):
    run(tables)
    before = counts()
    out = run(tables)
    assert "Nothing changed" in out and "48 unchanged" in out
    assert counts() == before


def test_a_changed_value_is_updated_and_a_hand_entered_result_kept(tables):
    run(tables)
    hand = EvaluationResult.objects.get(model__name="resnet50.a1_in1k", dataset__name="imagenet-1k", metric="top5")
    EvaluationResult.objects.filter(pk=hand.pk).update(source=EvaluationSource.API, value=1.0)
    path = tables / "results-imagenet.csv"
    path.write_text(path.read_text().replace(",50.25,", ",51.5,"))
    out = run(tables)
    assert "1 results updated" in out and "1 kept from another source" in out
    assert EvaluationResult.objects.get(pk=hand.pk).value == 1.0
    moved = EvaluationResult.objects.get(model__name="resnet50.a1_in1k", dataset__name="imagenet-1k", metric="top1")
    assert moved.value == 51.5


def test_a_bad_row_writes_nothing_and_names_the_file_and_line(tables):
    path = tables / "results-sketch.csv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("89.4", "eighty-nine")
    path.write_text("\n".join(lines) + "\n")
    before = counts()
    with pytest.raises(CommandError, match=r"results-sketch\.csv:4: column 'top1' is not a number: 'eighty-nine'"):
        run(tables)
    assert counts() == before


def test_a_missing_table_is_named(tables):
    (tables / "results-imagenet-a.csv").unlink()
    with pytest.raises(CommandError, match=r"results-imagenet-a\.csv: no such file"):
        run(tables)
    assert not MLModel.objects.exists()


def test_a_dry_run_counts_and_writes_nothing(tables):
    out = run(tables, "--dry-run")
    assert "Dry run, nothing written. Would have created 8 datasets, 3 models" in out
    assert counts() == (0, 0, 0, 0, 0)


def test_limit_keeps_the_first_models_of_the_imagenet_table(tables):
    run(tables, "--limit", "1", "--owner", "pytorch-image-models")
    assert list(MLModel.objects.values_list("owner__username", "name")) == [
        ("pytorch-image-models", "convnext_large.fb_in22k_ft_in1k")
    ]
    assert EvaluationResult.objects.count() == 8 * 2


def test_the_real_tables_import(shared_data):
    """The shipped tables parse in full (every row is checked); 40 models are written to stay fast."""
    out = run(shared_data / "timm-results", "--limit", "40")
    assert "Created 8 datasets, 40 models" in out
    assert EvaluationResult.objects.filter(metric="top1", dataset__name="imagenet-1k").count() == 40
    best = EvaluationResult.objects.filter(metric="top1", dataset__name="imagenet-1k").order_by("-value").first()
    assert best.value > 85
