import io

import pytest
from django.db import connection
from django.test import TestCase
from rest_framework.test import APIClient

from accounts import services as sharing
from accounts.models import AuditEvent
from catalog import files
from catalog.models import Dataset, MLModel, ModelDataset, ModelLineage, Task, TransformerDetails
from catalog.tests.factories import DatasetFactory, LicenseFactory, MLModelFactory, TaskFactory
from openmodelhub.testing import api

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_model(owner, grantee):
    model = MLModelFactory(owner=owner, name="secret", visibility="private", card="hidden weights")
    sharing.grant_access(by=owner, asset=model, permission="read", user=grantee)
    return model


@pytest.fixture
def private_dataset(owner, grantee):
    dataset = DatasetFactory(owner=owner, name="secret-data", visibility="private")
    sharing.grant_access(by=owner, asset=dataset, permission="read", user=grantee)
    return dataset


ROLES = ["anonymous", "stranger", "grantee", "owner", "admin_user"]


def as_role(request, role) -> APIClient:
    return api(None if role == "anonymous" else request.getfixturevalue(role))


# --- reads: who sees what --------------------------------------------------------------------


@pytest.mark.parametrize(
    "role,sees", [("anonymous", False), ("stranger", False), ("grantee", True), ("owner", True), ("admin_user", True)]
)
def test_private_models_and_datasets_answer_404_to_those_who_may_not_see_them(
    request, role, sees, private_model, private_dataset
):
    client = as_role(request, role)
    urls = [
        "/api/v1/models/owner/secret/",
        f"/api/v1/models/{private_model.pk}/",
        "/api/v1/models/owner/secret/files/",
        "/api/v1/models/owner/secret/lineage/",
        "/api/v1/models/owner/secret/datasets/",
        "/api/v1/datasets/owner/secret-data/",
        f"/api/v1/datasets/{private_dataset.pk}/",
        "/api/v1/datasets/owner/secret-data/files/",
    ]
    for url in urls:
        assert client.get(url).status_code == (200 if sees else 404), url
    listed = {m["name"] for m in client.get("/api/v1/models/").json()["results"]}
    assert ("secret" in listed) == sees
    listed = {d["name"] for d in client.get("/api/v1/datasets/").json()["results"]}
    assert ("secret-data" in listed) == sees


def test_a_missing_asset_looks_exactly_like_a_hidden_one(private_model, stranger):
    hidden = api(stranger).get("/api/v1/models/owner/secret/")
    missing = api(stranger).get("/api/v1/models/owner/never-was/")
    assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json()


def test_the_model_detail_has_its_parts_and_hides_private_relatives(owner, stranger):
    license_ = LicenseFactory()
    base = MLModelFactory(owner=owner, name="base", license=license_)
    hidden_base = MLModelFactory(owner=owner, name="hidden-base", visibility="private")
    model = MLModelFactory(owner=owner, name="child", architecture_family="transformer")
    TransformerDetails.objects.create(model=model, decoder_count=12, embedding_size=768)
    ModelLineage.objects.create(model=model, base=base, relation="fine_tune")
    ModelLineage.objects.create(model=model, base=hidden_base, relation="merge")
    data = api(stranger).get("/api/v1/models/owner/child/").json()
    assert data["architecture_details"] == {
        "family": "transformer",
        "decoder_count": 12,
        "attention_size": None,
        "up_size": None,
        "down_size": None,
        "embedding_size": 768,
    }
    assert data["bases"] == [{"model": {"id": base.pk, "owner": "owner", "name": "base"}, "relation": "fine_tune"}]
    owner_view = api(owner).get("/api/v1/models/owner/child/").json()
    assert {b["model"]["name"] for b in owner_view["bases"]} == {"base", "hidden-base"}
    assert api(stranger).get("/api/v1/models/owner/base/").json()["license"] == "apache-2.0"


# --- writes ----------------------------------------------------------------------------------


