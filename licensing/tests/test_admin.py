import pytest
from django.urls import reverse

from catalog.models import MLModel
from licensing.models import ComplianceReport
from licensing.tests.factories import derive, license_for, model

pytestmark = pytest.mark.django_db


@pytest.fixture
def lineage():
    root = model("root", "apache-2.0")
    leaf = model("leaf", "apache-2.0")
    derive(leaf, root)
    return root, leaf


def test_the_has_violations_filter_and_the_reanalyse_action(client, admin_user, lineage):
    root, leaf = lineage
    MLModel.objects.filter(pk=root.pk).update(license=license_for("gemma-tou-2024-04-01"))
    client.force_login(admin_user)
    changelist = reverse("admin:catalog_mlmodel_changelist")

    response = client.post(changelist, {"action": "reanalyse_license", "_selected_action": [root.pk]}, follow=True)

    assert response.status_code == 200
    assert ComplianceReport.objects.get(model=leaf).has_violations
    flagged = client.get(changelist, {"has_violations": "yes"})
    assert [m.name for m in flagged.context["cl"].result_list] == ["leaf"]
    clean = client.get(changelist, {"has_violations": "no"})
    assert [m.name for m in clean.context["cl"].result_list] == ["root"]


def test_changing_a_licence_in_the_admin_re_analyses_the_descendants(
    client, admin_user, lineage, eager_celery, django_capture_on_commit_callbacks
):
    root, leaf = lineage
    gemma = license_for("gemma-tou-2024-04-01")
    client.force_login(admin_user)
    url = reverse("admin:catalog_mlmodel_change", args=[root.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"license": gemma.pk, "license_declared": "gemma"})
    for prefix in ("transformer", "cnn", "rnn", "base_edges", "derivative_edges", "dataset_links"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    data.update({"derivative_edges-TOTAL_FORMS": 1, "derivative_edges-INITIAL_FORMS": 1})
    edge = leaf.base_edges.get()
    data.update(
        {
            "derivative_edges-0-id": edge.pk,
            "derivative_edges-0-base": root.pk,
            "derivative_edges-0-model": leaf.pk,
            "derivative_edges-0-relation": "fine_tune",
        }
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert ComplianceReport.objects.get(model=leaf).has_violations
