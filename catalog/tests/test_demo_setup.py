import io

import pytest
from django.core.management import call_command

from accounts.models import User
from catalog.models import EvaluationResult, MLModel
from licensing.models import License

pytestmark = pytest.mark.django_db


def test_demo_setup_loads_the_demo_and_prints_the_same_admin_credentials_each_time(settings, tmp_path, eager_celery):
    settings.VAR_DIR = tmp_path
    first = io.StringIO()
    call_command("demo_setup", stdout=first)
    password = next(line.split()[1] for line in first.getvalue().splitlines() if line.strip().startswith("password:"))
    admin = User.objects.get(username="admin")
    assert admin.role == "admin" and admin.check_password(password)
    assert MLModel.objects.count() >= 200 and License.objects.count() > 1000
    # the demo's timm models are measured on the eight ImageNet sets: leaderboards on a fresh clone
    board = EvaluationResult.objects.filter(dataset__owner__username="timm", dataset__name="imagenet-r", metric="top1")
    assert board.count() == 140 and not MLModel.objects.filter(owner__username="timm").exclude(
        evaluations__isnull=False
    )
    assert (tmp_path / "admin_password").stat().st_mode & 0o077 == 0
    again = io.StringIO()
    call_command("demo_setup", "--skip-data", stdout=again)
    assert password in again.getvalue() and User.objects.filter(username="admin").count() == 1


def test_restarting_the_demo_keeps_an_admins_edits_and_reports_no_licence_updates(
    settings, tmp_path, eager_celery, admin_user
):
    from catalog import services

    settings.VAR_DIR = tmp_path
    call_command("demo_setup", stdout=io.StringIO())
    model = MLModel.objects.filter(parameter_count__gt=0).exclude(license_declared="").order_by("pk").first()
    mit = License.objects.get(key="mit")
    services.save_model(
        user=admin_user,
        model=model,
        data={"parameter_count": 12345, "license": mit, "license_declared": "", "card": "Checked by a curator"},
    )
    again = io.StringIO()
    call_command("demo_setup", stdout=again)
    model.refresh_from_db()
    assert (model.parameter_count, model.license, model.card) == (12345, mit, "Checked by a curator")
    assert f"model {model.full_name} (edited: card, license, license_declared, parameter_count)" in again.getvalue()
    assert "0 licences created, 0 updated" in again.getvalue()