def test_creating_a_model_with_transformer_details(owner):
    TaskFactory(slug="text-generation")
    LicenseFactory()
    response = api(owner).post(
        "/api/v1/models/",
        {
            "name": "tiny-gpt",
            "card": "# Tiny",
            "media": ["text"],
            "tasks": ["text-generation"],
            "training_type": "pretrain",
            "parameter_count": 1000,
            "license": "apache-2.0",
            "architecture": {"family": "transformer", "decoder_count": 2, "embedding_size": 64},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    model = MLModel.objects.get(owner=owner, name="tiny-gpt")
    assert model.transformer.decoder_count == 2 and model.architecture_family == "transformer"
    assert [t.slug for t in model.tasks.all()] == ["text-generation"] and model.license.key == "apache-2.0"
    assert AuditEvent.objects.filter(action="asset.create", target_id=str(model.pk)).exists()


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"name": "a/b"}, "name"),
        ({"name": "x", "parameter_count": -1}, "parameter_count"),
        ({"name": "x", "media": ["smell"]}, "media"),
        ({"name": "x", "tasks": ["no-such-task"]}, "tasks"),
        ({"name": "x", "architecture": {"family": "mamba"}}, "architecture"),
        ({"name": "taken"}, "name"),
        ({"name": "x", "license": "not-a-licence"}, "license"),
        ({}, "name"),
    ],
)
def test_bad_model_input_gets_400_naming_the_field_and_saves_nothing(owner, payload, field):
    MLModelFactory(owner=owner, name="taken")
    before = MLModel.objects.count()
    response = api(owner).post("/api/v1/models/", payload, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert MLModel.objects.count() == before


@pytest.mark.parametrize(
    "role,status", [("anonymous", 401), ("stranger", 404), ("grantee", 403), ("owner", 200), ("admin_user", 200)]
)
def test_only_editors_change_a_model(request, role, status, private_model):
    response = as_role(request, role).patch("/api/v1/models/owner/secret/", {"card": "changed"}, format="json")
    assert response.status_code == status
    private_model.refresh_from_db()
    assert (private_model.card == "changed") == (status == 200)


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("stranger", 404), ("grantee", 403), ("owner", 204)])
def test_only_editors_delete_a_dataset(request, role, status, private_dataset):
    assert as_role(request, role).delete("/api/v1/datasets/owner/secret-data/").status_code == status
    assert Dataset.objects.filter(pk=private_dataset.pk).exists() == (status != 204)


def test_a_manage_grant_allows_visibility_changes_and_they_are_audited(owner, grantee, private_model):
    sharing.grant_access(by=owner, asset=private_model, permission="manage", user=grantee)
    response = api(grantee).patch("/api/v1/models/owner/secret/", {"visibility": "public"}, format="json")
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="asset.visibility", actor=grantee).exists()


