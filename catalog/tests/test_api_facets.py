import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from catalog.models import Task
from catalog.tests.factories import LicenseFactory, MLModelFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/models/facets"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def models(owner, stranger):
    task = Task.objects.get_or_create(slug="text-generation", defaults={"name": "Text generation"})[0]
    permissive = LicenseFactory()
    for i, family in enumerate(["transformer", "transformer", "cnn"]):
        model = MLModelFactory(owner=stranger, name=f"m{i}", architecture_family=family, license=permissive,
                               training_type="pretrain")
        model.media.add("text" if family == "transformer" else "image")
        if family == "transformer":
            model.tasks.add(task)
    MLModelFactory(owner=owner, name="secret", visibility="private", architecture_family="rnn").media.add("audio")


def counts(client, query="") -> dict:
    response = client.get(f"{URL}{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    return {"total": body["total"], **{facet: {v["value"]: v["count"] for v in values}
                                       for facet, values in body["facets"].items()}}


def as_user(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_it_counts_every_facet_of_the_visible_models(models, stranger):
    found = counts(as_user(stranger))
    assert found["total"] == 3
    assert found["architecture"] == {"transformer": 2, "cnn": 1}
    assert found["media"] == {"text": 2, "image": 1}
    assert found["task"] == {"text-generation": 2}
    assert found["training_type"] == {"pretrain": 3}
    assert found["license_category"] == {"permissive": 3}


def test_private_models_count_only_for_those_who_may_see_them(models, owner, admin_user):
    assert counts(as_user())["total"] == 3
    mine = counts(as_user(owner))  # the cached public counts plus the owner's private model
    assert mine["total"] == 4 and mine["architecture"]["rnn"] == 1 and mine["media"]["audio"] == 1
    assert counts(as_user(admin_user))["total"] == 4
    assert "rnn" not in counts(as_user())["architecture"]


def test_filters_narrow_the_counts(models, owner):
    found = counts(as_user(owner), "?media=text&architecture=transformer")
    assert found["total"] == 2 and found["architecture"] == {"transformer": 2}
    assert counts(as_user(owner), "?architecture=rnn")["total"] == 1  # the private part, live


def test_a_bad_filter_is_a_400_naming_it(models):
    response = as_user().get(f"{URL}?architecture=steam-engine")
    assert response.status_code == 400 and "architecture" in response.json()


def test_a_grantee_counts_the_private_models_granted_to_them(models, owner, grantee):
    from accounts import services as sharing
    from catalog.models import MLModel

    sharing.grant_access(by=owner, asset=MLModel.objects.get(name="secret"), permission="read", user=grantee)
    assert counts(as_user(grantee))["architecture"].get("rnn") == 1


def test_the_beat_task_warms_the_shared_counts_so_the_first_request_counts_nothing(
        models, django_assert_num_queries):
    from catalog.tasks import warm_model_facets

    assert warm_model_facets.apply().get() == {"public": 3, "all": 4}
    with django_assert_num_queries(0):  # anonymous: the public counts straight from the cache
        assert counts(as_user()) == counts(as_user()) and counts(as_user())["total"] == 3


def test_the_beat_schedule_names_registered_tasks(settings):
    from openmodelhub.celery import app

    app.loader.import_default_modules()
    assert settings.CELERY_BEAT_SCHEDULE
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry
        assert entry["schedule"] >= 30
