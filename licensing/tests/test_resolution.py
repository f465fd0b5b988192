"""One reading of a declared licence string, whichever door it comes through (issue 14, item 7)."""

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from catalog.models import Dataset, MLModel
from catalog.records import load_records
from catalog.tests.factories import DatasetFactory, MLModelFactory
from catalog.tests.test_pages import model_post
from licensing import services
from licensing.models import ComplianceReport, License, LicenseAlias

pytestmark = pytest.mark.django_db

# Declared string -> the licence key every door must give (None: kept unresolved and flagged).
DECLARED = {
    "apache-2.0": "apache-2.0",
    "Apache-2.0": "apache-2.0",
    "Apache License 2.0": "apache-2.0",
    "MIT": "mit",
    "mit": "mit",
    "cc-by-nc-4.0": "cc-by-nc-4.0",
    "llama3": "llama-3-license-2024",
    "openrail++": "openrail-plus-plus",
    "other": "other",
    "Apache-2.0 OR MIT": "apache-2.0",
    "Totally Custom Licence v7": None,
}


@pytest.fixture
def knowledge_base(db):
    services.load_license_base(resolve_assets=False)


def key_of(asset) -> str | None:
    asset.refresh_from_db()
    return asset.license.key if asset.license else None


def test_the_resolver_reads_each_declared_string_as_expected(knowledge_base):
    aliases = services.all_aliases()

    for text, key in DECLARED.items():
        one_by_one, in_memory = services.resolve_license(text), services.resolve_license(text, aliases=aliases)
        assert (one_by_one and one_by_one.key, in_memory and in_memory.key) == (key, key), text


def test_the_model_form_resolves_declared_strings_like_every_door(knowledge_base, owner, client):
    client.force_login(owner)

    for i, text in enumerate(DECLARED):
        response = client.post("/models/new/", model_post(name=f"m-{i}", license_text=text))
        assert response.status_code == 302, text
        created = MLModel.objects.get(owner=owner, name=f"m-{i}")
        assert (key_of(created), created.license_declared) == (DECLARED[text], text), text


def test_the_api_resolves_license_declared_on_create_and_patch(knowledge_base, owner):
    api = APIClient()
    api.force_authenticate(owner)

    for i, text in enumerate(DECLARED):
        created = api.post("/api/v1/models/", {"name": f"m-{i}", "license_declared": text}, format="json")
        assert created.status_code == 201, created.content
        assert (created.json()["license"], created.json()["license_declared"]) == (DECLARED[text], text), text
        dataset = api.post("/api/v1/datasets/", {"name": f"d-{i}", "license_declared": text}, format="json")
        assert dataset.json()["license"] == DECLARED[text], text
    patched = MLModelFactory(owner=owner, name="patched", license=None, license_declared="")
    for text in DECLARED:
        response = api.patch("/api/v1/models/owner/patched/", {"license_declared": text}, format="json")
        assert response.status_code == 200, response.content
        assert (key_of(patched), patched.license_declared) == (DECLARED[text], text), text


def test_the_api_declares_the_key_of_a_licence_sent_alone_and_keeps_both_when_both_are_sent(knowledge_base, owner):
    api = APIClient()
    api.force_authenticate(owner)

    alone = api.post("/api/v1/models/", {"name": "alone", "license": "mit"}, format="json").json()
    both = api.post(
        "/api/v1/models/",
        {"name": "both", "license": "mit", "license_declared": "MIT licence, see card"},
        format="json",
    ).json()

    assert (alone["license"], alone["license_declared"]) == ("mit", "mit")
    assert (both["license"], both["license_declared"]) == ("mit", "MIT licence, see card")


def test_load_records_resolves_declared_strings_like_every_door(knowledge_base):
    records = {
        "format": "openmodelhub/records-v1",
        "users": [{"username": "loader", "email": "l@example.org"}],
        "models": [{"owner": "loader", "name": f"m-{i}", "license": text} for i, text in enumerate(DECLARED)],
        "datasets": [{"owner": "loader", "name": f"d-{i}", "license": text} for i, text in enumerate(DECLARED)],
    }

    load_records(records)

    for i, text in enumerate(DECLARED):
        for cls, prefix in ((MLModel, "m"), (Dataset, "d")):
            asset = cls.objects.get(owner__username="loader", name=f"{prefix}-{i}")
            assert (key_of(asset), asset.license_declared) == (DECLARED[text], text), (cls.__name__, text)


def admin_save(client, asset, **changes):
    from django.urls import reverse

    from catalog.tests.test_admin import form_data

    url = reverse(f"admin:catalog_{asset._meta.model_name}_change", args=[asset.pk])
    response = client.post(url, form_data(client.get(url)) | changes)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors


def test_the_admin_resolves_declared_strings_like_every_door(knowledge_base, admin_user, client):
    client.force_login(admin_user)
    model = MLModelFactory(name="curated", license=None, license_declared="")
    dataset = DatasetFactory(name="curated-data", license=None, license_declared="")

    for text in DECLARED:
        for asset in (model, dataset):
            admin_save(client, asset, license_declared=text)
            assert (key_of(asset), asset.license_declared) == (DECLARED[text], text), (asset, text)


