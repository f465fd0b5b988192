import io

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory, TestCase
from django.urls import reverse

from catalog.models import Dataset, EvaluationResult, MLModel, ModelLineage, RNNDetails
from catalog.records import load_records
from accounts import services
from catalog import files
from catalog.tests.factories import MLModelFactory, UserFactory
from catalog.tests.test_load_records import V1

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(admin_user, file_store, eager_celery):
    load_records(V1)
    RNNDetails.objects.create(model=MLModelFactory(architecture_family="rnn"), criterion="mse", batch_size=8)
    Group.objects.create(name="reviewers")
    model = MLModel.objects.get(name="tiny")
    grantee = UserFactory(username="grantee")
    services.grant_access(by=admin_user, asset=model, permission="read", user=grantee)  # audited too
    services.invite(by=admin_user, asset=model, permission="read", email="someone@example.org")
    services.create_api_token(user=grantee, name="ci", scope="read")
    with TestCase.captureOnCommitCallbacks(execute=True):
        files.upload_file(user=admin_user, asset=model, path="config.json", content=io.BytesIO(b"{}"))
    apps.get_model("agent", "AgentQuery").objects.create(user=grantee, question="How many models?")
    EvaluationResult.objects.create(model=model, dataset=Dataset.objects.get(name="shop"), metric="f1", value=0.9)


def admin_urls() -> list[tuple[str, str]]:
    urls = []
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(("changelist", f"{prefix}_changelist"))
        urls.append(("add", f"{prefix}_add"))
        urls.append(("change", f"{prefix}_change"))
    return urls


def resolve(kind: str, name: str) -> str:
    if kind != "change":
        return reverse(name)
    model = next(m for m in admin.site._registry if name == f"admin:{m._meta.app_label}_{m._meta.model_name}_change")
    obj = model.objects.order_by("pk").first()
    assert obj is not None, f"the test catalogue has no {model._meta.label} to open"
    return reverse(name, args=[obj.pk])


def read_only(name: str, user) -> bool:
    model = next(
        m for m in admin.site._registry if name.rsplit("_", 1)[0] == f"admin:{m._meta.app_label}_{m._meta.model_name}"
    )
    request = RequestFactory().get("/")
    request.user = user
    return not admin.site._registry[model].has_add_permission(request)


def test_every_admin_page_opens_for_an_admin(client, admin_user, catalogue):
    """Changelist, add and change page of every registered model (one catalogue for all: fast)."""
    client.force_login(admin_user)
    failures = []
    for kind, name in admin_urls():
        status = client.get(resolve(kind, name)).status_code
        expected = 403 if kind == "add" and read_only(name, admin_user) else 200  # append-only records
        if status != expected:
            failures.append(f"{name}: {status}, expected {expected}")
    assert failures == []


def test_every_admin_page_sends_anonymous_visitors_to_log_in(client, catalogue):
    failures = []
    for kind, name in admin_urls():
        response = client.get(resolve(kind, name))
        if response.status_code != 302 or "/admin/login/" not in response["Location"]:
            failures.append(f"{name}: {response.status_code}")
    assert failures == []


def test_admin_search_and_filters_answer(client, admin_user, catalogue):
    client.force_login(admin_user)
    url = reverse("admin:catalog_mlmodel_changelist")
    response = client.get(url, {"q": "tiny", "architecture_family__exact": "cnn"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [MLModel.objects.get(name="tiny")]


def form_data(response) -> dict:
    """The POST a browser would send for the admin change form as rendered (main form and inlines)."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()})
        forms.extend(formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None:
                continue
            data[form.add_prefix(name)] = [getattr(v, "pk", v) for v in value] if isinstance(value, list) else value
    return data


def test_the_admin_refuses_a_lineage_cycle_entered_in_the_inline(client, admin_user, catalogue):
    """tiny-ft derives from tiny; making tiny derive from tiny-ft must be refused with a message."""
    client.force_login(admin_user)
    tiny, tiny_ft = MLModel.objects.get(name="tiny"), MLModel.objects.get(name="tiny-ft")
    url = reverse("admin:catalog_mlmodel_change", args=[tiny.pk])
    data = form_data(client.get(url))
    n = int(data["base_edges-TOTAL_FORMS"])
    data.update(
        {
            "base_edges-TOTAL_FORMS": n + 1,
            f"base_edges-{n}-model": tiny.pk,
            f"base_edges-{n}-base": tiny_ft.pk,
            f"base_edges-{n}-relation": "merge",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200, "the form should be shown again with the error"
    assert "would form a cycle" in response.content.decode()
    assert not ModelLineage.objects.filter(model=tiny, base=tiny_ft).exists()


def test_the_admin_saves_a_valid_base_model_from_the_inline(client, admin_user, catalogue):
    client.force_login(admin_user)
    tiny, other = MLModel.objects.get(name="tiny"), MLModelFactory()
    url = reverse("admin:catalog_mlmodel_change", args=[tiny.pk])
    data = form_data(client.get(url))
    n = int(data["base_edges-TOTAL_FORMS"])
    data.update(
        {
            "base_edges-TOTAL_FORMS": n + 1,
            f"base_edges-{n}-model": tiny.pk,
            f"base_edges-{n}-base": other.pk,
            f"base_edges-{n}-relation": "distillation",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert ModelLineage.objects.get(model=tiny).relation == "distillation"
