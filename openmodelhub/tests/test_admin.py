"""The shared admin pieces (openmodelhub/admin.py): count columns and read-only admins (issue 15, item 5)."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from accounts.models import AuditEvent, User
from agent.models import AgentQuery
from catalog.models import Commit
from catalog.tests.factories import DatasetFactory, LicenseFactory, MLModelFactory, UserFactory
from licensing.models import License
from openmodelhub.admin import CountColumnsMixin, ReadOnlyAdmin

pytestmark = pytest.mark.django_db


def admin_request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_count_columns_count_related_rows_per_row_and_sort_by_them(admin_user):
    busy = LicenseFactory(key="mit", spdx_id="MIT", name="MIT")
    LicenseFactory(key="isc", spdx_id="ISC", name="ISC")
    MLModelFactory.create_batch(2, license=busy)
    DatasetFactory(license=busy)
    model_admin = admin.site._registry[License]
    rows = {lic.key: lic for lic in model_admin.get_queryset(admin_request(admin_user))}

    assert (model_admin.model_count(rows["mit"]), model_admin.dataset_count(rows["mit"])) == (2, 1)
    assert (model_admin.model_count(rows["isc"]), model_admin.dataset_count(rows["isc"])) == (0, 0)
    assert model_admin.model_count.admin_order_field == "n_model_count"
    assert model_admin.model_count.short_description == "models"


def test_the_user_changelist_counts_each_users_assets(admin_user):
    maker = UserFactory(username="maker")
    MLModelFactory.create_batch(3, owner=maker)
    model_admin = admin.site._registry[User]
    row = model_admin.get_queryset(admin_request(admin_user)).get(pk=maker.pk)
    assert (model_admin.model_count(row), model_admin.dataset_count(row)) == (3, 0)


@pytest.mark.parametrize("model", [AuditEvent, AgentQuery, Commit])
def test_evidence_and_service_written_records_are_read_only_in_the_admin(model, admin_user):
    model_admin = admin.site._registry[model]
    request = admin_request(admin_user)
    assert isinstance(model_admin, ReadOnlyAdmin)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request) and not model_admin.has_delete_permission(request)


def test_no_admin_of_ours_defines_count_of_or_read_only_permissions_again():
    import inspect

    for model_admin in admin.site._registry.values():
        module = type(model_admin).__module__
        if module.split(".")[0] not in {"catalog", "accounts", "licensing", "agent", "insights"}:
            continue
        source = inspect.getsource(inspect.getmodule(model_admin))
        assert "def count_of" not in source and "Coalesce(Subquery" not in source, module
    assert issubclass(type(admin.site._registry[License]), CountColumnsMixin)
