import pytest
from django.urls import reverse

from insights import selectors

pytestmark = pytest.mark.django_db

INDEX = reverse("api:insights-index")


def stat_url(name):
    return reverse("api:insights-stat", args=[name])


def test_the_index_lists_the_statistics_the_caller_may_read(client, catalogue, admin_user):
    public = client.get(INDEX).json()
    names = [s["name"] for s in public["statistics"]]
    assert public["scope"] == "public" and "models_by_media" in names and "users_per_affiliation" not in names
    assert public["statistics"][0]["url"].endswith(stat_url("models_by_media"))
    client.force_login(admin_user)
    staff = client.get(INDEX).json()
    assert staff["scope"] == "all" and "users_per_affiliation" in [s["name"] for s in staff["statistics"]]
    assert staff["cache_seconds"] == selectors.cache_seconds()


def test_a_statistic_as_json_is_computed_over_what_the_caller_may_see(client, catalogue, owner, stranger):
    anonymous = client.get(stat_url("models_by_family")).json()
    assert anonymous["columns"] == ["family", "count", "share"] and anonymous["scope"] == "public"
    assert {r["family"]: r["count"] for r in anonymous["rows"]}["cnn"] == 1
    client.force_login(stranger)
    assert client.get(stat_url("models_by_family")).json()["rows"] == anonymous["rows"]
    client.force_login(owner)
    assert {r["family"]: r["count"] for r in client.get(stat_url("models_by_family")).json()["rows"]}["cnn"] == 2


def test_user_statistics_are_for_admins_and_curators(client, catalogue, owner, curator):
    url = stat_url("users_per_affiliation")
    assert client.get(url).status_code == 401
    client.force_login(owner)
    assert client.get(url).status_code == 403
    client.force_login(curator)
    assert client.get(url).status_code == 200


def test_an_unknown_statistic_is_404(client, db):
    response = client.get(stat_url("no_such_thing"))
    assert response.status_code == 404 and "no_such_thing" in response.json()["detail"]


def test_an_api_token_reads_the_statistics(client, catalogue, owner):
    from accounts.services import create_api_token

    _, secret = create_api_token(user=owner, name="t", scope="read")
    response = client.get(stat_url("models_by_media"), HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200 and response.json()["scope"] == f"user-{owner.pk}"


def test_the_licence_section_shows_the_licensing_apps_numbers_as_a_table(client, catalogue, admin_user):
    data = client.get(stat_url("licenses")).json()

    assert data["rows"] == [
        {"category": "permissive", "label": "Permissive", "models": 2, "datasets": 0},
        {"category": "copyleft", "label": "Copyleft", "models": 1, "datasets": 0},
        {"category": "none", "label": "No licence", "models": 1, "datasets": 2},
    ]
    assert {"label": "Share of assets without a licence", "key": "without_license_share", "value": 0.5} in data[
        "summary"
    ]
    assert data["data"]["models_with_violations"] == 0
    assert "licenses" in [s["name"] for s in client.get(INDEX).json()["statistics"]]
    client.force_login(admin_user)
    page = client.get("/insights/").content.decode()
    assert 'data-insights-stat="licenses"' in page and "62.5 %" in page


def test_the_licence_statistics_of_the_licensing_app_count_only_visible_models(
    client, catalogue, anonymous, admin_user
):
    public = {r["category"]: r["models"] for r in selectors.statistic("licenses", anonymous)["rows"]}
    everything = {r["category"]: r["models"] for r in selectors.statistic("licenses", admin_user)["rows"]}
    assert sum(public.values()) == 4 and sum(everything.values()) == 5
