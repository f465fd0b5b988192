"""Models carry a release date (when their authors released them), loaded from records that have one."""

import datetime

import pytest

from catalog.models import MLModel
from catalog.records import RecordError, load_records

pytestmark = pytest.mark.django_db


def records(**model_fields) -> dict:
    return {
        "format": "openmodelhub/records-v1",
        "users": [{"username": "alice"}],
        "models": [{"owner": "alice", "name": "dated", **model_fields}],
    }


def test_a_release_date_in_the_records_is_stored_as_a_date():
    load_records(records(release_date="2024-07-23"))
    assert MLModel.objects.get(name="dated").release_date == datetime.date(2024, 7, 23)


def test_a_model_without_a_release_date_keeps_it_unknown():
    load_records(records())
    load_records(records(release_date=None))
    assert MLModel.objects.get(name="dated").release_date is None


@pytest.mark.parametrize("value", ["2024-13-01", "July 2024", 2024, ["2024-07-23"]])
def test_a_bad_release_date_names_the_record_and_field_and_writes_nothing(value):
    with pytest.raises(RecordError, match="models\\[0\\] 'dated', field 'release_date'"):
        load_records(records(release_date=value))
    assert not MLModel.objects.filter(name="dated").exists()


# --- every door where a user edits a model sets it ---------------------------------------------


def test_the_model_form_sets_the_release_date_and_the_page_shows_it(client, owner):
    from catalog.tests.test_pages import model_post

    client.force_login(owner)
    assert client.post("/models/new/", model_post(release_date="2024-07-23")).status_code == 302
    model = MLModel.objects.get(owner=owner, name="new-llm")
    assert model.release_date == datetime.date(2024, 7, 23)
    assert 'value="2024-07-23"' in client.get("/models/owner/new-llm/edit/").content.decode()
    page = client.get("/models/owner/new-llm/").content.decode()
    assert '<th scope="row">Released</th><td>2024-07-23</td>' in page


def test_an_invalid_release_date_in_the_form_is_an_error_in_place(client, owner):
    from catalog.tests.test_pages import model_post

    client.force_login(owner)
    response = client.post("/models/new/", model_post(release_date="2024-13-01"))
    assert response.status_code == 200 and "Enter a valid date" in response.content.decode()
    assert not MLModel.objects.filter(name="new-llm").exists()


def test_the_api_creates_patches_and_shows_the_release_date(owner):
    from catalog.tests.test_api import api

    response = api(owner).post("/api/v1/models/", {"name": "dated", "release_date": "2023-02-24"}, format="json")
    assert response.status_code == 201 and response.json()["release_date"] == "2023-02-24", response.json()
    response = api(owner).patch("/api/v1/models/owner/dated/", {"release_date": "2023-07-18"}, format="json")
    assert response.status_code == 200 and response.json()["release_date"] == "2023-07-18"
    assert MLModel.objects.get(name="dated").release_date == datetime.date(2023, 7, 18)
    listed = api(owner).get("/api/v1/models/").json()["results"]
    assert [m["release_date"] for m in listed] == ["2023-07-18"]
    assert api(owner).patch("/api/v1/models/owner/dated/", {"release_date": "soon"}, format="json").status_code == 400
    assert MLModel.objects.get(name="dated").release_date == datetime.date(2023, 7, 18)


def test_models_filter_by_release_date_and_an_unknown_date_matches_no_range(owner):
    from catalog.tests.factories import MLModelFactory
    from catalog.tests.test_api import api

    MLModelFactory(owner=owner, name="old", release_date=datetime.date(2019, 2, 14))
    MLModelFactory(owner=owner, name="new", release_date=datetime.date(2024, 7, 23))
    MLModelFactory(owner=owner, name="undated")

    def names(query: str) -> list[str]:
        response = api(owner).get(f"/api/v1/models/?sort=name&{query}")
        assert response.status_code == 200, response.json()
        return [m["name"] for m in response.json()["results"]]

    assert names("released_after=2024-01-01") == ["new"]
    assert names("released_before=2024-01-01") == ["old"]
    assert names("released_after=2019-02-14&released_before=2024-07-23") == ["old"]
    assert api(owner).get("/api/v1/models/?released_after=yesterday").status_code == 400


def test_the_admin_sets_the_release_date(client, admin_user):
    from django.urls import reverse

    from catalog.tests.factories import MLModelFactory
    from catalog.tests.test_admin import form_data

    model = MLModelFactory()
    client.force_login(admin_user)
    url = reverse("admin:catalog_mlmodel_change", args=[model.pk])
    data = form_data(client.get(url)) | {"release_date": "2022-11-30"}
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    model.refresh_from_db()
    assert model.release_date == datetime.date(2022, 11, 30)
