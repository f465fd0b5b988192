"""Each statistic against numbers computed by hand from the fixture in conftest.py."""

import statistics

import pytest

from catalog.models import MLModel
from insights import lineage, selectors
from insights.queries import TOP_N
from insights.selectors import statistic

pytestmark = pytest.mark.django_db


def rows(name, user):
    return statistic(name, user, use_cache=False)["rows"]


def by(name, user, key, value="count"):
    return {row[key]: row[value] for row in rows(name, user)}


def test_models_by_media_counts_every_media_of_a_model_and_models_without_any(catalogue, admin_user, anonymous):
    assert rows("models_by_media", admin_user) == [
        {"media": "image", "count": 3, "share": 0.6},
        {"media": "text", "count": 2, "share": 0.4},
        {"media": "none", "count": 1, "share": 0.2},
    ]
    assert by("models_by_media", anonymous, "media") == {"image": 2, "text": 2, "none": 1}


def test_models_by_family_training_type_and_licence_category(catalogue, admin_user, anonymous):
    assert by("models_by_family", admin_user, "family") == {"transformer": 2, "cnn": 2, "other": 1}
    assert by("models_by_family", anonymous, "family") == {"transformer": 2, "cnn": 1, "other": 1}
    assert by("models_by_training_type", admin_user, "training_type") == {
        "pretrain": 2,
        "finetune": 2,
        "unspecified": 1,
    }
    assert by("models_by_license_category", admin_user, "category") == {"permissive": 2, "copyleft": 1, "none": 2}
    assert by("models_by_license_category", anonymous, "category") == {"permissive": 2, "copyleft": 1, "none": 1}
    assert rows("models_by_family", admin_user)[0]["share"] in (0.4,)


def test_the_model_media_task_matrix(catalogue, admin_user, anonymous):
    result = statistic("models_media_task", admin_user, use_cache=False)
    cells = {(r["media"], r["task"]): r["count"] for r in result["rows"]}
    assert cells == {
        ("text", "text-generation"): 2,
        ("text", "image-classification"): 1,
        ("image", "text-generation"): 1,
        ("image", "image-classification"): 3,
    }
    assert result["media"] == ["image", "text"]
    assert result["tasks"] == ["image-classification", "text-generation"]
    public = {(r["media"], r["task"]): r["count"] for r in rows("models_media_task", anonymous)}
    assert public[("image", "image-classification")] == 2


def test_parameter_statistics_including_median_and_quartiles(catalogue, admin_user, anonymous):
    [summary] = rows("model_parameters", admin_user)
    values = [1_000, 2_000, 3_000_000, 40_000]
    assert summary["count"] == 4 and summary["min"] == 1_000 and summary["max"] == 3_000_000
    assert summary["mean"] == pytest.approx(760_750)
    assert summary["stddev"] == pytest.approx(statistics.stdev(values), rel=1e-6)
    assert summary["median"] == pytest.approx(21_000)  # (2,000 + 40,000) / 2
    assert summary["p25"] == pytest.approx(1_750)
    assert summary["p75"] == pytest.approx(780_000)
    [public] = rows("model_parameters", anonymous)
    assert (public["count"], public["mean"], public["median"]) == (3, pytest.approx(1_001_000), pytest.approx(2_000))


def test_the_parameter_histogram_uses_half_decade_bins_and_keeps_empty_bins_between(catalogue, admin_user):
    histogram = [(r["bin"], r["count"]) for r in rows("model_parameter_histogram", admin_user)]
    assert histogram == [
        ("1K–3K", 2),
        ("3K–10K", 0),
        ("10K–30K", 0),
        ("30K–100K", 1),
        ("100K–300K", 0),
        ("300K–1M", 0),
        ("1M–3M", 0),
        ("3M–10M", 1),
    ]


def test_models_added_per_month_with_a_running_total(catalogue, admin_user):
    assert rows("models_per_month", admin_user) == [
        {"month": "2024-01", "count": 2, "cumulative": 2},
        {"month": "2024-02", "count": 1, "cumulative": 3},
        {"month": "2024-03", "count": 2, "cumulative": 5},
    ]


