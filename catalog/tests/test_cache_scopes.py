"""Cached insights and facet counts stop naming an asset in the request after it is hidden from the
viewer (catalog.cache_scopes), on the local-memory cache and on Redis."""

import os
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as sharing
from accounts.models import Grant
from catalog import cache_scopes, services
from catalog.tests.factories import MLModelFactory
from openmodelhub.tests.parallel import redis_cache

pytestmark = pytest.mark.django_db
TOP_MODELS = "/api/v1/insights/most_downloaded_models"
FACETS = "/api/v1/models/facets"
REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.fixture(params=["locmem", "redis"], autouse=True)
def backend(request, settings):
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip("REDIS_URL is not set")
        settings.CACHES = {"default": redis_cache(REDIS_URL)}  # this test process's keys (openmodelhub.tests.parallel)
    else:
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cache-scopes-tests"}
        }
    cache.clear()
    yield request.param
    cache.clear()


@pytest.fixture
def popular(owner):
    return MLModelFactory(owner=owner, name="popular", downloads=500, architecture_family="cnn")


def as_user(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def names(client) -> set[str]:
    response = client.get(TOP_MODELS)
    assert response.status_code == 200, response.content
    return {row["model"] for row in response.json()["rows"]}


def cnn_count(client) -> int:
    response = client.get(FACETS)
    assert response.status_code == 200, response.content
    return {v["value"]: v["count"] for v in response.json()["facets"]["architecture"]}.get("cnn", 0)


def test_a_model_made_private_leaves_the_public_insights_and_facets_in_the_next_request(
    popular, owner, stranger, django_capture_on_commit_callbacks
):
    anonymous, other = as_user(), as_user(stranger)
    assert "owner/popular" in names(anonymous) and "owner/popular" in names(other)
    assert cnn_count(anonymous) == cnn_count(other) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.save_model(user=owner, data={"visibility": "private"}, model=popular)
    assert "owner/popular" not in names(anonymous) and "owner/popular" not in names(other)
    assert cnn_count(anonymous) == cnn_count(other) == 0
    assert "owner/popular" in names(as_user(owner)) and cnn_count(as_user(owner)) == 1


def test_a_deleted_model_leaves_the_cached_insights_and_facets(popular, owner, django_capture_on_commit_callbacks):
    anonymous = as_user()
    assert "owner/popular" in names(anonymous) and cnn_count(anonymous) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_asset(user=owner, asset=popular)
    assert "owner/popular" not in names(anonymous) and cnn_count(anonymous) == 0


def test_the_generation_moves_only_once_the_change_is_committed(popular, owner, django_capture_on_commit_callbacks):
    before = cache_scopes.generation()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.save_model(user=owner, data={"visibility": "private"}, model=popular)
        assert cache_scopes.generation() == before  # a request now still reads the committed rows
    for callback in callbacks:
        callback()
    assert cache_scopes.generation() > before


@pytest.fixture
def shared(owner, grantee):
    model = MLModelFactory(owner=owner, name="shared", visibility="private", downloads=900, architecture_family="cnn")
    grant = sharing.grant_access(by=owner, asset=model, permission="read", user=grantee)
    return model, grant


def test_a_revoked_grant_hides_the_model_from_the_grantees_insights_and_facets(shared, owner, grantee):
    client = as_user(grantee)
    assert "owner/shared" in names(client) and cnn_count(client) == 1
    sharing.revoke_grant(by=owner, grant=shared[1])
    assert "owner/shared" not in names(client) and cnn_count(client) == 0


def test_an_expired_grant_hides_the_model_though_nothing_happened(shared, grantee):
    client = as_user(grantee)
    assert "owner/shared" in names(client) and cnn_count(client) == 1
    Grant.objects.filter(pk=shared[1].pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "owner/shared" not in names(client) and cnn_count(client) == 0


def test_an_affiliation_grant_ends_for_a_member_who_leaves(owner, member, affiliation):
    model = MLModelFactory(owner=owner, name="team", visibility="private", downloads=900)
    sharing.grant_access(by=owner, asset=model, permission="read", affiliation=affiliation)
    client = as_user(member)
    assert "owner/team" in names(client)
    member.affiliations.remove(affiliation)
    assert "owner/team" not in names(client)


def test_a_lost_generation_counter_never_brings_back_older_entries(popular):
    first = cache_scopes.generation()
    cache_scopes.bump_generation(on_commit=False)
    cache.delete(cache_scopes.GENERATION_KEY)  # evicted, or the cache restarted
    assert cache_scopes.generation() > first + 1


def test_a_visibility_change_in_the_admin_retires_the_cached_scopes(
    popular, admin_user, rf, django_capture_on_commit_callbacks
):
    from django.contrib import admin

    from catalog.models import MLModel

    anonymous = as_user()
    assert "owner/popular" in names(anonymous)
    model_admin = admin.site._registry[MLModel]
    request = rf.post("/admin/catalog/mlmodel/")
    request.user = admin_user
    popular.visibility = "private"
    with django_capture_on_commit_callbacks(execute=True):
        model_admin.save_model(request, popular, model_admin.get_form(request, popular)(instance=popular), True)
    assert "owner/popular" not in names(anonymous)


# --- bulk loads ---------------------------------------------------------------------------------


def records_with(*names: str) -> dict:
    return {
        "format": "openmodelhub/records-v1",
        "users": [{"username": "loader"}],
        "models": [
            {"owner": "loader", "name": name, "downloads": 900, "architecture": {"family": "cnn"}} for name in names
        ],
    }


def test_models_loaded_from_records_show_in_cached_insights_and_facets_in_the_next_request(
    popular, django_capture_on_commit_callbacks
):
    from catalog.records import load_records

    anonymous = as_user()
    assert names(anonymous) == {"owner/popular"} and cnn_count(anonymous) == 1
    with django_capture_on_commit_callbacks(execute=True):
        report = load_records(records_with("loaded"))
    assert report.changed
    assert names(anonymous) == {"owner/popular", "loader/loaded"} and cnn_count(anonymous) == 2


def test_loading_the_same_records_again_keeps_the_cached_scopes(django_capture_on_commit_callbacks):
    from catalog.records import load_records

    with django_capture_on_commit_callbacks(execute=True):
        load_records(records_with("loaded"))
    before = cache_scopes.generation()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = load_records(records_with("loaded"))
    assert not report.changed and not callbacks and cache_scopes.generation() == before
    with django_capture_on_commit_callbacks(execute=True):
        assert load_records(records_with("loaded", "new"), dry_run=True).changed  # would change, but a dry run ...
    assert cache_scopes.generation() == before  # ... so it retires nothing


def test_a_generated_catalogue_shows_in_cached_facets_in_the_next_request(popular, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    anonymous = as_user()
    assert anonymous.get(FACETS).json()["total"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        call_command("generate_catalog", models=30, datasets=0, seed=3, batch=50, stdout=open(os.devnull, "w"))
    assert anonymous.get(FACETS).json()["total"] > 1
