"""POST /api/v1/datasets/bulk: the models' bulk contract for datasets (catalog.bulk) — upserted by owner/name
in one transaction, the first bad item named by index and field, permission per item, one audit event."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.audit import verify_chain
from accounts.models import AuditEvent, Grant
from catalog import semantic
from catalog.models import Dataset, Domain, SearchEmbedding
from catalog.tests.factories import DatasetFactory, LicenseFactory, TaskFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/datasets/bulk"


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_it_creates_and_updates_datasets_with_their_parts_and_one_audit_event(
    owner, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedding runs after the commit, from what was written
    mit, task = LicenseFactory(key="mit", name="MIT License", spdx_id="MIT"), TaskFactory()
    Domain.objects.create(slug="retail", name="Retail")
    old = DatasetFactory(owner=owner, name="old", card="before", year=2001)
    items = [
        {
            "name": f"shop-{i}",
            "license_declared": "MIT",
            "tasks": [task.slug],
            "media": ["tabular", "text"],
            "domains": ["retail"],
            "authors": ["owner"],
            "instances_number": 10 + i,
            "informed_consent": True,
            "objective": "sales",
        }
        for i in range(3)
    ]
    items.append({"name": "old", "year": 2020})
    before = AuditEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(owner).post(URL, {"items": items}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["created"], response.json()["updated"]) == (3, 1)
    made = Dataset.objects.get(owner=owner, name="shop-2")
    assert made.license == mit and made.license_declared == "MIT" and made.instances_number == 12
    assert [d.slug for d in made.domains.all()] == ["retail"] and list(made.tasks.all()) == [task]
    assert [m.slug for m in made.media.all()] == ["tabular", "text"] and list(made.authors.all()) == [owner]
    assert made.informed_consent is True and made.objective == "sales"
    old.refresh_from_db()
    assert (old.year, old.card) == (2020, "before")  # only what was given
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("seq")
    assert event.action == "asset.bulk_write" and event.target_type == "catalog.Dataset"
    assert event.details["updated"] == [old.pk] and verify_chain()[1] is None
    # Embedded from the rows in memory: the text is the one a read of the stored rows gives.
    stored = SearchEmbedding.objects.get(dataset=made)
    reread = semantic.texts(Dataset, [made.pk])[made.pk]
    assert stored.digest == semantic.digest(reread, semantic.token_weights())


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"domains": ["nowhere"]}, "domains"),
        ({"instances_number": -1}, "instances_number"),
        ({"media": ["x"]}, "media"),
    ],
)
def test_a_bad_item_writes_nothing_and_is_named(owner, bad, field):
    items = [{"name": "fine-1"}, {"name": "fine-2"}, {"name": "bad", **bad}]
    before = AuditEvent.objects.count()
    response = client_of(owner).post(URL, {"items": items}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body["items"]) == ["2"] and field in body["items"]["2"], body
    assert body["detail"].startswith("items[2]") and field in body["detail"]
    assert not Dataset.objects.filter(owner=owner).exists() and AuditEvent.objects.count() == before


def test_a_write_grant_updates_a_dataset_but_cannot_change_its_visibility(owner, grantee):
    shared = DatasetFactory(owner=owner, name="shared", visibility="private", card="a")
    Grant.objects.create(dataset=shared, user=grantee, permission="write", created_by=owner)
    ok = client_of(grantee).post(URL, {"items": [{"owner": "owner", "name": "shared", "card": "b"}]}, format="json")
    assert ok.status_code == 200, ok.content
    shared.refresh_from_db()
    assert shared.card == "b" and shared.owner == owner
    refused = client_of(grantee).post(
        URL, {"items": [{"owner": "owner", "name": "shared", "visibility": "public"}]}, format="json"
    )
    assert refused.status_code == 403 and "visibility" in refused.json()["detail"]