def test_models_released_by_year_with_every_year_and_a_running_total(catalogue, admin_user, anonymous):
    assert rows("models_released", admin_user) == [
        {"period": "2019", "count": 1, "cumulative": 1},
        {"period": "2020", "count": 0, "cumulative": 1},
        {"period": "2021", "count": 0, "cumulative": 1},
        {"period": "2022", "count": 0, "cumulative": 1},
        {"period": "2023", "count": 1, "cumulative": 2},
        {"period": "2024", "count": 2, "cumulative": 4},
    ]
    public = rows("models_released", anonymous)  # m4 (private) is not counted
    assert public[-1] == {"period": "2024", "count": 1, "cumulative": 3}


def test_models_released_within_a_few_years_are_counted_per_quarter(catalogue, admin_user):
    MLModel.objects.filter(name="m1").update(release_date=None)
    assert rows("models_released", admin_user) == [
        {"period": "2023 Q3", "count": 1, "cumulative": 1},
        {"period": "2023 Q4", "count": 0, "cumulative": 1},
        {"period": "2024 Q1", "count": 0, "cumulative": 1},
        {"period": "2024 Q2", "count": 1, "cumulative": 2},
        {"period": "2024 Q3", "count": 1, "cumulative": 3},
    ]
    note = statistic("models_released", admin_user)["note"]
    assert note == "2 visible models without a release date are not counted."


def test_most_downloaded_models(catalogue, admin_user, anonymous):
    assert [r["model"] for r in rows("most_downloaded_models", admin_user)] == [
        "owner/m4",
        "owner/m1",
        "owner/m2",
        "stranger/m3",
        "owner/m5",
    ]
    assert rows("most_downloaded_models", anonymous)[0] == {"model": "owner/m1", "downloads": 100, "likes": 0}


def test_lineage_relation_counts(catalogue, admin_user, anonymous):
    assert by("lineage_relations", admin_user, "relation") == {
        "merge": 2,
        "adapter": 1,
        "fine_tune": 1,
        "quantization": 1,
    }
    assert by("lineage_relations", anonymous, "relation") == {"merge": 2, "fine_tune": 1, "quantization": 1}


def test_the_deepest_lineage_chains(catalogue, admin_user, anonymous):
    deepest = rows("lineage_deepest", admin_user)
    assert [(r["model"], r["depth"]) for r in deepest] == [
        ("owner/m4", 3),
        ("owner/m5", 3),
        ("stranger/m3", 2),
        ("owner/m2", 1),
    ]
    assert deepest[0]["chain"] == "owner/m1 → owner/m2 → stranger/m3 → owner/m4"
    assert deepest[1]["root"] == "owner/m1"
    public = rows("lineage_deepest", anonymous)
    assert public[0] == {
        "model": "owner/m5",
        "depth": 3,
        "root": "owner/m1",
        "chain": "owner/m1 → owner/m2 → stranger/m3 → owner/m5",
    }
    assert "owner/m4" not in {r["model"] for r in public}


def test_the_dataset_media_task_matrix(catalogue, admin_user, anonymous):
    cells = {(r["media"], r["task"]): r["count"] for r in rows("datasets_media_task", admin_user)}
    assert cells == {("text", "text-generation"): 2, ("image", "image-classification"): 1}
    public = {(r["media"], r["task"]): r["count"] for r in rows("datasets_media_task", anonymous)}
    assert public == {("text", "text-generation"): 1, ("image", "image-classification"): 1}


def test_dataset_size_statistics(catalogue, admin_user):
    instances, features = rows("dataset_sizes", admin_user)
    assert instances == {
        "measure": "instances",
        "count": 3,
        "min": 100,
        "max": 10_000,
        "mean": 3700.0,
        "stddev": pytest.approx(statistics.stdev([100, 1000, 10_000]), rel=1e-6),
        "p25": 550.0,
        "median": 1000.0,
        "p75": 5500.0,
    }
    assert (features["count"], features["min"], features["max"], features["mean"], features["median"]) == (
        2,
        10,
        20,
        15.0,
        15.0,
    )
    assert [(r["bin"], r["count"]) for r in rows("dataset_size_histogram", admin_user)] == [
        ("100–1K", 1),
        ("1K–10K", 1),
        ("10K–100K", 1),
    ]