def test_creating_and_updating_a_dataset_with_exai_fields(owner):
    response = api(owner).post(
        "/api/v1/datasets/",
        {
            "name": "survey",
            "media": ["tabular"],
            "year": 2024,
            "instances_number": 1000,
            "informed_consent": True,
            "anonymization_applied": False,
            "global_missing_percentage": 2.5,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    response = api(owner).patch("/api/v1/datasets/owner/survey/", {"global_missing_percentage": 120}, format="json")
    assert response.status_code == 400 and "global_missing_percentage" in response.json()
    assert Dataset.objects.get(name="survey").global_missing_percentage == 2.5


def test_lineage_edges_through_the_api_refuse_cycles(owner, stranger):
    a, b = MLModelFactory(owner=owner, name="a"), MLModelFactory(owner=owner, name="b")
    client = api(owner)
    response = client.post(
        "/api/v1/models/owner/a/lineage/", {"base": "owner/b", "relation": "fine_tune"}, format="json"
    )
    assert response.status_code == 201
    cycle = client.post("/api/v1/models/owner/b/lineage/", {"base": "owner/a", "relation": "merge"}, format="json")
    assert cycle.status_code == 400 and "cycle" in str(cycle.json()["base"])
    assert (
        api(stranger)
        .post("/api/v1/models/owner/a/lineage/", {"base": "owner/b", "relation": "merge"}, format="json")
        .status_code
        == 403
    )
    edge = ModelLineage.objects.get(model=a, base=b)
    assert client.delete(f"/api/v1/models/owner/a/lineage/{edge.pk}/").status_code == 204
    assert not ModelLineage.objects.exists()


def test_dataset_links_through_the_api_are_listed_with_an_id_and_removed_by_editors_only(owner, grantee, stranger):
    from accounts import services as sharing
    from accounts.models import AuditEvent

    model = MLModelFactory(owner=owner, name="m")
    DatasetFactory(owner=owner, name="d")
    created = api(owner).post(
        "/api/v1/models/owner/m/datasets/", {"dataset": "owner/d", "role": "trained_on"}, format="json"
    )
    assert created.status_code == 201, created.content
    link_id = created.json()["id"]
    assert api().get("/api/v1/models/owner/m/datasets/").json() == [
        {"id": link_id, "dataset": created.json()["dataset"], "role": "trained_on"}
    ]
    url = f"/api/v1/models/owner/m/datasets/{link_id}/"
    assert api().delete(url).status_code in (401, 403)
    assert api(stranger).delete(url).status_code == 403
    sharing.grant_access(by=owner, asset=model, permission="read", user=grantee)
    assert api(grantee).delete(url).status_code == 403  # reading is not editing
    assert api(owner).delete("/api/v1/models/owner/m/datasets/999999/").status_code == 404
    assert ModelDataset.objects.filter(pk=link_id).exists()
    assert api(owner).delete(url).status_code == 204
    assert not ModelDataset.objects.filter(pk=link_id).exists()
    assert AuditEvent.objects.filter(action="dataset_link.remove").count() == 1


def test_grants_and_invitations_through_the_api(owner, grantee, stranger, affiliation):
    MLModelFactory(owner=owner, name="m", visibility="private")
    client = api(owner)
    response = client.post("/api/v1/models/owner/m/grants/", {"user": "grantee", "permission": "read"}, format="json")
    assert response.status_code == 201
    assert api(grantee).get("/api/v1/models/owner/m/").status_code == 200
    assert api(grantee).get("/api/v1/models/owner/m/grants/").status_code == 403  # may see, may not manage
    assert api(stranger).get("/api/v1/models/owner/m/grants/").status_code == 404
    bad = client.post(
        "/api/v1/models/owner/m/grants/",
        {"user": "grantee", "affiliation": affiliation.name, "permission": "read"},
        format="json",
    )
    assert bad.status_code == 400
    assert client.delete(f"/api/v1/models/owner/m/grants/{response.json()['id']}/").status_code == 204
    assert api(grantee).get("/api/v1/models/owner/m/").status_code == 404
    invitation = client.post(
        "/api/v1/models/owner/m/invitations/", {"email": "x@example.org", "permission": "read"}, format="json"
    )
    assert invitation.status_code == 201 and len(invitation.json()["token"]) > 20
    assert (
        "token" not in client.get("/api/v1/models/owner/m/invitations/").json()[0]
        or client.get("/api/v1/models/owner/m/invitations/").json()[0]["token"] is None
    )
    assert client.delete(f"/api/v1/models/owner/m/invitations/{invitation.json()['id']}/").status_code == 204


@pytest.mark.usefixtures("file_store", "eager_celery")
def test_files_through_the_api_upload_list_versions_download_delete(owner, stranger):
    MLModelFactory(owner=owner, name="m")
    client = api(owner)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            "/api/v1/models/owner/m/files/",
            {"file": io.BytesIO(b'{"a": 1}'), "path": "config.json"},
            format="multipart",
        )
    assert response.status_code == 201, response.json()
    assert client.get("/api/v1/models/owner/m/files/").json()[0]["path"] == "config.json"
    versions = client.get("/api/v1/models/owner/m/versions/config.json").json()
    assert [(v["number"], v["status"]) for v in versions] == [(1, "ready")]
    download = client.get("/api/v1/models/owner/m/resolve/config.json")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b'{"a": 1}'
    bad = client.post(
        "/api/v1/models/owner/m/files/", {"file": io.BytesIO(b"x"), "path": "../x.txt"}, format="multipart"
    )
    assert bad.status_code == 400 and "path" in bad.json()
    kind = client.post(
        "/api/v1/models/owner/m/files/", {"file": io.BytesIO(b"MZ"), "path": "run.exe"}, format="multipart"
    )
    assert kind.status_code == 400 and "not accepted" in kind.json()["file"][0]
    assert (
        api(stranger)
        .post("/api/v1/models/owner/m/files/", {"file": io.BytesIO(b"x"), "path": "a.txt"}, format="multipart")
        .status_code
        == 403
    )
    assert client.delete("/api/v1/models/owner/m/resolve/config.json").status_code == 204
    assert client.get("/api/v1/models/owner/m/resolve/config.json").status_code == 404
    assert client.get("/api/v1/models/owner/m/resolve/config.json?version=1").status_code == 200


def test_users_and_affiliations_are_for_admins_only(owner, curator, admin_user):
    for user in (None, owner, curator):
        assert api(user).get("/api/v1/users/").status_code in (401, 403)
        assert api(user).get("/api/v1/affiliations/").status_code in (401, 403)
    assert api(admin_user).get("/api/v1/users/").status_code == 200
    response = api(admin_user).patch("/api/v1/users/owner/", {"role": "curator"}, format="json")
    assert response.status_code == 200
    owner.refresh_from_db()
    assert owner.role == "curator" and owner.is_staff
    assert api(admin_user).post("/api/v1/affiliations/", {"name": "Lab"}, format="json").status_code == 201


def test_tasks_are_listed_for_everyone():
    TaskFactory(slug="fill-mask", name="Fill mask", modality="text")
    assert {"slug": "fill-mask", "name": "Fill mask", "modality": "text"} in api().get("/api/v1/tasks/").json()


# --- filters, search, sorting, pagination --------------------------------------------------------


@pytest.fixture
def catalogue(owner, stranger):
    text_gen, classify = TaskFactory(slug="text-generation"), TaskFactory(slug="image-classification")
    apache = LicenseFactory()
    nc = LicenseFactory(key="cc-by-nc-4.0", spdx_id="CC-BY-NC-4.0", name="CC BY-NC 4.0", category="non_commercial")
    llm = MLModelFactory(
        owner=owner,
        name="llm",
        parameter_count=7_000_000_000,
        architecture_family="transformer",
        training_type="pretrain",
        license=apache,
        downloads=50,
    )
    llm.tasks.add(text_gen)
    llm.media.add("text")
    tuned = MLModelFactory(
        owner=stranger,
        name="llm-chat",
        parameter_count=7_000_000_000,
        architecture_family="transformer",
        training_type="finetune",
        license=nc,
        downloads=5,
    )
    tuned.tasks.add(text_gen)
    tuned.media.add("text")
    ModelLineage.objects.create(model=tuned, base=llm, relation="fine_tune")
    cnn = MLModelFactory(
        owner=owner,
        name="resnet",
        parameter_count=25_000_000,
        architecture_family="cnn",
        training_type="pretrain",
        downloads=500,
    )
    cnn.tasks.add(classify)
    cnn.media.add("image")
    unknown = MLModelFactory(owner=owner, name="mystery", parameter_count=None)
    return {"llm": llm, "tuned": tuned, "cnn": cnn, "unknown": unknown}


def names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    "query,expected",
    [
        ("task=text-generation", {"llm", "llm-chat"}),
        ("task=text-generation&task=image-classification", {"llm", "llm-chat", "resnet"}),
        ("media=image", {"resnet"}),
        ("architecture=cnn", {"resnet"}),
        ("training_type=finetune", {"llm-chat"}),
        ("license=apache-2.0", {"llm"}),
        ("license_category=non_commercial", {"llm-chat"}),
        ("has_license=false", {"resnet", "mystery"}),
        ("parameters_min=1000000000", {"llm", "llm-chat"}),
        ("parameters_max=30000000", {"resnet"}),
        ("owner=stranger", {"llm-chat"}),
        ("base_model=owner/llm", {"llm-chat"}),
        ("relation=fine_tune", {"llm-chat"}),
        ("task=text-generation&architecture=transformer&media=text&training_type=pretrain", {"llm"}),
        ("has_files=true", set()),
        ("created_after=2000-01-01T00:00:00Z", {"llm", "llm-chat", "resnet", "mystery"}),
        ("created_before=2000-01-01T00:00:00Z", set()),
    ],
)
def test_each_model_filter_narrows_correctly(catalogue, query, expected):
    assert set(names(api().get(f"/api/v1/models/?{query}"))) == expected


