import pytest

from catalog.tests.factories import MLModelFactory
from insights import selectors
from insights.selectors import scope_of, statistic

pytestmark = pytest.mark.django_db


def family_counts(user):
    return {r["family"]: r["count"] for r in statistic("models_by_family", user)["rows"]}


def test_viewers_who_see_the_same_assets_share_a_scope(admin_user, curator, owner, stranger, anonymous):
    assert scope_of(admin_user) == scope_of(curator) == "all"
    assert scope_of(anonymous) == "public"
    assert scope_of(owner) == f"user-{owner.pk}" != scope_of(stranger)


def test_results_are_served_from_the_cache_until_it_is_invalidated(
    catalogue, admin_user, owner, django_assert_num_queries
):
    before = family_counts(admin_user)
    MLModelFactory(owner=owner, name="new", architecture_family="rnn")
    with django_assert_num_queries(0):
        assert family_counts(admin_user) == before
    selectors.invalidate()
    assert family_counts(admin_user)["rnn"] == 1


def test_each_scope_has_its_own_entry(catalogue, admin_user, anonymous, owner):
    assert family_counts(admin_user)["cnn"] == 2
    assert family_counts(anonymous)["cnn"] == 1  # not the admin's cached numbers
    assert family_counts(owner)["cnn"] == 2


def test_the_time_to_live_comes_from_the_setting(catalogue, admin_user, owner, settings):
    settings.INSIGHTS_CACHE_SECONDS = 0  # Django's cache stores nothing with a zero timeout
    before = family_counts(admin_user)
    MLModelFactory(owner=owner, name="new", architecture_family="rnn")
    assert family_counts(admin_user) == {**before, "rnn": 1}


def test_the_page_needs_one_cache_round_trip_when_warm(client, catalogue, admin_user, django_assert_max_num_queries):
    client.force_login(admin_user)
    client.get("/insights/")
    with django_assert_max_num_queries(3):  # session and user only: every statistic comes from the cache
        assert client.get("/insights/").status_code == 200


def test_warming_fills_the_shared_scopes_so_the_page_needs_no_statistics_query(
    client, catalogue, admin_user, anonymous, django_assert_max_num_queries
):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("warm_insights", stdout=out)
    assert "all:" in out.getvalue() and "public:" in out.getvalue()
    with django_assert_max_num_queries(0):
        assert family_counts(anonymous)["cnn"] == 1
        assert family_counts(admin_user)["cnn"] == 2


def test_the_warming_task_runs(catalogue, eager_celery):  # in process: CI has a broker but no worker
    from insights.tasks import warm_insights_cache

    assert set(warm_insights_cache.delay().get()) == {"all", "public"}
