import math

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import services as sharing
from accounts.models import ApiToken
from catalog.models import Dataset, Domain
from catalog.tests.factories import DatasetFactory
from openmodelhub.testing import api

pytestmark = pytest.mark.django_db

URL = "/api/v1/datasets/score"
TECHNICAL_ALL_MET = dict(
    external_documentation_available=True,
    metadata_provided_with_dataset=True,
    split=True,
    has_missing_values=False,
    instances_number=1000,
    features_number=12,
    representativity_level="high",
    sample_balance_level="balanced",
)
ETHICS_ALL_MET = {flag: True for flag in Dataset.ETHICS_FLAGS}


@pytest.fixture(autouse=True)
def fresh_throttle_buckets():
    """With Redis (CI) the anonymous bucket of 127.0.0.1 outlives a test: start each one empty."""
    cache.clear()


def scored(client, body=None) -> list[dict]:
    response = client.post(URL, body or {}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def by_name(results) -> dict:
    return {row["name"]: row for row in results}


def test_it_computes_the_documented_scores_by_hand(owner):
    DatasetFactory(owner=owner, name="exemplary", downloads=99, **ETHICS_ALL_MET, **TECHNICAL_ALL_MET)
    DatasetFactory(owner=owner, name="unknown", downloads=9)
    results = scored(api())
    assert [row["name"] for row in results] == ["exemplary", "unknown"]
    best, worst = by_name(results)["exemplary"], by_name(results)["unknown"]
    # downloads: ln(1+99)/ln(1+99) = 1 and ln(1+9)/ln(1+99) = 0.5; likes and citations: all zero or unknown
    assert best["ethical_score"] == 1.0 and best["technical_score"] == 1.0
    assert best["popularity_score"] == pytest.approx(1 / 3, abs=1e-6)
    assert best["score"] == pytest.approx((1 + 1 + 1 / 3) / 3, abs=1e-6)
    assert worst["ethical_score"] == 0.0 and worst["technical_score"] == 0.0
    assert worst["breakdown"]["downloads"] == {
        "group": "popularity",
        "value": pytest.approx(0.5, abs=1e-6),
        "weight": 1.0,
    }
    assert worst["score"] == pytest.approx((0 + 0 + 0.5 / 3) / 3, abs=1e-6)


def test_unknown_ethics_flags_count_as_not_met_and_levels_count_half(owner):
    DatasetFactory(
        owner=owner,
        name="half",
        informed_consent=True,
        transparency=False,
        user_control=None,
        representativity_level="medium",
        sample_balance_level="moderately_imbalanced",
        has_missing_values=True,
        global_missing_percentage=25.0,
    )
    row = scored(api())[0]
    breakdown = row["breakdown"]
    assert [breakdown[f]["value"] for f in ("informed_consent", "transparency", "user_control")] == [1.0, 0.0, 0.0]
    assert breakdown["representativity"]["value"] == 0.5 and breakdown["balance"]["value"] == 0.5
    assert breakdown["missing_values"]["value"] == pytest.approx(0.75)
    assert row["ethical_score"] == pytest.approx(1 / 10)
    assert row["technical_score"] == pytest.approx((0.5 + 0.5 + 0.75) / 8)


def test_weights_change_the_ranking(owner):
    DatasetFactory(owner=owner, name="anonymised", anonymization_applied=True)
    DatasetFactory(owner=owner, name="transparent", transparency=True)
    first = scored(api(), {"weights": [{"criterion_name": "anonymization_applied", "weight": 3}]})[0]
    assert first["name"] == "anonymised"
    assert first["ethical_score"] == pytest.approx(3 / 12)
    assert first["breakdown"]["anonymization_applied"]["weight"] == 3.0
    assert scored(api(), {"weights": [{"criterion_name": "transparency", "weight": 3}]})[0]["name"] == "transparent"


def test_group_weights_and_zero_weights_shape_the_total(owner):
    DatasetFactory(owner=owner, name="documented", downloads=5, **TECHNICAL_ALL_MET)
    row = scored(
        api(),
        {
            "weights": [
                {"criterion_name": "technical", "weight": 2},
                {"criterion_name": "downloads", "weight": 0},
                {"criterion_name": "likes", "weight": 0},
                {"criterion_name": "citations", "weight": 0},
            ]
        },
    )[0]
    assert row["popularity_score"] is None  # every popularity criterion weighs 0: left out of the total
    assert row["technical_score"] == 1.0 and row["ethical_score"] == 0.0
    assert row["score"] == pytest.approx(2 / 3)


def test_popularity_is_log_scaled_within_the_candidates(owner):
    for name, downloads, likes in (("none", 0, 0), ("some", 9, 3), ("most", 99, 0)):
        DatasetFactory(owner=owner, name=name, downloads=downloads, likes=likes, num_citations=None)
    response = api().post(URL, {}, format="json").json()
    assert response["popularity_maxima"] == {"downloads": 99, "likes": 3, "citations": None}
    rows = by_name(response["results"])
    assert rows["some"]["breakdown"]["downloads"]["value"] == pytest.approx(math.log(10) / math.log(100), abs=1e-6)
    assert rows["some"]["breakdown"]["likes"]["value"] == pytest.approx(1.0)
    assert rows["none"]["popularity_score"] == 0.0


@pytest.mark.parametrize(
    "role,sees", [("anonymous", False), ("stranger", False), ("grantee", True), ("owner", True), ("admin_user", True)]
)
def test_it_only_scores_datasets_the_caller_may_see(request, role, sees, owner, grantee):
    secret = DatasetFactory(owner=owner, name="secret", visibility="private", **ETHICS_ALL_MET)
    sharing.grant_access(by=owner, asset=secret, permission="read", user=grantee)
    DatasetFactory(owner=owner, name="public")
    client = api(None if role == "anonymous" else request.getfixturevalue(role))
    assert ("secret" in by_name(scored(client))) == sees


def test_filters_narrow_the_candidates_like_the_list_query_parameters(owner):
    health = Domain.objects.create(slug="healthcare", name="Healthcare")
    match = DatasetFactory(owner=owner, name="match", anonymization_applied=True, year=2022, instances_number=5000)
    match.domains.add(health)
    DatasetFactory(owner=owner, name="old", anonymization_applied=True, year=2010, instances_number=5000).domains.add(
        health
    )
    DatasetFactory(owner=owner, name="not-anonymised", anonymization_applied=False, year=2022, instances_number=5000)
    DatasetFactory(owner=owner, name="small", anonymization_applied=True, year=2022, instances_number=10).domains.add(
        health
    )
    body = {
        "filters": {"domain": ["healthcare"], "anonymization_applied": True, "instances_min": 1000, "year_min": 2020}
    }
    assert [row["name"] for row in scored(api(), body)] == ["match"]


def test_limit_bounds_the_results(owner):
    for i in range(5):
        DatasetFactory(owner=owner, name=f"d{i}")
    assert len(scored(api(), {"limit": 2})) == 2


@pytest.mark.parametrize(
    "body,field",
    [
        ({"weights": [{"criterion_name": "colour", "weight": 1}]}, "weights"),
        ({"weights": [{"criterion_name": "transparency", "weight": -1}]}, "weights"),
        ({"weights": [{"criterion_name": "transparency", "weight": "heavy"}]}, "weights"),
        (
            {"weights": [{"criterion_name": "transparency", "weight": 0}, {"criterion_name": "split", "weight": 0}]},
            "weights",
        ),
        ({"weights": [{"criterion_name": "split", "weight": 1}, {"criterion_name": "split", "weight": 2}]}, "weights"),
        ({"weights": [{"weight": 1}]}, "weights"),
        ({"weights": "heavy"}, "weights"),
        ({"filters": {"colour": "blue"}}, "filters"),
        ({"filters": {"year_min": "recent"}}, "filters"),
        ({"filters": {"media": ["smell"]}}, "filters"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_000}, "limit"),
    ],
)
def test_invalid_input_is_a_400_naming_the_field(owner, body, field):
    DatasetFactory(owner=owner)
    response = api().post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_the_400_says_which_weight_is_wrong(owner):
    body = {"weights": [{"criterion_name": "split", "weight": 1}, {"criterion_name": "transparency", "weight": -2}]}
    errors = api().post(URL, body, format="json").json()["weights"]
    assert list(errors) == ["1"] and "weight" in errors["1"]  # the second weight, by its index


def test_a_read_scope_token_may_score_but_not_write(owner):
    DatasetFactory(owner=owner, name="public")
    _, secret = sharing.create_api_token(user=owner, name="ci", scope=ApiToken.Scope.READ)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.post(URL, {}, format="json").status_code == 200
    assert client.post("/api/v1/datasets/", {"name": "x"}, format="json").status_code == 403


def test_scoring_takes_a_fixed_number_of_queries(owner, django_assert_num_queries):
    for i in range(10):
        DatasetFactory(owner=owner, name=f"d{i}", **ETHICS_ALL_MET).media.add("tabular")
    client = api(owner)
    with django_assert_num_queries(5):  # scored page (candidates, maxima, scores), winners, media, tasks, domains
        assert len(scored(client)) == 10
    with django_assert_num_queries(2):  # an empty page, then the maxima of the (empty) candidates
        response = client.post("/api/v1/datasets/score", {"filters": {"owner": "nobody-such"}}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["results"] == [] and set(response.json()["popularity_maxima"].values()) == {None}
