import threading
import time

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from catalog.models import Task
from catalog.tests.factories import DatasetFactory, LicenseFactory, MLModelFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/models/facets"
DATASETS_URL = "/api/v1/datasets/facets"


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
        model = MLModelFactory(
            owner=stranger, name=f"m{i}", architecture_family=family, license=permissive, training_type="pretrain"
        )
        model.media.add("text" if family == "transformer" else "image")
        if family == "transformer":
            model.tasks.add(task)
    MLModelFactory(owner=owner, name="secret", visibility="private", architecture_family="rnn").media.add("audio")


def counts(client, query="", url=URL) -> dict:
    response = client.get(f"{url}{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    return {
        "total": body["total"],
        **{facet: {v["value"]: v["count"] for v in values} for facet, values in body["facets"].items()},
    }


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
    assert found == {
        "total": 2,
        "architecture": {"transformer": 2},
        "media": {"text": 2},
        "task": {"text-generation": 2},
        "training_type": {"pretrain": 2},
        "license_category": {"permissive": 2},
    }
    assert counts(as_user(owner), "?task=text-generation&architecture=cnn") == {
        "total": 0,
        "architecture": {},
        "media": {},
        "task": {},
        "training_type": {},
        "license_category": {},
    }
    assert counts(as_user(owner), "?architecture=rnn")["total"] == 1  # the private part, live


def test_a_bad_filter_is_a_400_naming_it(models):
    response = as_user().get(f"{URL}?architecture=steam-engine")
    assert response.status_code == 400 and "architecture" in response.json()


def test_a_grantee_counts_the_private_models_granted_to_them(models, owner, grantee):
    from accounts import services as sharing
    from catalog.models import MLModel

    sharing.grant_access(by=owner, asset=MLModel.objects.get(name="secret"), permission="read", user=grantee)
    assert counts(as_user(grantee))["architecture"].get("rnn") == 1


def test_the_beat_task_warms_the_shared_counts_so_the_first_request_counts_nothing(models, django_assert_num_queries):
    from catalog.tasks import warm_facets

    assert warm_facets.apply().get() == {"models:public": 3, "models:all": 4, "datasets:public": 0, "datasets:all": 0}
    with django_assert_num_queries(0):  # anonymous: the public counts straight from the cache
        assert counts(as_user()) == counts(as_user()) and counts(as_user())["total"] == 3


def test_the_beat_schedule_names_registered_tasks(settings):
    from openmodelhub.celery import app

    app.loader.import_default_modules()
    assert settings.CELERY_BEAT_SCHEDULE
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry
        assert entry["schedule"] >= 30


@pytest.fixture
def datasets(owner, stranger):
    from catalog.models import Domain

    health = Domain.objects.get_or_create(slug="healthcare", defaults={"name": "Healthcare"})[0]
    finance = Domain.objects.get_or_create(slug="finance", defaults={"name": "Finance"})[0]
    task = Task.objects.get_or_create(slug="text-classification", defaults={"name": "Text classification"})[0]
    permissive = LicenseFactory()
    for i, (media, domain, anonymised) in enumerate(
        [("tabular", health, True), ("tabular", finance, False), ("text", health, True)]
    ):
        dataset = DatasetFactory(owner=stranger, name=f"d{i}", license=permissive, anonymization_applied=anonymised)
        dataset.media.add(media)
        dataset.domains.add(domain)
        if media == "text":
            dataset.tasks.add(task)
    DatasetFactory(owner=owner, name="secret-data", visibility="private").domains.add(finance)


def test_dataset_facets_count_media_tasks_domains_and_licence_categories(datasets, stranger):
    found = counts(as_user(stranger), url=DATASETS_URL)
    assert found == {
        "total": 3,
        "media": {"tabular": 2, "text": 1},
        "task": {"text-classification": 1},
        "domain": {"healthcare": 2, "finance": 1},
        "license_category": {"permissive": 3},
    }


def test_dataset_facets_follow_visibility_and_the_exai_filters(datasets, owner, grantee, admin_user):
    from accounts import services as sharing
    from catalog.models import Dataset

    assert counts(as_user(), url=DATASETS_URL)["domain"] == {"healthcare": 2, "finance": 1}
    assert counts(as_user(owner), url=DATASETS_URL)["domain"] == {"healthcare": 2, "finance": 2}
    assert counts(as_user(admin_user), url=DATASETS_URL)["total"] == 4
    assert counts(as_user(grantee), url=DATASETS_URL)["total"] == 3
    grant = sharing.grant_access(
        by=owner, asset=Dataset.objects.get(name="secret-data"), permission="read", user=grantee
    )
    assert counts(as_user(grantee), url=DATASETS_URL)["domain"]["finance"] == 2  # at once, despite the cache
    sharing.revoke_grant(by=owner, grant=grant)
    assert counts(as_user(grantee), url=DATASETS_URL)["domain"]["finance"] == 1  # and gone at once
    narrowed = counts(as_user(), "?anonymization_applied=true&domain=healthcare", url=DATASETS_URL)
    assert narrowed["total"] == 2 and narrowed["media"] == {"tabular": 1, "text": 1}
    response = as_user().get(f"{DATASETS_URL}?anonymization_applied=perhaps")
    assert response.status_code == 400 and "anonymization_applied" in response.json()


def _public_key() -> str:
    from django.http import QueryDict

    from catalog.api import facets

    return facets._key(facets.KINDS["models"], "public", QueryDict())


def test_a_request_waits_for_the_count_another_is_making_instead_of_counting_too(models, django_assert_num_queries):
    expected = counts(as_user())  # counted once, then retired as if it had expired
    key = _public_key()
    counted = cache.get(key)
    cache.delete(key)
    assert cache.add(f"{key}:counting", 1, 30)  # another worker is counting it
    threading.Timer(0.3, cache.set, args=(key, counted, 60)).start()  # ...and stores its result
    started = time.monotonic()
    with django_assert_num_queries(0):
        assert counts(as_user()) == expected
    assert time.monotonic() - started >= 0.3


def test_a_request_counts_itself_when_the_other_count_does_not_come(models, monkeypatch):
    from catalog.api import facets

    monkeypatch.setattr(facets, "WAIT_SECONDS", 0.2)
    key = _public_key()
    assert cache.add(f"{key}:counting", 1, 30)  # a worker that died while counting
    started = time.monotonic()
    assert counts(as_user())["total"] == 3
    assert time.monotonic() - started >= 0.2
    assert cache.get(key)["total"] == 3 and cache.get(f"{key}:counting") is None