def test_dataset_filters_follow_the_exai_criteria(owner):
    DatasetFactory(
        owner=owner, name="consented", informed_consent=True, year=2021, instances_number=5000, has_missing_values=False
    )
    DatasetFactory(owner=owner, name="old", informed_consent=False, year=2010, instances_number=10)
    DatasetFactory(owner=owner, name="unknown")
    client = api()
    assert names(client.get("/api/v1/datasets/?informed_consent=true")) == ["consented"]
    assert set(names(client.get("/api/v1/datasets/?informed_consent=false"))) == {"old"}
    assert names(client.get("/api/v1/datasets/?year_min=2020")) == ["consented"]
    assert names(client.get("/api/v1/datasets/?instances_min=100&instances_max=10000")) == ["consented"]
    assert names(client.get("/api/v1/datasets/?has_missing_values=false")) == ["consented"]


@pytest.mark.parametrize(
    "query,field",
    [
        ("sort=bogus", "sort"),
        ("parameters_min=abc", "parameters_min"),
        ("architecture=mamba", "architecture"),
        ("task=no-such-task", "task"),
        ("created_after=yesterday", "created_after"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("cursor=garbage", "cursor"),
        ("has_files=maybe", "has_files"),
        ("parameters_min=-5", "parameters_min"),
    ],
)
def test_bad_query_parameters_get_400_naming_the_parameter(catalogue, query, field):
    response = api().get(f"/api/v1/models/?{query}")
    assert response.status_code == 400 and field in response.json(), response.json()


def test_sorting(catalogue):
    client = api()
    assert names(client.get("/api/v1/models/?sort=downloads")) == ["resnet", "llm", "llm-chat", "mystery"]
    by_size = names(client.get("/api/v1/models/?sort=parameters"))
    assert by_size[-1] == "mystery" and by_size[-2] == "resnet"  # unknown sizes last
    assert names(client.get("/api/v1/models/?sort=-parameters"))[:1] == ["resnet"]
    assert names(client.get("/api/v1/models/?sort=name")) == ["llm", "llm-chat", "mystery", "resnet"]


def test_search_ranks_a_name_match_above_a_card_match(owner):
    MLModelFactory(owner=owner, name="general-model", card="This model was distilled from falcon weights.")
    MLModelFactory(owner=owner, name="falcon-7b", card="A causal decoder.")
    MLModelFactory(owner=owner, name="unrelated", card="Nothing to see.")
    found = names(api().get("/api/v1/models/?search=falcon"))
    assert found == ["falcon-7b", "general-model"]
    task = Task.objects.create(slug="speech-recognition", name="Speech recognition")
    MLModelFactory(owner=owner, name="whisper-small").tasks.add(task)
    assert names(api().get("/api/v1/models/?search=speech")) == ["whisper-small"]


def test_search_never_shows_hidden_assets(owner, stranger):
    MLModelFactory(owner=owner, name="falcon-private", visibility="private")
    assert names(api(stranger).get("/api/v1/models/?search=falcon")) == []
    assert names(api(owner).get("/api/v1/models/?search=falcon")) == ["falcon-private"]


@pytest.mark.parametrize("sort", ["updated", "downloads", "parameters", "-parameters", "name", "created"])
def test_cursor_pagination_returns_every_row_once_while_rows_are_inserted(owner, sort):
    for i in range(23):
        MLModelFactory(owner=owner, name=f"m{i:02d}", downloads=i % 4, parameter_count=None if i % 5 == 0 else i % 3)
    originals = set(MLModel.objects.values_list("name", flat=True))
    seen: list[str] = []
    url = f"/api/v1/models/?sort={sort}&limit=5"
    inserted = 0
    while url:
        response = api().get(url)
        assert response.status_code == 200
        body = response.json()
        seen += [row["name"] for row in body["results"]]
        if body["next"]:
            assert f'<{body["next"]}>; rel="next"' in response["Link"]
        MLModelFactory(owner=owner, name=f"new{inserted}", downloads=2, parameter_count=1)  # lands anywhere
        inserted += 1
        url = body["next"]
    assert len(seen) == len(set(seen)), "a row was returned twice"
    assert originals <= set(seen), f"missing: {originals - set(seen)}"


@pytest.mark.parametrize("sort", ["updated", "downloads", "parameters", "-parameters", "name"])
def test_previous_links_walk_back_through_exactly_the_same_pages(owner, sort):
    for i in range(23):
        MLModelFactory(owner=owner, name=f"m{i:02d}", downloads=i % 4, parameter_count=None if i % 5 == 0 else i % 3)
    forward, url = [], f"/api/v1/models/?sort={sort}&limit=5"
    while url:
        body = api().get(url).json()
        assert (body["previous"] is None) == (not forward)  # only the first page has none
        forward.append([row["name"] for row in body["results"]])
        url = body["next"]
    assert len(forward) == 5 and sum(map(len, forward)) == 23
    backward, response = [], api().get(url := body["previous"])
    while True:
        assert response.status_code == 200
        body = response.json()
        backward.append([row["name"] for row in body["results"]])
        if not body["previous"]:
            break
        assert f'<{body["previous"]}>; rel="prev"' in response["Link"]
        response = api().get(body["previous"])
    assert backward[::-1] == forward[:-1]  # from the last page back to the first, page for page
    again = api().get(body["next"]).json()  # and forward again from a page reached backwards
    assert [row["name"] for row in again["results"]] == forward[1]


def test_search_results_paginate_by_rank(owner):
    for i in range(7):
        MLModelFactory(owner=owner, name=f"falcon-{i}", card="falcon " * i)
    pages, url = [], "/api/v1/models/?search=falcon&limit=3"
    while url:
        body = api().get(url).json()
        pages.append([r["name"] for r in body["results"]])
        url = body["next"]
    assert sorted(sum(pages, [])) == sorted(f"falcon-{i}" for i in range(7))
    back = api().get(body["previous"]).json()  # backwards by rank too
    assert [r["name"] for r in back["results"]] == pages[-2]


def test_list_endpoints_use_a_fixed_number_of_queries(owner, django_assert_num_queries, catalogue):
    text_generation = Task.objects.get(slug="text-generation")
    for i in range(10):
        model = MLModelFactory(owner=owner, name=f"extra{i}", card="extra weights")
        model.tasks.add(text_generation)
        model.media.add("text")
        DatasetFactory(owner=owner, name=f"d{i}").media.add("tabular")
    client = api(owner)
    with django_assert_num_queries(2):  # models, then their media and tasks in one statement
        assert len(client.get("/api/v1/models/").json()["results"]) == 14
    with django_assert_num_queries(2):  # datasets, then their media, tasks and domains in one statement
        assert len(client.get("/api/v1/datasets/").json()["results"]) == 10
    # + the task slugs' validation and the search's candidate and ranking queries (catalog/search.py: the id
    # tiers, exact, prefix, substring and owner, in one statement, fuzzy names in one more; pg_trgm's threshold
    # set as the connection opens), then the page and its rows' relations. A fixed number, whatever the page holds.
    with django_assert_num_queries(6 if connection.vendor == "postgresql" else 7):  # (PG: every word and any)
        assert (
            len(client.get("/api/v1/models/?task=text-generation&search=weights&sort=downloads").json()["results"])
            == 10
        )


def test_search_uses_the_gin_index_on_postgresql(catalogue):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL full-text search")
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM catalog_mlmodel WHERE search_vector @@ websearch_to_tsquery('simple', 'llm')"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "mlmodel_search_gin" in plan


def test_the_search_vector_follows_name_card_and_task_changes(owner):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL triggers")
    model = MLModelFactory(owner=owner, name="alpha", card="")
    assert names(api().get("/api/v1/models/?search=omega")) == []
    MLModel.objects.filter(pk=model.pk).update(card="omega")
    assert names(api().get("/api/v1/models/?search=omega")) == ["alpha"]
    model.tasks.add(Task.objects.create(slug="zeta-task", name="Zeta things"))
    assert names(api().get("/api/v1/models/?search=zeta")) == ["alpha"]
    model.tasks.clear()
    assert names(api().get("/api/v1/models/?search=zeta")) == []


def test_downloads_through_the_api_need_visibility(owner, stranger, file_store, eager_celery):
    model = MLModelFactory(owner=owner, name="m", visibility="private")
    with TestCase.captureOnCommitCallbacks(execute=True):
        files.upload_file(user=owner, asset=model, path="a.txt", content=io.BytesIO(b"secret"))
    assert api(stranger).get("/api/v1/models/owner/m/resolve/a.txt").status_code == 404
    assert api().get("/api/v1/models/owner/m/versions/a.txt").status_code == 404


def test_a_time_zone_offset_postgresql_cannot_store_is_a_400_not_a_500(catalogue):
    response = api().get("/api/v1/models/?updated_after=0400-07-19T16:59:02%2B22:33")
    assert response.status_code == 400 and "updated_after" in response.json()
    assert api().get("/api/v1/models/facets?created_before=2024-01-01T00:00:00%2B14:00").status_code == 200
