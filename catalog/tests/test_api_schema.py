"""The OpenAPI schema: it validates without a warning, documents the errors, and a schemathesis run over
it (in process, through the WSGI application, as the owner of a small catalogue) finds no 5xx."""

import pytest
import schemathesis
import yaml
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.throttling import SimpleRateThrottle

from accounts import services as sharing
from accounts.models import ApiToken
from catalog.models import ModelLineage, Task, TransformerDetails
from catalog.tests.factories import DatasetFactory, LicenseFactory, MLModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema_document(tmp_path) -> dict:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))  # raises on any warning
    return yaml.safe_load(target.read_text())


def test_the_schema_validates_without_warnings(schema_document):
    assert schema_document["openapi"].startswith("3.")
    assert schema_document["components"]["securitySchemes"]["tokenAuth"] == {
        **schema_document["components"]["securitySchemes"]["tokenAuth"],
        "type": "http",
        "scheme": "bearer",
    }


def test_every_operation_documents_its_errors_and_has_its_own_id(schema_document):
    ids = []
    for path, operations in schema_document["paths"].items():
        for method, operation in operations.items():
            ids.append(operation["operationId"])
            responses = operation["responses"]
            assert {"401", "403", "429"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
                assert responses["400"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ValidationError"
                }, (method, path)
    assert len(ids) == len(set(ids))
    assert {"models_retrieve", "models_by_id_retrieve", "datasets_score_create"} <= set(ids)


# --- schemathesis -------------------------------------------------------------------------------


@pytest.fixture
def catalogue(owner, stranger):
    license_ = LicenseFactory()
    task = Task.objects.get_or_create(slug="text-generation", defaults={"name": "Text generation"})[0]
    base = MLModelFactory(owner=owner, name="base", license=license_, architecture_family="transformer")
    TransformerDetails.objects.create(model=base, decoder_count=12)
    base.tasks.add(task)
    base.media.add("text")
    child = MLModelFactory(owner=owner, name="child", visibility="private")
    ModelLineage.objects.create(model=child, base=base, relation="fine_tune")
    dataset = DatasetFactory(owner=owner, name="corpus", anonymization_applied=True, year=2021)
    sharing.grant_access(by=owner, asset=dataset, permission="read", user=stranger)
    DatasetFactory(owner=stranger, name="theirs", visibility="private")


@pytest.fixture
def api_schema(catalogue, file_store, eager_celery, settings, monkeypatch):
    settings.AGENT_API_WAIT_SECONDS = 0
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "100000/minute", "user": "100000/minute"})
    from openmodelhub.wsgi import application

    # Like Django's test client: requests must not close the test's connection (its transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    # Revoking the token that drives the run would only turn the rest into 401s.
    yield schema.exclude(method="DELETE", path_regex=r"^/api/v1/tokens/")
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def owner_token(owner) -> str:
    _, secret = sharing.create_api_token(user=owner, name="schemathesis", scope=ApiToken.Scope.WRITE)
    return secret


lazy_schema = schemathesis.pytest.from_fixture("api_schema")


@lazy_schema.parametrize()
@settings(max_examples=8, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case, owner_token):
    response = case.call(headers={"Authorization": f"Bearer {owner_token}"})
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])


def test_a_token_created_without_a_scope_gets_read_scope(owner):
    """Found by schemathesis: the scope has a default, the service wants it said."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(owner)
    response = client.post("/api/v1/tokens/", {"name": "ci"}, format="multipart")
    assert response.status_code == 201 and response.json()["scope"] == "read"