def test_a_licence_chosen_in_the_admin_for_an_unresolved_declared_string_keeps_the_string(
    knowledge_base, admin_user, client
):
    client.force_login(admin_user)
    model = MLModelFactory(name="custom", license=None, license_declared="Totally Custom Licence v7")
    mit = License.objects.get(key="mit")

    admin_save(client, model, license=mit.pk)
    assert (key_of(model), model.license_declared) == ("mit", "Totally Custom Licence v7")
    admin_save(client, model, license=License.objects.get(key="apache-2.0").pk, license_declared="MIT")
    assert (key_of(model), model.license_declared) == ("apache-2.0", "MIT")  # both given: kept as given


@pytest.fixture
def acme(db):
    """Assets declaring a licence the knowledge base does not know yet."""
    unresolved = MLModelFactory(name="unresolved", license=None, license_declared="Acme Open Model Licence 1.0")
    other = License.objects.create(key="other", name="Other", category=License.Category.UNKNOWN)
    vague = MLModelFactory(name="vague", license=other, license_declared="acme-oml")
    data = DatasetFactory(name="data", license=None, license_declared="Acme Open Model Licence 1.0")
    return {"unresolved": unresolved, "vague": vague, "data": data}


def grow_the_knowledge_base() -> License:
    lic = License.objects.create(
        key="acme-oml-1.0",
        name="Acme Open Model Licence 1.0",
        category="permissive",
        commercial_use=True,
        redistribution=True,
        relicensing="allowed",
        attribution=True,
    )
    LicenseAlias.objects.create(alias="acme-oml", license=lic)
    return lic


def test_resolve_licenses_resolves_stored_strings_after_the_knowledge_base_grew(
    acme, eager_celery, django_capture_on_commit_callbacks
):
    grow_the_knowledge_base()

    dry = StringIO()
    call_command("resolve_licenses", "--dry-run", stdout=dry)
    assert "[dry run] would resolve declared licences: 2 models, 1 datasets" in dry.getvalue()
    assert key_of(acme["unresolved"]) is None

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("resolve_licenses", stdout=out)

    assert "resolved declared licences: 2 models, 1 datasets" in out.getvalue()
    assert [key_of(acme[name]) for name in ("unresolved", "vague", "data")] == ["acme-oml-1.0"] * 3
    assert ComplianceReport.objects.filter(model=acme["unresolved"]).exists()  # re-analysed
    again = StringIO()
    call_command("resolve_licenses", stdout=again)
    assert "resolved declared licences: 0 models, 0 datasets" in again.getvalue()


def test_a_licence_added_in_the_admin_resolves_what_assets_declared(
    acme, admin_user, client, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    data = {
        "key": "acme-oml-1.0",
        "name": "Acme Open Model Licence 1.0",
        "category": "permissive",
        "source": "local",
        "relicensing": "allowed",
        "terms": "{}",
        "commercial_use": "true",
        "redistribution": "true",
        "attribution": "true",
        "use_restrictions": "false",
        "aliases-TOTAL_FORMS": 1,
        "aliases-INITIAL_FORMS": 0,
        "aliases-0-alias": "acme-oml",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/licensing/license/add/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert key_of(acme["unresolved"]) == "acme-oml-1.0" and key_of(acme["vague"]) == "acme-oml-1.0"


def test_a_card_front_matter_resolves_declared_strings_like_every_door(
    knowledge_base, owner, file_store, eager_celery, django_capture_on_commit_callbacks
):
    import json

    from django.core.files.base import ContentFile

    from catalog import files

    for i, text in enumerate(DECLARED):
        model = MLModelFactory(owner=owner, name=f"carded-{i}", license=None, license_declared="")
        card = f"---\nlicense: {json.dumps(text)}\n---\n# Card\n".encode()
        with django_capture_on_commit_callbacks(execute=True):  # the pipeline, then the card, after commit
            files.upload_file(user=owner, asset=model, path="README.md", content=ContentFile(card, name="README.md"))
        assert (key_of(model), model.license_declared) == (DECLARED[text], text), text


def test_a_licence_alias_saved_is_resolved_by_the_next_resolution(knowledge_base):
    assert services.resolve_license("My Lab Licence v1") is None
    LicenseAlias.objects.create(
        alias=services.normalise_alias("My Lab Licence v1"), license=License.objects.get(key="mit")
    )
    assert services.resolve_license("My Lab Licence v1").key == "mit"


def test_a_process_that_read_the_knowledge_base_before_a_change_committed_reads_it_again_after(
    knowledge_base, django_capture_on_commit_callbacks
):
    """Another process may read the base between the save (which moves the generation) and the commit: it then
    holds the base without the change under the new generation, until the commit moves the generation again."""
    import time

    services.known_aliases()
    with django_capture_on_commit_callbacks(execute=True):
        LicenseAlias.objects.create(
            alias=services.normalise_alias("Lab Licence v2"), license=License.objects.get(key="mit")
        )
        before_commit = {
            k: v for k, v in services.all_aliases().items() if k != services.normalise_alias("Lab Licence v2")
        }
        services._known = (services.knowledge_generation(), time.monotonic(), before_commit)  # what it would keep
    assert services.resolve_license("Lab Licence v2").key == "mit"
