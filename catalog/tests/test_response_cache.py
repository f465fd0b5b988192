"""The response cache of the hot GETs (catalog.response_cache): a hit answers the same bytes and headers as
a miss, after authentication, permissions and throttles; every kind of write, by any path, makes the next
GET fresh; nobody is served an answer computed for a scope that sees more.

The tests commit for real (``transactional_db``): a connection with uncommitted writes bypasses the cache,
so inside the usual test transaction nothing would be cached at all. On PostgreSQL with REDIS_URL the
cache is this worker's Redis keys (openmodelhub.tests.parallel); elsewhere the local-memory cache, forced
on (one process)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as sharing
from accounts.models import User
from catalog import files, response_cache, services
from catalog.models import MLModel
from catalog.tests.factories import LicenseFactory, MLModelFactory
from openmodelhub.testing import api
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db(transaction=True)

LIST, DETAIL = "/api/v1/models/", "/api/v1/models/owner/m/"


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.RESPONSE_CACHE = True


@pytest.fixture
def model(owner):
    return MLModelFactory(owner=owner, name="m", architecture_name="first")


def uncached(client, url, **extra):
    """What the view answers without the cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(response_cache, "enabled", lambda: False)
        return client.get(url, **extra)


def served(client, url, **extra):
    """GET ``url`` twice: the second answer comes from the cache and is the first's, bytes and headers."""
    miss = client.get(url, **extra)
    assert miss.status_code == 200, miss.content
    hit = client.get(url, **extra)
    assert (hit.status_code, hit.content) == (200, miss.content)
    assert hit.headers == miss.headers
    return miss


def assert_fresh(client, url):
    """The next GET of ``url`` answers what the database now holds."""
    now = client.get(url)
    expected = uncached(client, url)
    assert (now.status_code, now.content) == (expected.status_code, expected.content)
    return now


def test_a_hit_answers_the_same_bytes_and_headers_without_touching_the_database(model, django_assert_num_queries):
    client = api()
    for url in (LIST, f"{LIST}?search=m&limit=1", DETAIL, f"/api/v1/models/{model.pk}/", "/api/v1/models/facets"):
        served(client, url)
        with django_assert_num_queries(0):
            client.get(url)
    with django_assert_num_queries(0):  # HEAD shares GET's entry (the server drops the body)
        head = client.head(DETAIL)
    assert head.status_code == 200 and head["Content-Type"] == "application/json"
    page = client.get(f"{LIST}?limit=1")
    assert "Link" in page.headers and "Link" in client.get(f"{LIST}?limit=1").headers


def test_the_hub_protocol_info_and_list_are_cached_alike(model, django_assert_num_queries):
    client = api()
    for url in ("/hf/api/models/owner/m", "/hf/api/models?limit=5"):
        served(client, url)
        with django_assert_num_queries(0):
            client.get(url)
    MLModel.objects.filter(pk=model.pk).update(architecture_name="changed")
    assert_fresh(client, "/hf/api/models/owner/m")


def test_parameter_order_shares_an_entry_and_values_keep_theirs(model, django_assert_num_queries):
    client = api()
    served(client, f"{LIST}?limit=5&sort=name")
    with django_assert_num_queries(0):
        assert client.get(f"{LIST}?sort=name&limit=5").status_code == 200


