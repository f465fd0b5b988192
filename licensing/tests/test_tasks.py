import pytest

from catalog.models import MLModel
from licensing import services
from licensing.models import ComplianceReport
from licensing.tasks import recompute_compliance_task
from licensing.tests.factories import derive, license_for, model

pytestmark = pytest.mark.django_db


def test_a_licence_change_upstream_is_re_analysed_downstream(eager_celery, django_capture_on_commit_callbacks):
    root = model("root", "apache-2.0")
    middle = model("middle", "apache-2.0")
    leaf = model("leaf", "apache-2.0")
    derive(middle, root)
    derive(leaf, middle)
    services.analyse_models(None)
    assert not ComplianceReport.objects.filter(has_violations=True).exists()

    gemma = license_for("gemma-tou-2024-04-01")  # (a new licence: its own on-commit signal, outside the count)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        MLModel.objects.filter(pk=root.pk).update(license=gemma)
        services.schedule_compliance([root.pk])

    assert len(callbacks) == 1
    assert set(ComplianceReport.objects.filter(has_violations=True).values_list("model__name", flat=True)) == {
        "middle",
        "leaf",
    }


def test_nothing_is_queued_before_the_transaction_commits(eager_celery, django_capture_on_commit_callbacks):
    m = model("m", "apache-2.0")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.schedule_compliance([m.pk])
    assert len(callbacks) == 1
    assert not ComplianceReport.objects.filter(model=m).exists()


def test_the_task_is_safe_to_run_twice_and_skips_deleted_models():
    m = model("m", "apache-2.0")
    assert recompute_compliance_task.apply(args=[[m.pk, 999999]]).get() == {"analysed": 1, "with_violations": 0}
    assert recompute_compliance_task.apply(args=[[m.pk, 999999]]).get() == {"analysed": 1, "with_violations": 0}
    assert ComplianceReport.objects.filter(model=m).count() == 1


def test_a_dataset_licence_change_re_analyses_the_models_trained_on_it(
    eager_celery, django_capture_on_commit_callbacks
):
    from licensing.tests.factories import dataset, train

    data = dataset("corpus", "cc-by-4.0")
    trained = model("trained", "apache-2.0")
    tuned = model("tuned", "apache-2.0")
    train(trained, data)
    derive(tuned, trained)

    with django_capture_on_commit_callbacks(execute=True):
        data.license = license_for("cc-by-nc-4.0")
        data.save()
        services.schedule_compliance_for_datasets([data.pk])

    assert ComplianceReport.objects.get(model=trained).has_violations
    assert ComplianceReport.objects.get(model=tuned).has_violations
