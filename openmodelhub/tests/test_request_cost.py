"""What a request costs: the queries of every hot path pinned (a regression fails here), no database
write for an authenticated read (token or session), the orjson renderer's bytes equal DRF's, and the
embedded hub's eager tasks run without Celery's per-call machinery (issue 18)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer
from rest_framework.serializers import ModelSerializer
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import create_api_token
from catalog.api.serializers import DatasetListSerializer, MLModelListSerializer
from catalog.api.views import _dataset_list_queryset, _model_list_queryset
from catalog.models import MediaType, MLModel
from catalog.tests.factories import DatasetFactory, LicenseFactory, MLModelFactory, TaskFactory
from licensing.models import ComplianceReport
from openmodelhub.renderers import FastJSONRenderer

pytestmark = pytest.mark.django_db

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


@pytest.fixture
def catalogue(owner, stranger):
    """Twelve public models of two owners with tasks and a licence, and one private one."""
    licence, task = LicenseFactory(), TaskFactory()
    models = []
    for i in range(12):
        model = MLModelFactory(
            owner=owner if i % 2 else stranger, name=f"bert-{i}", visibility="public", license=licence
        )
        model.tasks.add(task)
        models.append(model)
    MLModelFactory(owner=owner, name="hidden", visibility="private")
    return models


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if WRITE.match(q["sql"])]


# --- no database write to authenticate ---------------------------------------------------------


def test_a_token_request_writes_its_last_use_at_most_once_per_period(owner, catalogue):
    token, secret = create_api_token(user=owner, name="t", scope="read")
    client = bearer(secret)
    with CaptureQueriesContext(connection) as first:
        assert client.get("/api/v1/models/").status_code == 200
    assert len(writes(first)) == 1  # last_used_at, the first time
    for url in ("/api/v1/models/", f"/api/v1/models/{catalogue[1].full_name}/", "/api/v1/me"):
        with CaptureQueriesContext(connection) as later:
            assert client.get(url).status_code == 200
        assert writes(later) == [], url
    # Once the period is over, one write again (the audit of token use stays meaningful).
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=long_ago)
    with CaptureQueriesContext(connection) as again:
        client.get("/api/v1/me")
    assert len(writes(again)) == 1
    token.refresh_from_db()
    assert token.last_used_at.year > 2020


def test_a_signed_in_page_or_api_read_writes_nothing(owner, catalogue):
    client = Client()
    client.force_login(owner)
    client.get("/models/")  # the session is read from the database once, then from the cache
    for url in ("/models/", f"/models/{catalogue[1].full_name}/", "/api/v1/models/", "/api/v1/models/facets"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        assert writes(queries) == [], url


# --- query counts on the hot paths -------------------------------------------------------------


HOT_PATHS = {
    # name: (url, queries for anonymous, queries with a token: its lookup, own and granted models in visible_to).
    # Pages authenticate by session only, so a token changes nothing there; facet counts are cached.
    # A list: the page, then its rows' media and tasks in one statement (catalog.api.serializers.ListRows).
    "api first page": ("/api/v1/models/", 2, 3),
    "api three facets": ("/api/v1/models/?task={task}&license_category=permissive&architecture=other", 3, 4),
    "api search": ("/api/v1/models/?search=bert", 6, 7),  # the id tiers in one statement (catalog.search)
    # The model with its owner, licence, architecture and head of main; media, tasks and authors; the
    # visible lineage; the visible dataset links (catalog.api.detail; + the files when it has a commit).
    "api detail": ("/api/v1/models/{name}/", 4, 5),
    "api facets": ("/api/v1/models/facets", 0, 2),
    # The count and the page with its tasks; the facet sidebar comes from the API's cached counts.
    "page list": ("/models/", 3, 3),
    # The model page: its evaluation results are one query; the suited datasets are a section of their own.
    "page model": ("/models/{name}/", 10, 10),
    "hf model info": ("/hf/api/models/{name}", 5, 6),
}


# The search path differs by engine (PostgreSQL full text, SQLite's own): catalog/search.py.
# (path, engine): counts where the engines differ (PostgreSQL reads the full-text head and the candidates'
# visibility in one statement)
ON_ENGINE: dict[tuple[str, str], tuple[int, int]] = {("api search", "postgresql"): (4, 5)}


def _url(template: str, catalogue) -> str:
    return template.format(name=catalogue[1].full_name, task=catalogue[1].tasks.first().slug)


@pytest.mark.parametrize("path", HOT_PATHS)
def test_hot_path_query_counts(path, owner, catalogue):
    url = _url(HOT_PATHS[path][0], catalogue)
    _, secret = create_api_token(user=owner, name="t", scope="read")
    counts = []
    for client in (Client(), bearer(secret)):
        client.get(url)  # warm: caches, the token's first use
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        counts.append(len(queries))
    expected = ON_ENGINE.get((path, connection.vendor), HOT_PATHS[path][1:])
    assert counts == list(expected), [q["sql"][:120] for q in queries]


def test_an_anonymous_api_read_fills_one_throttle_bucket(catalogue, settings):
    """The address's anonymous bucket only: the signed-in users' one would cost two more round trips."""
    cache.clear()
    assert Client(REMOTE_ADDR="203.0.113.5").get("/api/v1/models/").status_code == 200
    assert cache.get("throttle_anon_203.0.113.5") is not None
    assert cache.get("throttle_user_203.0.113.5") is None


# --- lean list rows ----------------------------------------------------------------------------


LISTS = {"models": (MLModelListSerializer, MLModelFactory, _model_list_queryset),
         "datasets": (DatasetListSerializer, DatasetFactory, _dataset_list_queryset)}  # fmt: skip


@pytest.mark.parametrize("kind", LISTS)
def test_lean_list_rows_are_what_drf_would_write(kind, owner, stranger, curator):
    """The lean rows (catalog.api.serializers.ListRowSerializer) against DRF's generic to_representation,
    on rows with and without licence, relations and dates, read as the list endpoint reads them."""
    serializer, factory, queryset = LISTS[kind]
    factory(owner=owner, name="bare", visibility="private", license=None)
    full = factory(owner=stranger, name="full", license=LicenseFactory(category="copyleft"))
    full.tasks.add(TaskFactory(), TaskFactory())
    full.media.set(MediaType.objects.order_by("slug")[:2])
    rows = list(queryset(curator).order_by("name"))  # a curator sees the private one too
    generic = type("Generic", (serializer,), {"to_representation": ModelSerializer.to_representation})
    with CaptureQueriesContext(connection) as statements:
        lean = serializer(rows, many=True).data
    # one statement for the whole page's many relations (models: media, tasks; datasets: and domains); a column
    # the row shows but the list queryset left out (``only``) would be a statement per row
    assert len(statements) == 1, [q["sql"][:80] for q in statements.captured_queries]
    assert FastJSONRenderer().render(lean) == FastJSONRenderer().render(generic(rows, many=True).data)
    assert [row["name"] for row in lean] == ["bare", "full"] and len(lean[1]["tasks"]) == 2
    assert lean[0]["license"] is None and lean[1]["license_category"] == "copyleft"
    assert len(lean[1]["media"]) == 2 and lean[1]["created_at"].endswith("Z")


# --- the renderer ------------------------------------------------------------------------------


def test_fast_renderer_writes_the_bytes_drf_writes():
    data = {
        "name": 'modèle \u2028 \u2029 "q" </script>',
        "when": dt.datetime(2026, 12, 5, 19, 0, 1, 123456, tzinfo=dt.UTC),
        "day": dt.date(2026, 12, 5),
        "n": [1, 2.5, None, True],
        "nested": {"a": {"b": []}},
    }
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)
    assert FastJSONRenderer().render(None) == b""
    indented = FastJSONRenderer().render(data, "application/json; indent=2", {})
    assert indented == JSONRenderer().render(data, "application/json; indent=2", {})


# --- eager tasks -------------------------------------------------------------------------------


def test_embedded_create_analyses_compliance_in_the_request(owner, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    client = APIClient()
    client.force_authenticate(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/models/", {"name": "fresh", "license_declared": "mit"}, format="json")
    assert response.status_code == 201, response.content
    model = MLModel.objects.get(pk=response.json()["id"])
    assert ComplianceReport.objects.filter(model=model).exists()


# --- the write path ----------------------------------------------------------------------------


def test_an_api_create_runs_a_pinned_number_of_statements(owner):
    """10: the token and task lookups, the transaction, the INSERT (a name clash is the database's), one
    INSERT per link table, the audit event (head read, event, head moved). Media are the migration's rows and
    the licence comes from the per-process knowledge base (licensing.services.known_aliases): no query for
    either. No per-constraint validation query and no read-back for the response (45, then 15, before)."""
    licence, task = LicenseFactory(key="mit", spdx_id="MIT"), TaskFactory()
    _, secret = create_api_token(user=owner, name="t", scope="write")
    client = bearer(secret)
    body = {"name": "fresh", "license_declared": "mit", "tasks": [task.slug], "media": ["text"]}
    client.post("/api/v1/models/", {**body, "name": "warm"}, format="json")
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/models/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["tasks"] == [task.slug] and response.json()["license"] == licence.key
    assert len(queries) == 10, "\n".join(q["sql"][:90] for q in queries)
    clash = client.post("/api/v1/models/", body, format="json")
    assert clash.status_code == 400 and clash.json()["name"] == ["A model named owner/fresh already exists."]


@pytest.mark.parametrize("kind, expected", [("models", 13), ("datasets", 12)])
def test_a_bulk_write_runs_the_same_statements_whatever_its_size(owner, kind, expected):
    """Not one per item: the token, the tasks looked up at once, the rows already there (read twice: the
    permission check's and the writer's), the transaction, one INSERT per table (SQLite splits an INSERT
    past 999 parameters: 20 datasets of ~45 columns fit one), the audit event (catalog.bulk). The first
    write of a process also reads the licence knowledge base (two queries, then kept)."""
    TaskFactory(slug="t")
    _, secret = create_api_token(user=owner, name="t", scope="write")
    client = bearer(secret)
    client.get("/api/v1/me")  # the token's first use writes its last use
    client.post(f"/api/v1/{kind}/bulk", {"items": [{"name": "warm"}]}, format="json")  # the knowledge base
    extra = {"architecture": {"family": "transformer", "decoder_count": 2}} if kind == "models" else {}
    counts = []
    for size in (2, 20):
        items = [{"name": f"{kind}-{size}-{i}", "tasks": ["t"], "media": ["text"], "license": None, **extra}
                 for i in range(size)]  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            response = client.post(f"/api/v1/{kind}/bulk", {"items": items}, format="json")
        assert response.status_code == 200, response.content
        counts.append(len(queries))
    assert counts == [expected, expected], "\n".join(q["sql"][:90] for q in queries)


def test_a_create_answers_what_a_read_of_the_model_answers(owner, grantee):
    """The create's representation is written by one serializer instance per thread (fields built once):
    successive creates of every shape answer exactly what a read of each model answers."""
    licence, task = LicenseFactory(key="mit", spdx_id="MIT"), TaskFactory()
    _, secret = create_api_token(user=owner, name="t", scope="write")
    client = bearer(secret)
    bodies = [
        {"name": "plain"},
        {"name": "cnn", "license": licence.key, "tasks": [task.slug], "media": ["image", "text"],
         "authors": [grantee.username, owner.username], "parameter_count": 7, "release_date": "2024-02-03",
         "architecture": {"family": "cnn", "module_count": 2, "modules": [
             {"conv_size": 3, "pooling_type": "max"}, {"conv_size": 5, "pooling_type": "avg"}]}},
        {"name": "transformer", "license_declared": "MIT", "visibility": "private", "card": "# hi\n",
         "architecture": {"family": "transformer", "decoder_count": 12}, "training_type": "finetune"},
        {"name": "rnn", "architecture": {"family": "rnn", "criterion": "mse", "batch_size": 4}},
    ]  # fmt: skip
    for body in bodies:
        created = client.post("/api/v1/models/", body, format="json")
        assert created.status_code == 201, created.content
        read = client.get(f"/api/v1/models/{owner.username}/{body['name']}/")
        assert created.json() == read.json(), body["name"]


@pytest.mark.parametrize("body", [None, [], {"name": ""}, {"name": "x", "media": ["nope"]}, {"architecture": 3}])
def test_a_create_with_invalid_input_answers_drfs_own_errors(owner, body):
    from catalog.api.serializers import ModelCreateSerializer
    from openmodelhub.api import validation_body

    _, secret = create_api_token(user=owner, name="t", scope="write")
    client = bearer(secret)
    client.post("/api/v1/models/", {"name": "warm"}, format="json")  # the per-thread serializer exists
    response = client.post("/api/v1/models/", json.dumps(body), content_type="application/json")
    expected = ModelCreateSerializer(data=body)
    assert not expected.is_valid()
    assert response.status_code == 400 and response.json() == json.loads(json.dumps(validation_body(expected.errors)))
    assert MLModel.objects.filter(owner=owner).count() == 1
