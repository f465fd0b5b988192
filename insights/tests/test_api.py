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


def test_the_licence_section_appears_when_the_licensing_app_provides_it(client, catalogue, monkeypatch, admin_user):
    def license_statistics(user):
        return {"models": {"total": 5, "by_category": {"permissive": 2, "none": 2, "copyleft": 1}},
                "datasets": {"total": 3, "by_category": {"none": 3}},
                "without_license_share": 0.625, "models_with_violations": 1,
                "category_labels": {"permissive": "Permissive", "none": "No licence", "copyleft": "Copyleft"}}

    monkeypatch.setattr(selectors, "_license_statistics", lambda: license_statistics)
    data = client.get(stat_url("licenses")).json()
    assert data["available"] is True and data["data"]["models_with_violations"] == 1
    assert data["rows"] == [
        {"category": "none", "label": "No licence", "models": 2, "datasets": 3},
        {"category": "permissive", "label": "Permissive", "models": 2, "datasets": 0},
        {"category": "copyleft", "label": "Copyleft", "models": 1, "datasets": 0},
    ]
    assert {"label": "Models with licence violations", "key": "models_with_violations", "value": 1} in data["summary"]
    client.force_login(admin_user)
    page = client.get("/insights/").content.decode()
    assert 'data-insights-stat="licenses"' in page and "62.5 %" in page
    monkeypatch.setattr(selectors, "_license_statistics", lambda: None)
    selectors.invalidate()
    assert client.get(stat_url("licenses")).status_code == 404
    assert "licenses" not in [s["name"] for s in client.get(INDEX).json()["statistics"]]
    assert 'data-insights-stat="licenses"' not in client.get("/insights/").content.decode()


def test_the_licence_statistics_of_the_licensing_app_count_only_visible_models(client, catalogue, anonymous,
                                                                               admin_user):
    if selectors._license_statistics() is None:
        pytest.skip("licensing.selectors.license_statistics is not there yet")
    public = {r["category"]: r["models"] for r in selectors.statistic("licenses", anonymous)["rows"]}
    everything = {r["category"]: r["models"] for r in selectors.statistic("licenses", admin_user)["rows"]}
    assert sum(public.values()) == 4 and sum(everything.values()) == 5
