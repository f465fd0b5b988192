"""Every sort key works in both directions, and the API and the pages give the same order."""

import datetime

import pytest
from django.utils import timezone

from catalog import filters
from catalog.models import Dataset, MLModel
from catalog.tests.factories import DatasetFactory, MLModelFactory
from openmodelhub.testing import api

# Each row's values for (downloads, likes, name, parameters, release date, instances, year); every key
# gives a different order, with one NULL where the column is nullable (NULLs come last both ways).
MODELS = [
    ("alpha", 30, 2, 7_000, "2021-05-01"),
    ("bravo", 10, 9, None, "2023-01-01"),
    ("charlie", 20, 5, 90, None),
    ("delta", 40, 0, 500, "2019-07-07"),
]
DATASETS = [("one", 5, 1, 300, 2011), ("two", 1, 8, None, 2020), ("three", 9, 3, 40, None)]
COLUMNS = {  # sort key -> the column, as the ORM spells it
    "downloads": "downloads",
    "likes": "likes",
    "created": "created_at",
    "updated": "updated_at",
    "name": "name",
    "released": "release_date",
    "parameters": "parameter_count",
    "instances": "instances_number",
    "year": "year",
}
NATURAL_DESCENDING = {"downloads", "likes", "created", "updated", "released", "parameters", "instances", "year"}


@pytest.fixture
def catalogue(owner):
    base = timezone.now() - datetime.timedelta(days=30)
    for i, (name, downloads, likes, params, released) in enumerate(MODELS):
        model = MLModelFactory(owner=owner, name=name, downloads=downloads, likes=likes, parameter_count=params)
        release = datetime.date.fromisoformat(released) if released else None
        # created and updated in two different orders (set by UPDATE: auto_now would overwrite them)
        MLModel.objects.filter(pk=model.pk).update(
            release_date=release,
            created_at=base + datetime.timedelta(days=(i * 3) % 4),
            updated_at=base + datetime.timedelta(days=(i * 5 + 1) % 4, hours=1),
        )
    for i, (name, downloads, likes, instances, year) in enumerate(DATASETS):
        dataset = DatasetFactory(owner=owner, name=name, downloads=downloads, likes=likes, instances_number=instances)
        Dataset.objects.filter(pk=dataset.pk).update(
            year=year,
            created_at=base + datetime.timedelta(days=(i * 2) % 3),
            updated_at=base + datetime.timedelta(days=(i + 2) % 3),
        )


def expected(model_cls, sort: str) -> list[str]:
    """The order a sort key promises, computed here in Python from the rows (NULLs last either way)."""
    key = sort.lstrip("-")
    descending = (key in NATURAL_DESCENDING) != sort.startswith("-")
    rows = list(model_cls.objects.values("name", "id", COLUMNS[key]))
    present = [r for r in rows if r[COLUMNS[key]] is not None]
    missing = [r for r in rows if r[COLUMNS[key]] is None]
    present.sort(key=lambda r: (r[COLUMNS[key]], r["id"]), reverse=descending)
    missing.sort(key=lambda r: r["id"], reverse=descending)
    return [r["name"] for r in present + missing]


def keys(sorts: dict) -> list[str]:
    return [k for k in sorts if k != "relevance"]


def test_every_sort_key_has_its_reverse_and_a_human_label():
    for sorts, labels in (
        (filters.MODEL_SORTS, filters.MODEL_SORT_LABELS),
        (filters.DATASET_SORTS, filters.DATASET_SORT_LABELS),
    ):
        for key in keys(sorts):
            reverse = key[1:] if key.startswith("-") else f"-{key}"
            assert reverse in sorts, key
            assert labels[key] and labels[key] != key and "-" not in labels[key][:1], key
    assert {"downloads", "-downloads", "likes", "-likes", "released", "-released"} <= set(filters.MODEL_SORTS)


@pytest.mark.parametrize("sort", keys(filters.MODEL_SORTS))
def test_models_sort_the_same_way_in_the_api_and_the_pages(client, catalogue, sort):
    wanted = expected(MLModel, sort)
    response = api().get("/api/v1/models/", {"sort": sort})
    assert response.status_code == 200, response.content
    assert [m["name"] for m in response.json()["results"]] == wanted
    page = client.get("/models/", {"sort": sort})
    assert page.status_code == 200
    assert [m.name for m in page.context["page"].rows] == wanted
    assert f'<option value="{sort}" selected>{filters.MODEL_SORT_LABELS[sort]}</option>' in page.content.decode()


@pytest.mark.parametrize("sort", keys(filters.DATASET_SORTS))
def test_datasets_sort_the_same_way_in_the_api_and_the_pages(client, catalogue, sort):
    wanted = expected(Dataset, sort)
    response = api().get("/api/v1/datasets/", {"sort": sort})
    assert response.status_code == 200, response.content
    assert [d["name"] for d in response.json()["results"]] == wanted
    page = client.get("/datasets/", {"sort": sort})
    assert [d.name for d in page.context["page"].rows] == wanted


def test_a_sort_key_in_both_directions_pages_through_every_row_once(catalogue):
    for sort in ("downloads", "-downloads", "parameters", "-parameters"):
        seen, url = [], "/api/v1/models/"
        params = {"sort": sort, "limit": 1}
        while url:
            body = api().get(url, params).json()
            seen += [m["name"] for m in body["results"]]
            url, params = body["next"], None
        assert seen == expected(MLModel, sort), sort


def test_an_unknown_sort_key_is_a_400_naming_it(client, catalogue):
    response = api().get("/api/v1/models/", {"sort": "--downloads"})
    assert response.status_code == 400 and "sort" in response.json()
    assert client.get("/models/", {"sort": "instances"}).status_code == 400  # a dataset key on models