def test_the_share_of_datasets_meeting_each_ethics_criterion(catalogue, admin_user, anonymous):
    ethics = {r["criterion"]: r for r in rows("dataset_ethics", admin_user)}
    assert ethics["informed_consent"] == {
        "criterion": "informed_consent",
        "yes": 2,
        "no": 1,
        "unknown": 0,
        "share_yes": 0.6667,
    }
    assert (ethics["transparency"]["yes"], ethics["transparency"]["no"], ethics["transparency"]["unknown"]) == (1, 1, 1)
    assert ethics["user_control"]["unknown"] == 3
    assert len(ethics) == 10
    public = {r["criterion"]: r for r in rows("dataset_ethics", anonymous)}
    assert (public["informed_consent"]["yes"], public["informed_consent"]["no"]) == (2, 0)


def test_dataset_domains_and_datasets_per_year(catalogue, admin_user, anonymous):
    assert by("dataset_domains", admin_user, "domain") == {"health": 2, "finance": 2}
    assert by("dataset_domains", anonymous, "domain") == {"health": 2, "finance": 1}
    assert rows("datasets_per_year", admin_user) == [
        {"year": 2020, "published": 1, "added": 0},
        {"year": 2021, "published": 2, "added": 0},
        {"year": 2023, "published": 0, "added": 1},
        {"year": 2024, "published": 0, "added": 2},
    ]


def test_users_per_affiliation_and_most_active_uploaders(catalogue, admin_user, member, affiliation, anonymous):
    per_affiliation = by("users_per_affiliation", admin_user, "affiliation")
    assert per_affiliation["Example University"] == 1
    from accounts.models import User

    assert per_affiliation["(no affiliation)"] == User.objects.count() - 1
    assert rows("top_uploaders", admin_user)[:2] == [
        {"user": "owner", "models": 4, "datasets": 2, "total": 6},
        {"user": "stranger", "models": 1, "datasets": 1, "total": 2},
    ]
    assert rows("top_uploaders", anonymous)[0] == {"user": "owner", "models": 3, "datasets": 1, "total": 4}


def test_private_assets_of_others_are_never_counted_for_a_non_admin(catalogue, stranger, anonymous):
    # The stranger owns only public assets, so every statistic must equal the anonymous one.
    for stat in selectors.stats_for(stranger):
        assert rows(stat.name, stranger) == rows(stat.name, anonymous), stat.name


def test_a_grant_lets_its_grantee_count_the_private_model(catalogue, grant_on_private_model, grantee, admin_user):
    for name in ("models_by_media", "models_by_family", "model_parameters", "lineage_deepest", "lineage_relations"):
        assert rows(name, grantee) == rows(name, admin_user), name
    # ... but not the owner's private dataset.
    assert by("dataset_domains", grantee, "domain") == {"health": 2, "finance": 1}


def test_the_owner_counts_their_own_private_assets(catalogue, owner, admin_user):
    assert rows("models_by_family", owner) == rows("models_by_family", admin_user)
    assert rows("dataset_sizes", owner) == rows("dataset_sizes", admin_user)


def test_curators_see_the_whole_catalogue_like_admins(catalogue, curator, admin_user):
    assert selectors.scope_of(curator) == selectors.scope_of(admin_user) == "all"
    assert rows("models_by_media", curator) == rows("models_by_media", admin_user)


def test_statistics_of_an_empty_catalogue(db, admin_user, anonymous):
    for stat in selectors.stats_for(admin_user):
        assert isinstance(statistic(stat.name, admin_user, use_cache=False)["rows"], list)
    [summary] = rows("model_parameters", anonymous)
    assert summary["count"] == 0 and summary["median"] is None


@pytest.mark.parametrize("viewer", ["admin_user", "anonymous", "owner"])
def test_the_shortcut_for_deep_chains_agrees_with_the_full_walk(request, viewer):
    from django.core.management import call_command

    call_command("generate_catalog", models=600, datasets=0, seed=5, batch=200, stdout=__import__("io").StringIO())
    user = request.getfixturevalue(viewer)
    full = lineage._deepest(user, skip_first_level_leaves=False)
    shortcut = lineage._deepest(user, skip_first_level_leaves=True)
    assert len(shortcut) == TOP_N and shortcut[0][1] >= 3
    assert shortcut == full
