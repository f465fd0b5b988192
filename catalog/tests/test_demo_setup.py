import io

import pytest
from django.core.management import call_command

from accounts.models import User
from catalog.models import MLModel
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
    assert (tmp_path / "admin_password").stat().st_mode & 0o077 == 0
    again = io.StringIO()
    call_command("demo_setup", "--skip-data", stdout=again)
    assert password in again.getvalue() and User.objects.filter(username="admin").count() == 1
