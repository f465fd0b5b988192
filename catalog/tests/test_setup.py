"""`manage.py setup` makes a freshly migrated database usable (issue 14, item 13)."""

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import User
from catalog.models import Task
from licensing.models import License

pytestmark = pytest.mark.django_db


def setup(*args) -> str:
    out = StringIO()
    call_command("setup", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_setup_loads_licences_tasks_and_the_admin_so_a_model_with_licence_mit_can_be_created(monkeypatch):
    monkeypatch.setenv("OMH_ADMIN_USERNAME", "root")
    monkeypatch.setenv("OMH_ADMIN_PASSWORD", "a-long-admin-password")
    assert not License.objects.exists() and not Task.objects.exists()
    first = setup()
    root = User.objects.get(username="root")
    assert root.is_superuser and root.role == User.Role.ADMIN and root.check_password("a-long-admin-password")
    assert "created admin 'root' (password from OMH_ADMIN_PASSWORD)" in first
    assert Task.objects.filter(slug="text-generation").exists() and Task.objects.count() >= 40
    client = APIClient()
    client.force_authenticate(root)
    response = client.post(
        "/api/v1/models/", {"name": "m", "license": "mit", "tasks": ["text-generation"]}, format="json"
    )
    assert response.status_code == 201, response.json()
    counts = (License.objects.count(), Task.objects.count(), User.objects.count())
    monkeypatch.setenv("OMH_ADMIN_PASSWORD", "another-password")
    again = setup()
    assert (License.objects.count(), Task.objects.count(), User.objects.count()) == counts
    assert "0 licences created, 0 updated" in again and "admin 'root' already exists: left unchanged" in again
    assert User.objects.get(username="root").check_password("a-long-admin-password")


def test_setup_without_an_admin_creates_none_and_a_named_admin_gets_a_password_shown_once(monkeypatch):
    monkeypatch.delenv("OMH_ADMIN_USERNAME", raising=False)
    monkeypatch.delenv("OMH_ADMIN_PASSWORD", raising=False)
    setup()
    assert not User.objects.exists()
    out = setup("--admin", "ops")
    password = out.split("with password ")[1].split()[0]
    assert User.objects.get(username="ops").check_password(password)
