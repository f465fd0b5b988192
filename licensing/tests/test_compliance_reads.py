"""Reading a model's compliance only reads (issue 15, item 4): the stored analysis is shown as current,
stale or not yet there, and recomputation stays with the task queued by the writes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog import services as catalog_services
from licensing import selectors, services
from licensing.models import ComplianceReport
from licensing.tasks import recompute_compliance_task
from licensing.tests.factories import derive, license_for, model

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "TRUNCATE", "COPY")


def writes_in(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]


@pytest.fixture
def unanalysed(owner):
    gemma = model("gemma", "gemma-tou-2024-04-01", owner=owner)
    child = model("child", "apache-2.0", owner=owner)
    derive(child, gemma)
    return child


def test_reading_the_compliance_of_an_unanalysed_model_writes_nothing_by_the_api_or_the_page(
    unanalysed, stranger, client
):
    api = APIClient()
    api.force_authenticate(stranger)
    client.force_login(stranger)

    with CaptureQueriesContext(connection) as queries:
        data = api.get("/api/v1/models/owner/child/compliance", {"purpose": "commercial"}).json()
        page = client.get(unanalysed.get_absolute_url())

    assert writes_in(queries.captured_queries) == []
    assert not ComplianceReport.objects.exists()
    assert data["analysis"] == "not_analysed" and data["findings"] == [] and data["answer"] is None
    assert page.status_code == 200 and b"Not analysed yet" in page.content


def test_a_stored_analysis_is_read_as_current_without_writing(unanalysed, stranger):
    services.analyse_models(None)

    with CaptureQueriesContext(connection) as queries:
        data = selectors.model_compliance(unanalysed, stranger)

    assert writes_in(queries.captured_queries) == []
    assert data["analysis"] == "current"
    assert "relicensed-derivative" in {f["code"] for f in data["findings"]}


def test_a_model_whose_re_analysis_is_queued_reads_as_stale_until_the_task_has_run(unanalysed, stranger):
    services.analyse_models(None)
    services.mark_queued([unanalysed.pk])  # what a write's on-commit hook does before the task runs

    stale = selectors.model_compliance(unanalysed, stranger)
    assert stale["analysis"] == "stale" and "relicensed-derivative" in {f["code"] for f in stale["findings"]}

    recompute_compliance_task.apply(args=[[unanalysed.pk]])
    assert selectors.model_compliance(unanalysed, stranger)["analysis"] == "current"


def test_an_edit_that_queues_nothing_leaves_the_analysis_current(unanalysed, owner, stranger):
    services.analyse_models(None)
    catalog_services.save_model(user=owner, model=unanalysed, data={"card": "A new card."})

    assert selectors.model_compliance(unanalysed, stranger)["analysis"] == "current"


def test_a_licence_change_saved_through_the_service_re_analyses_on_commit(
    unanalysed, owner, stranger, eager_celery, django_capture_on_commit_callbacks
):
    services.analyse_models(None)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        catalog_services.save_model(
            user=owner,
            model=unanalysed,
            data={"license": license_for("gemma-tou-2024-04-01"), "license_declared": "gemma"},
        )

    data = selectors.model_compliance(unanalysed, stranger)
    assert queued and data["analysis"] == "current"
    assert "relicensed-derivative" not in {f["code"] for f in data["findings"]}