def test_browsable_api_html_is_never_cached(model):
    client = api()
    html = client.get(DETAIL, HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(DETAIL, HTTP_ACCEPT="text/html")["Content-Type"].startswith("text/html")
    assert len(queries) > 0  # computed again
    json_answer = client.get(DETAIL)  # the JSON of the same URL is its own entry
    assert json_answer["Content-Type"] == "application/json"
    indented = served(client, DETAIL, HTTP_ACCEPT="application/json; indent=2")
    assert indented.content != json_answer.content and b"\n" in indented.content
    with CaptureQueriesContext(connection) as queries:  # a parameter that changes nothing: the same entry
        assert client.get(DETAIL, HTTP_ACCEPT="application/json; q=0.9; x=1").content == json_answer.content
    assert len(queries) == 0


# --- every kind of write makes the next GET fresh -------------------------------------------------------


def warm(client, *urls):
    for url in urls:
        served(client, url)


def test_an_edit_through_the_api(owner, model):
    client = api(owner)
    warm(client, LIST, DETAIL)
    assert client.patch(DETAIL, {"architecture_name": "second"}, format="json").status_code == 200
    assert assert_fresh(client, DETAIL).json()["architecture_name"] == "second"
    assert assert_fresh(client, LIST).json()["results"][0]["architecture_name"] == "second"


def test_a_file_upload_and_the_celery_task_processing_it(owner, model):
    from catalog.tasks import process_file_version

    client = api(owner)
    warm(client, DETAIL)
    version = files.upload_file(user=owner, asset=model, path="config.json", content=io.BytesIO(b"{}"))
    assert_fresh(client, DETAIL)
    version.refresh_from_db()
    if version.status != "ready":  # queued for a worker (Redis; eager Celery processed it already)
        warm(client, DETAIL)
        before = response_cache.generation()
        process_file_version.apply(args=[version.pk]).get()  # the worker's code, run here: its writes bump alike
        assert response_cache.generation() > before
    assert [f["path"] for f in assert_fresh(client, DETAIL).json()["files"]] == ["config.json"]
    assert [f["path"] for f in assert_fresh(client, DETAIL).json()["files"]] == ["config.json"]


def test_a_lineage_edge(owner, model):
    base = MLModelFactory(owner=owner, name="base")
    client = api()
    warm(client, DETAIL)
    services.add_base_model(user=owner, model=model, base=base, relation="fine_tune")
    assert assert_fresh(client, DETAIL).json()["bases"]


def test_a_grant_its_revocation_and_its_expiry(owner, grantee):
    secret = MLModelFactory(owner=owner, name="secret", visibility="private")
    url, client = "/api/v1/models/owner/secret/", api(grantee)
    assert client.get(url).status_code == 404
    grant = sharing.grant_access(by=owner, asset=secret, permission="read", user=grantee)
    served(client, url)
    assert [r["name"] for r in assert_fresh(client, LIST).json()["results"]] == ["secret"]
    sharing.revoke_grant(by=owner, grant=grant)
    assert client.get(url).status_code == 404  # at once
    assert assert_fresh(client, LIST).json()["results"] == []
    sharing.grant_access(
        by=owner, asset=secret, permission="read", user=grantee, expires_at=timezone.now() + timedelta(seconds=2)
    )
    served(client, url)
    time.sleep(2.1)  # no write: the grant simply expires
    assert client.get(url).status_code == 404


def test_a_visibility_change_and_a_deletion(owner, model):
    anonymous, client = api(), api(owner)
    warm(anonymous, LIST, DETAIL)
    assert client.patch(DETAIL, {"visibility": "private"}, format="json").status_code == 200
    assert anonymous.get(DETAIL).status_code == 404
    assert assert_fresh(anonymous, LIST).json()["results"] == []
    warm(client, DETAIL)
    assert client.delete(DETAIL).status_code == 204
    assert client.get(DETAIL).status_code == 404


def test_a_licence_change_in_the_knowledge_base(owner):
    licence = LicenseFactory(key="acme-1.0", category="permissive")
    MLModelFactory(owner=owner, name="m", license=licence)
    client = api()
    assert served(client, DETAIL).json()["license_category"] == "permissive"
    licence.category = "copyleft"
    licence.save()
    assert assert_fresh(client, DETAIL).json()["license_category"] == "copyleft"
    before = response_cache.generation()
    from licensing.models import LicenseAlias

    LicenseAlias.objects.create(alias="acme licence", license=licence)
    assert response_cache.generation() > before


def test_a_username_change(owner, model):
    client = api()
    warm(client, LIST)
    User.objects.filter(pk=owner.pk).update(username="renamed")
    assert assert_fresh(client, LIST).json()["results"][0]["owner"] == "renamed"


def test_raw_sql_queryset_update_and_bulk_create(owner, model):
    client = api()
    warm(client, LIST, DETAIL)
    with connection.cursor() as cursor:
        cursor.execute(
            "/* a comment first */ UPDATE catalog_mlmodel SET architecture_name = %s WHERE id = %s", ["raw", model.pk]
        )
    assert assert_fresh(client, DETAIL).json()["architecture_name"] == "raw"
    MLModel.objects.filter(pk=model.pk).update(architecture_name="updated")
    assert assert_fresh(client, DETAIL).json()["architecture_name"] == "updated"
    warm(client, LIST)
    MLModel.objects.bulk_create([MLModel(owner=owner, name="bulk-created", parameter_count=1)])
    assert "bulk-created" in [r["name"] for r in assert_fresh(client, LIST).json()["results"]]


def test_the_bulk_endpoint(owner, model):
    client = api(owner)
    warm(client, LIST)
    answer = client.post("/api/v1/models/bulk", {"items": [{"name": "from-bulk"}]}, format="json")
    assert answer.status_code == 200, answer.content
    assert "from-bulk" in [r["name"] for r in assert_fresh(client, LIST).json()["results"]]


def test_a_celery_task_writing_results(owner, model):
    from licensing.models import ComplianceReport
    from licensing.tasks import recompute_compliance_task

    client = api()
    warm(client, DETAIL)
    before = response_cache.generation()
    recompute_compliance_task.apply(args=[[model.pk]]).get()  # the task's own code, in this process
    assert ComplianceReport.objects.filter(model=model).exists()
    assert response_cache.generation() > before
    assert_fresh(client, DETAIL)


def test_a_write_is_seen_only_once_it_commits(owner, model):
    client = api()
    warm(client, DETAIL)
    before = response_cache.generation()
    with transaction.atomic():
        MLModel.objects.filter(pk=model.pk).update(architecture_name="inside")
        assert response_cache.generation() == before  # another process still reads the committed row
        assert response_cache.pending(connection)
        # this connection sees its own write: it neither reads nor fills the cache meanwhile
        assert client.get(DETAIL).json()["architecture_name"] == "inside"
    assert response_cache.generation() > before
    assert served(client, DETAIL).json()["architecture_name"] == "inside"


def test_a_rolled_back_write_leaves_the_cache_in_use(owner, model, django_assert_num_queries):
    client = api()
    warm(client, DETAIL)
    with pytest.raises(RuntimeError), transaction.atomic():
        MLModel.objects.filter(pk=model.pk).update(architecture_name="never")
        raise RuntimeError
    assert not response_cache.pending(connection)
    with django_assert_num_queries(0):
        assert client.get(DETAIL).json()["architecture_name"] == "first"


# --- scopes -------------------------------------------------------------------------------------------


def test_a_stranger_never_gets_an_answer_cached_for_someone_who_sees_more(owner, grantee, stranger, admin_user):
    secret = MLModelFactory(owner=owner, name="secret", visibility="private")
    sharing.grant_access(by=owner, asset=secret, permission="read", user=grantee)
    url = "/api/v1/models/owner/secret/"
    for user in (owner, grantee, admin_user):
        served(api(user), url)
        served(api(user), LIST)
    assert api(stranger).get(url).status_code == 404
    assert api().get(url).status_code == 404
    assert api(stranger).get(LIST).json()["results"] == []
    assert api().get(LIST).json()["results"] == []


def test_admins_and_curators_share_their_scope(admin_user, curator, owner, model, django_assert_num_queries):
    served(api(admin_user), DETAIL)
    with django_assert_num_queries(0):  # forced authentication: the curator's answer is the admin's entry
        assert api(curator).get(DETAIL).status_code == 200


def test_throttles_count_hits(settings, monkeypatch, model):
    rates = {"anon": "3/minute", "user": "5/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)  # DRF copied them at import
    client = api()
    assert [client.get(DETAIL).status_code for _ in range(4)] == [200, 200, 200, 429]


# --- the write watcher ------------------------------------------------------------------------------


def project_tables():
    """Every table of the project's apps and of the contrib apps it installs (auto-created m2m included)."""
    return sorted({m._meta.db_table for m in apps.get_models(include_auto_created=True) if not m._meta.proxy})


def test_every_statement_writing_to_a_table_outside_the_allow_list_moves_the_generation():
    """Generic: a new model is covered without anyone remembering it."""
    qn = connection.ops.quote_name
    checked = 0
    for table in project_tables():
        model = next(m for m in apps.get_models(include_auto_created=True) if m._meta.db_table == table)
        column = qn(model._meta.pk.column)
        statements = [
            f"INSERT INTO {qn(table)} ({column}) SELECT {column} FROM {qn(table)} WHERE 1 = 0",
            f"UPDATE {qn(table)} SET {column} = {column} WHERE 1 = 0",
            f"DELETE FROM {qn(table)} WHERE 1 = 0",
        ]
        for sql in statements:
            before = response_cache.generation()
            with connection.cursor() as cursor:
                cursor.execute(sql)
            moved = response_cache.generation() > before
            assert moved == (table not in response_cache.UNCACHED_TABLES), sql
            checked += 1
    assert checked >= 3 * 50


@pytest.mark.parametrize(
    "sql,writes",
    [
        ("SELECT 1", False),
        ("  select * from catalog_mlmodel for update", False),
        ("SAVEPOINT s1", False),
        ("RELEASE SAVEPOINT s1", False),
        ("WITH x AS (SELECT 1) SELECT * FROM x", False),
        ("WITH x AS (DELETE FROM catalog_like RETURNING id) SELECT * FROM x", True),
        ('INSERT INTO "django_session" ("session_key") VALUES (%s)', False),
        ('UPDATE "django_session" SET "expire_date" = %s', False),
        ('DELETE FROM "django_session" WHERE 1 = 1', False),
        ('INSERT INTO "catalog_mlmodel" ("name") VALUES (%s)', True),
        ('INSERT OR REPLACE INTO "catalog_task" ("slug") VALUES (?)', True),
        ("REPLACE INTO catalog_task (slug) VALUES (?)", True),
        ('INSERT INTO "public"."django_session" ("session_key") VALUES (%s)', False),
        ('INSERT INTO "django_session_copy" ("session_key") VALUES (%s)', True),
        ("TRUNCATE django_session", True),
        ("COPY catalog_task (slug) FROM STDIN", True),
        ("COPY (SELECT 1) TO STDOUT", False),
        ("EXPLAIN SELECT 1", False),
        ("EXPLAIN ANALYZE UPDATE catalog_mlmodel SET name = name", True),
        ("CREATE TABLE t (id int)", True),
        ("MERGE INTO catalog_task USING x ON true WHEN MATCHED THEN DELETE", True),
        ("-- only a comment\nDELETE FROM catalog_like", True),
        ("something unknown", True),
        ("SELECT 1;", False),
        ('SELECT 1; DELETE FROM "catalog_like"', True),
        ('UPDATE "accounts_apitoken" SET "last_used_at" = %s WHERE "id" = %s', False),
    ],
)
def test_the_statement_classifier(sql, writes):
    assert response_cache.writes(sql) is writes


def test_prepared_statements_are_classified_by_their_body():
    prepared: dict[str, bool] = {}
    assert not response_cache.writes("PREPARE reader (bigint) AS SELECT $1", prepared)
    assert not response_cache.writes("PREPARE writer AS DELETE FROM catalog_like", prepared)
    assert not response_cache.writes("EXECUTE reader(1)", prepared)
    assert response_cache.writes("EXECUTE writer", prepared)
    assert response_cache.writes("EXECUTE never_prepared", prepared)
    # a statement's verdict is remembered by its text, an EXECUTE's never (it depends on what was prepared)
    prepared["writer"] = False
    assert not response_cache.writes("EXECUTE writer", prepared)
    before = response_cache._verdict.cache_info().hits
    assert response_cache.writes("DELETE FROM catalog_like WHERE id = %s") and response_cache.writes(
        "DELETE FROM catalog_like WHERE id = %s"
    )
    assert response_cache._verdict.cache_info().hits > before


def test_copy_from_moves_the_generation():
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    before = response_cache.generation()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy("COPY catalog_task (slug, name, modality) FROM STDIN") as copy,
    ):
        copy.write_row(("copied-task", "Copied", "text"))
    assert response_cache.generation() > before


def test_a_lost_generation_comes_back_above_every_stored_one(model):
    client = api()
    warm(client, DETAIL)
    stored = response_cache.generation()
    cache.delete(response_cache.GENERATION_KEY)  # evicted, or Redis restarted
    assert response_cache.generation() > stored
    MLModel.objects.filter(pk=model.pk).update(architecture_name="after the loss")
    assert assert_fresh(client, DETAIL).json()["architecture_name"] == "after the loss"


def test_the_cache_is_off_on_a_per_process_cache_unless_forced(tmp_path):
    code = "from django.conf import settings; print(settings.RESPONSE_CACHE)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "openmodelhub.settings", "OMH_VAR_DIR": str(tmp_path)}
    env.pop("OMH_RESPONSE_CACHE", None)

    def setting(**extra) -> str:
        run = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            env={**env, **extra}, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return run.stdout.strip()

    assert setting(REDIS_URL="") == "False"
    assert setting(REDIS_URL="", OMH_RESPONSE_CACHE="1") == "True"
    assert setting(REDIS_URL="redis://127.0.0.1:6379/15") == "True"
    assert setting(REDIS_URL="redis://127.0.0.1:6379/15", OMH_RESPONSE_CACHE="0") == "False"


def test_cursor_pages_are_cached_and_follow_writes(owner):
    for n in range(3):
        MLModelFactory(owner=owner, name=f"m{n}")
    client = api()
    first = served(client, f"{LIST}?limit=1&sort=name").json()
    second_url = first["next"].replace("http://testserver", "")
    served(client, second_url)
    MLModel.objects.filter(name="m1").update(name="m1-renamed")
    assert assert_fresh(client, second_url).json()["results"][0]["name"] == "m1-renamed"


def test_an_update_matching_nothing_still_counts_as_a_write(model):
    before = response_cache.generation()
    MLModel.objects.filter(pk=-1).update(architecture_name=F("architecture_name"))
    assert response_cache.generation() > before
