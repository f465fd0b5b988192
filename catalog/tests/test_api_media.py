"""Media types written through the API are kept (they were silently dropped: issue 14, item 1)."""

import pytest

from catalog.models import Dataset, MLModel
from catalog.tests.factories import TaskFactory
from openmodelhub.testing import api

pytestmark = pytest.mark.django_db


def media_of(asset) -> list[str]:
    return sorted(asset.media.values_list("slug", flat=True))


def test_media_sent_when_creating_a_model_are_kept_beside_its_tasks(owner):
    TaskFactory(slug="text-generation")
    response = api(owner).post(
        "/api/v1/models/", {"name": "m", "media": ["text", "image"], "tasks": ["text-generation"]}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert sorted(response.json()["media"]) == ["image", "text"]
    assert media_of(MLModel.objects.get(owner=owner, name="m")) == ["image", "text"]


def test_patching_a_models_media_replaces_them(owner):
    client = api(owner)
    assert client.post("/api/v1/models/", {"name": "m", "media": ["text"]}, format="json").status_code == 201
    response = client.patch("/api/v1/models/owner/m/", {"media": ["audio"]}, format="json")
    assert response.status_code == 200 and response.json()["media"] == ["audio"]
    assert media_of(MLModel.objects.get(owner=owner, name="m")) == ["audio"]


def test_patching_other_fields_leaves_a_models_media_alone(owner):
    client = api(owner)
    client.post("/api/v1/models/", {"name": "m", "media": ["text", "image"]}, format="json")
    assert client.patch("/api/v1/models/owner/m/", {"card": "changed"}, format="json").status_code == 200
    assert media_of(MLModel.objects.get(owner=owner, name="m")) == ["image", "text"]


def test_media_sent_when_creating_and_patching_a_dataset_are_kept(owner):
    client = api(owner)
    response = client.post("/api/v1/datasets/", {"name": "d", "media": ["tabular", "text"]}, format="json")
    assert response.status_code == 201, response.json()
    assert sorted(response.json()["media"]) == ["tabular", "text"]
    response = client.patch("/api/v1/datasets/owner/d/", {"media": ["image"]}, format="json")
    assert response.status_code == 200 and response.json()["media"] == ["image"]
    assert media_of(Dataset.objects.get(owner=owner, name="d")) == ["image"]


def test_an_empty_media_list_clears_them(owner):
    client = api(owner)
    client.post("/api/v1/datasets/", {"name": "d", "media": ["tabular"]}, format="json")
    assert client.patch("/api/v1/datasets/owner/d/", {"media": []}, format="json").status_code == 200
    assert media_of(Dataset.objects.get(owner=owner, name="d")) == []
