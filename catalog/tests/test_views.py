import pytest
from django.urls import reverse

from catalog.records import load_records
from catalog.tests.factories import DatasetFactory, MLModelFactory
from catalog.tests.test_load_records import V1

pytestmark = pytest.mark.django_db


def test_the_home_page_shows_counts_and_recent_assets_but_no_private_ones(client, owner, stranger):
    MLModelFactory(owner=owner, name="open-model", parameter_count=7_000_000_000, downloads=10)
    MLModelFactory(owner=owner, name="hidden-model", visibility="private")
    DatasetFactory(owner=owner, name="open-data")
    for viewer, expected in [(None, 1), (stranger, 1), (owner, 2)]:
        if viewer:
            client.force_login(viewer)
        response = client.get(reverse("home"))
        assert response.status_code == 200
        assert response.context["counts"] == {"models": expected, "datasets": 1}
        body = response.content.decode()
        assert "open-model" in body and "open-data" in body and "7.0 billion params" in body
        assert ("hidden-model" in body) == (viewer == owner)


def test_the_home_page_links_to_the_admin_for_staff(client, admin_user):
    client.force_login(admin_user)
    assert reverse("admin:index") in client.get(reverse("home")).content.decode()


def test_model_and_dataset_pages_show_their_parts(client, owner):
    load_records(V1)
    tiny_ft = client.get("/models/alice/tiny-ft/")
    assert tiny_ft.status_code == 200
    body = tiny_ft.content.decode()
    assert "Transformer details" in body and "Fine-tune of" in body and "alice/shop" in body
    tiny = client.get("/models/alice/tiny/").content.decode()
    assert "CNN details" in tiny and "alice/tiny-ft" in tiny
    shop = client.get("/datasets/alice/shop/").content.decode()
    assert "users.csv" in shop and "customer_id" in shop and "alice/tiny-ft" in shop
