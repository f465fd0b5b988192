import pytest

from licensing import selectors, services
from licensing.tests.factories import dataset, derive, model

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(owner):
    gemma = model("gemma", "gemma-tou-2024-04-01", owner=owner)
    bad = model("bad", "apache-2.0", owner=owner)
    derive(bad, gemma)
    model("bare", owner=owner)
    model("odd", declared="Custom thing", owner=owner)
    hidden = model("hidden", "apache-2.0", owner=owner, visibility="private")
    derive(hidden, gemma)
    dataset("open-data", "cc-by-4.0", owner=owner)
    dataset("no-licence-data", owner=owner)
    services.analyse_models(None)


def test_statistics_count_only_what_the_user_may_see(catalogue, stranger, owner, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        stats = selectors.license_statistics(stranger)

    assert stats["models"]["total"] == 4
    assert stats["models"]["by_category"] == {"proprietary": 1, "permissive": 1, "none": 1, "unresolved": 1}
    assert stats["models"]["without_license"] == 1
    assert stats["datasets"] == {
        "total": 2,
        "by_category": {"permissive": 1, "none": 1},
        "without_license": 1,
        "without_license_share": 0.5,
    }
    assert stats["without_license_share"] == round(2 / 6, 4)
    assert stats["models_with_violations"] == 1
    assert selectors.license_statistics(owner)["models_with_violations"] == 2


def test_statistics_of_an_empty_catalogue(anonymous, db):
    stats = selectors.license_statistics(anonymous)
    assert stats["without_license_share"] == 0.0
    assert stats["models_with_violations"] == 0
