"""The browsing pages: layout, lists with facets, detail pages, create / edit / delete, security headers."""

import re

import pytest
from django.test import Client
from django.urls import reverse

import openmodelhub
from accounts.models import Grant
from catalog.models import (
    Dataset,
    DatasetRelationship,
    DatasetRelationshipColumnLink,
    Media,
    MediaType,
    MLModel,
    ModelDataset,
    ModelLineage,
    TransformerDetails,
)
from catalog.tests.factories import (
    DatasetFactory,
    DatasetFileFactory,
    FileColumnFactory,
    LicenseFactory,
    MLModelFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_types(db):
    MediaType.objects.bulk_create([MediaType(slug=slug) for slug in Media.values], ignore_conflicts=True)


def body(response) -> str:
    return response.content.decode()


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def shelf(owner, stranger):
    """Three public models of two families and one private one; two datasets, one private."""
    text_gen, img = (
        TaskFactory(slug="text-generation", name="Text generation"),
        TaskFactory(slug="image-cls", name="Image classification"),
    )
    apache = LicenseFactory()
    llama = MLModelFactory(
        owner=owner,
        name="llama-tiny",
        architecture_family="transformer",
        training_type="pretrain",
        license=apache,
        downloads=30,
        card="A small causal language model",
    )
    llama.tasks.set([text_gen])
    llama.media.set(["text"])
    bert = MLModelFactory(
        owner=owner, name="bert-mini", architecture_family="transformer", training_type="finetune", downloads=20
    )
    bert.tasks.set([text_gen])
    resnet = MLModelFactory(owner=stranger, name="resnet-8", architecture_family="cnn", downloads=10)
    resnet.tasks.set([img])
    resnet.media.set(["image"])
    secret = MLModelFactory(owner=owner, name="secret-model", architecture_family="cnn", visibility="private")
    secret.tasks.set([img])
    shop = DatasetFactory(owner=owner, name="shop", year=2021, informed_consent=True, transparency=False)
    shop.tasks.set([text_gen])
    hidden = DatasetFactory(owner=owner, name="hidden-data", visibility="private")
    return {"llama": llama, "bert": bert, "resnet": resnet, "secret": secret, "shop": shop, "hidden": hidden}


# --- layout and headers ---------------------------------------------------------------------


def test_the_navigation_shows_what_each_role_may_open(client, owner, curator, admin_user):
    anonymous = body(client.get("/"))
    assert 'href="/models/"' in anonymous and 'href="/datasets/"' in anonymous and 'href="/search/"' in anonymous
    assert "Log in" in anonymous and "/insights/" not in anonymous.split("<main")[0]
    assert f"OpenModelHub {openmodelhub.__version__}" in anonymous
    user_page = body(login(client, owner).get("/"))
    nav = user_page.split("<main")[0]
    for link in (
        "/accounts/shared-with-me/",
        "/accounts/sharing/",
        "/accounts/tokens/",
        "/accounts/password/change/",
        "/agent/",
        "/models/new/",
    ):
        assert link in nav
    assert 'href="/insights/"' not in nav and 'href="/accounts/users/"' not in nav
    curator_nav = body(login(Client(), curator).get("/")).split("<main")[0]
    assert 'href="/insights/"' in curator_nav and 'href="/accounts/users/"' not in curator_nav
    admin_nav = body(login(Client(), admin_user).get("/")).split("<main")[0]
    assert 'href="/insights/"' in admin_nav and 'href="/accounts/users/"' in admin_nav


def test_pages_send_a_strict_content_security_policy_and_companions(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in policy
    assert "unsafe-inline" not in policy and "nonce" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "<script>" not in body(response)  # no inline script on our pages (JSON data blocks are not scripts)
    assert " style=" not in body(response) and "<style" not in body(response)


def test_the_swagger_page_alone_gets_a_nonce_for_its_inline_script(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'<script nonce="{nonce}">' in body(response)
    assert client.get("/api/v1/docs/")["Content-Security-Policy"] != response["Content-Security-Policy"]  # fresh
    assert "nonce" not in client.get("/admin/login/")["Content-Security-Policy"]


def test_every_form_carries_a_csrf_token_and_posts_without_one_are_refused(owner, shelf):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    for url in ("/models/new/", "/datasets/new/", "/models/owner/llama-tiny/edit/", "/models/owner/llama-tiny/delete/"):
        page = body(client.get(url))
        assert page.count("<form") == page.count("csrfmiddlewaretoken") + page.count('method="get"'), url
    assert client.post("/models/new/", {"name": "x"}).status_code == 403


# --- home and search ------------------------------------------------------------------------


def test_the_home_page_has_a_search_box_and_the_insights_summary(client, shelf):
    page = body(client.get("/"))
    assert 'action="/search/"' in page and 'name="q"' in page
    assert "insights-summary" in page and "llama-tiny" in page and "secret-model" not in page


def test_search_finds_models_and_datasets_the_viewer_may_see(client, owner, shelf):
    page = client.get("/search/", {"q": "llama"})
    assert [m.name for m in page.context["results"]["models"]] == ["llama-tiny"]
    assert "/models/?search=llama" in body(page)
    assert client.get("/search/", {"q": "secret"}).context["results"]["models"] == []
    assert [m.name for m in login(client, owner).get("/search/", {"q": "secret"}).context["results"]["models"]] == [
        "secret-model"
    ]


# --- lists ------------------------------------------------------------------------------------


def facet(response, param) -> dict:
    found = next(f for f in response.context["facets"] if f["param"] == param)
    return {v["value"]: v["count"] for v in found["values"]}


def test_the_model_list_counts_facet_values_over_the_visible_otherwise_filtered_set(client, owner, shelf):
    response = client.get("/models/")
    assert response.status_code == 200
    assert [m.name for m in response.context["page"].rows] == ["llama-tiny", "bert-mini", "resnet-8"] or {
        m.name for m in response.context["page"].rows
    } == {"llama-tiny", "bert-mini", "resnet-8"}
    assert facet(response, "architecture") == {"transformer": 2, "cnn": 1}
    assert facet(response, "task") == {"text-generation": 2, "image-cls": 1}
    narrowed = client.get("/models/", {"task": "image-cls"})
    assert [m.name for m in narrowed.context["page"].rows] == ["resnet-8"]
    assert facet(narrowed, "architecture") == {"cnn": 1}  # narrowed by the task
    assert facet(narrowed, "task") == {"text-generation": 2, "image-cls": 1}  # its own facet is not narrowed
    assert 'name="task" value="image-cls" checked' in body(narrowed)
    mine = login(client, owner).get("/models/", {"architecture": "cnn"})
    assert {m.name for m in mine.context["page"].rows} == {"resnet-8", "secret-model"}
    assert facet(mine, "architecture") == {"transformer": 2, "cnn": 2}


def test_the_model_list_searches_sorts_and_pages_with_bookmarkable_links(client, owner, shelf):
    assert [m.name for m in client.get("/models/", {"search": "causal"}).context["page"].rows] == ["llama-tiny"]
    by_downloads = client.get("/models/", {"sort": "downloads"}).context["page"].rows
    assert [m.name for m in by_downloads] == ["llama-tiny", "bert-mini", "resnet-8"]
    for i in range(25):
        MLModelFactory(owner=owner, name=f"bulk-{i:02}", downloads=1000 - i)
    first = client.get("/models/", {"sort": "downloads"})
    page = first.context["page"]
    assert len(page.rows) == 20 and page.total == 28 and page.next_cursor
    next_link = re.search(r'href="(\?[^"]*cursor=[^"]+)" rel="next"', body(first)).group(1).replace("&amp;", "&")
    assert "sort=downloads" in next_link
    second = client.get("/models/" + next_link)
    assert [m.name for m in second.context["page"].rows] == [
        "bulk-20",
        "bulk-21",
        "bulk-22",
        "bulk-23",
        "bulk-24",
        "llama-tiny",
        "bert-mini",
        "resnet-8",
    ]
    assert second.context["page"].next_cursor is None and 'rel="first"' in body(second)
    previous = re.search(r'href="(\?[^"]*cursor=[^"]+)" rel="prev"', body(second)).group(1).replace("&amp;", "&")
    back = client.get("/models/" + previous)
    assert [m.name for m in back.context["page"].rows] == [m.name for m in page.rows]
    assert back.context["page"].is_first and 'rel="prev"' not in body(back) and 'rel="first"' not in body(back)


def test_the_model_list_makes_a_fixed_number_of_queries(client, owner, shelf, django_assert_num_queries):
    for i in range(30):
        MLModelFactory(owner=owner, name=f"more-{i}").tasks.set([shelf["llama"].tasks.first()])
    login(client, owner)
    client.get("/models/", {"media": "text"})  # one-offs, and the facet counts of this cache period
    # user, the grants reaching them (the cached counts' scope), count, page, its tasks; the facet counts
    # come from the API's cache (catalog.api.facets.sidebar), the session from the cache (cached_db)
    with django_assert_num_queries(5):
        assert client.get("/models/", {"media": "text"}).status_code == 200


def test_bad_list_parameters_show_the_errors_not_a_server_error(client, shelf):
    response = client.get("/models/", {"architecture": "quantum", "parameters_min": "lots", "sort": "random"})
    assert response.status_code == 400
    page = body(response)
    assert "Some filters are not valid" in page and "parameters_min" in page and "architecture" in page
    cursor = client.get("/models/", {"cursor": "not-a-cursor"})
    assert cursor.status_code == 400 and "Invalid cursor" in body(cursor)


def test_the_dataset_list_has_its_own_facets_and_hides_private_datasets(client, stranger, shelf):
    response = login(client, stranger).get("/datasets/")
    assert [d.name for d in response.context["page"].rows] == ["shop"]
    assert {f["param"] for f in response.context["facets"]} == {"media", "task", "domain", "license_category"}
    assert client.get("/datasets/", {"informed_consent": "true"}).context["page"].total == 1
    assert client.get("/datasets/", {"year_min": "2022"}).context["page"].total == 0


# --- detail pages -----------------------------------------------------------------------------


def test_the_model_page_shows_its_parts_and_the_owner_gets_share_and_edit(client, owner, stranger, shelf):
    llama, bert = shelf["llama"], shelf["bert"]
    TransformerDetails.objects.create(model=llama, decoder_count=4, attention_size=256, embedding_size=512)
    ModelLineage.objects.create(model=bert, base=llama, relation="distillation")
    ModelDataset.objects.create(model=llama, dataset=shelf["shop"], role="trained_on")
    llama.authors.set([owner])
    page = body(client.get("/models/owner/llama-tiny/"))
    for text in (
        "Transformer details",
        "<td>512</td>",
        "Text generation",
        "Apache License 2.0",
        "Permissive",
        "owner/bert-mini",
        "distillation of this model",
        "Trained on",
        "owner/shop",
        "Licence compliance",
        "No files yet",
    ):
        assert text in page, text
    assert "/accounts/share/" not in page and "/edit/" not in page
    mine = body(login(client, owner).get("/models/owner/llama-tiny/"))
    assert "/accounts/share/models/owner/llama-tiny/" in mine and "/models/owner/llama-tiny/edit/" in mine
    assert "Distillation of" in body(client.get("/models/owner/bert-mini/"))


def test_the_card_is_markdown_without_scripts_handlers_or_javascript_links(client, owner):
    MLModelFactory(
        owner=owner,
        name="tricky",
        card=(
            "# Title\n\nSome **bold** text and a [link](https://example.org).\n\n"
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3))\n\n"
            '<a href="#" onclick="alert(4)">x</a>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n'
        ),
    )
    card = body(client.get("/models/owner/tricky/")).split('aria-label="Model card">')[1].split("</article>")[0]
    assert "<h1>Title</h1>" in card and "<strong>bold</strong>" in card and "<table>" in card
    assert 'href="https://example.org" rel="noopener noreferrer nofollow"' in card
    assert "<script" not in card and "onerror" not in card and "onclick" not in card and "javascript:" not in card


def test_private_assets_are_404_to_strangers_and_visible_to_grantees(client, owner, stranger, grantee, shelf):
    urls = [
        "/models/owner/secret-model/",
        "/datasets/owner/hidden-data/",
        "/models/owner/secret-model/edit/",
        "/datasets/owner/hidden-data/edit/",
        "/models/owner/secret-model/delete/",
        "/datasets/owner/hidden-data/delete/",
        "/models/owner/secret-model/files/",
    ]
    for url in urls:
        assert client.get(url).status_code in (302, 404), url  # anonymous: log in first, or 404
    login(client, stranger)
    for url in urls:
        assert client.get(url).status_code == 404, url
    Grant.objects.create(model=shelf["secret"], user=grantee, permission="read", created_by=owner)
    login(client, grantee)
    assert client.get("/models/owner/secret-model/").status_code == 200
    assert client.get("/models/owner/secret-model/edit/").status_code == 403  # visible, read-only
    assert client.get("/datasets/owner/hidden-data/").status_code == 404


def test_the_dataset_page_groups_the_exai_metadata_and_describes_files_columns_and_links(client, owner, shelf):
    shop = shelf["shop"]
    Dataset.objects.filter(pk=shop.pk).update(
        instances_number=1200, has_missing_values=False, representativity_level="high"
    )
    users = DatasetFileFactory(dataset=shop, path="users.csv", format="csv", row_count=100)
    orders = DatasetFileFactory(dataset=shop, path="orders.csv", format="csv", row_count=1000)
    uid = FileColumnFactory(
        dataset_file=users,
        name="user_id",
        data_type_original="int64",
        is_pii=False,
        is_primary_key_component=True,
        position=1,
        stats={"min": 1, "max": 100},
    )
    FileColumnFactory(
        dataset_file=users,
        name="email",
        data_type_interpreted="text",
        is_pii=True,
        position=2,
        example_values=["a@example.org"],
    )
    ouid = FileColumnFactory(dataset_file=orders, name="customer_id", position=1)
    rel = DatasetRelationship.objects.create(
        dataset=shop, from_file=orders, to_file=users, relationship_type="foreign_key"
    )
    DatasetRelationshipColumnLink.objects.create(relationship=rel, from_column=ouid, to_column=uid)
    ModelDataset.objects.create(model=shelf["llama"], dataset=shop, role="trained_on")
    ModelDataset.objects.create(model=shelf["secret"], dataset=shop, role="evaluated_on")
    page = body(client.get("/datasets/owner/shop/"))
    for text in (
        "Identification",
        "Technical characteristics",
        "Ethics checklist",
        "1,200",
        "High",
        'answer yes">yes',
        'answer no">no',
        'answer unknown">unknown',
        "users.csv",
        "email",
        '<span class="badge pii">PII</span>',
        "a@example.org",
        "<dt>max</dt><dd>100</dd>",
        "Foreign key",
        "orders.csv.customer_id</code> → <code>users.csv.user_id",
        "owner/llama-tiny",
        "trained on",
    ):
        assert text in page, text
    assert "secret-model" not in page  # a private model using it stays hidden


# --- create, edit, delete ---------------------------------------------------------------------


def model_post(**changes) -> dict:
    data = {
        "action": "save",
        "name": "new-llm",
        "visibility": "public",
        "training_type": "pretrain",
        "architecture_family": "transformer",
        "architecture_name": "LlamaForCausalLM",
        "parameter_count": "1000",
        "license_text": "apache-2.0",
        "media": ["text"],
        "tasks": [],
        "authors": "",
        "card": "# New",
        "transformer-decoder_count": "12",
        "transformer-attention_size": "768",
        "transformer-up_size": "",
        "transformer-down_size": "",
        "transformer-embedding_size": "768",
        "cnn-module_count": "",
        "rnn-criterion": "",
        "rnn-batch_size": "",
        "rnn-input_size": "",
        "module-TOTAL_FORMS": "3",
        "module-INITIAL_FORMS": "0",
        "module-MIN_NUM_FORMS": "0",
        "module-MAX_NUM_FORMS": "64",
    }
    for i in range(3):
        data |= {f"module-{i}-conv_size": "", f"module-{i}-pooling_type": ""}
    return data | changes


def test_creating_a_model_needs_a_login(client):
    assert client.get("/models/new/")["Location"].startswith("/accounts/login/")


def test_a_model_is_created_with_its_transformer_details(client, owner):
    LicenseFactory()
    TaskFactory(slug="text-generation")
    response = login(client, owner).post("/models/new/", model_post(tasks=["text-generation"], authors="owner"))
    assert response.status_code == 302 and response["Location"] == "/models/owner/new-llm/files/"
    model = MLModel.objects.get(owner=owner, name="new-llm")
    assert model.license.key == "apache-2.0" and model.license_declared == "apache-2.0"
    assert (model.transformer.decoder_count, model.transformer.embedding_size) == (12, 768)
    assert list(model.media.values_list("slug", flat=True)) == ["text"]
    assert [t.slug for t in model.tasks.all()] == ["text-generation"] and list(model.authors.all()) == [owner]


def test_a_cnn_model_keeps_its_modules_in_order(client, owner):
    data = model_post(
        architecture_family="cnn",
        **{
            "cnn-module_count": "2",
            "module-0-conv_size": "3",
            "module-0-pooling_type": "max",
            "module-1-conv_size": "5",
            "module-1-pooling_type": "avg",
        },
    )
    assert login(client, owner).post("/models/new/", data).status_code == 302
    model = MLModel.objects.get(name="new-llm")
    assert [(m.position, m.conv_size, m.pooling_type) for m in model.cnn.modules.all()] == [
        (1, 3, "max"),
        (2, 5, "avg"),
    ]
    assert not TransformerDetails.objects.filter(model=model).exists()


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"name": "bad/name"}, "name", "may not contain"),
        ({"parameter_count": "-5"}, "parameter_count", "Must be zero or more"),
        ({"transformer-decoder_count": "many"}, "transformer-decoder_count", "whole number"),
        ({"authors": "nobody-here"}, "authors", "No active user named nobody-here"),
        ({"architecture_family": "cnn", "module-0-conv_size": "3"}, "module-0-conv_size", "Give both"),
    ],
)
def test_model_form_errors_are_shown_in_place_and_nothing_is_saved(client, owner, changes, field, message):
    response = login(client, owner).post("/models/new/", model_post(**changes))
    assert response.status_code == 200 and message in body(response)
    assert 'class="error"' in body(response)
    assert not MLModel.objects.exists()


def test_a_duplicate_name_is_refused_by_the_service_and_shown_on_the_form(client, owner):
    MLModelFactory(owner=owner, name="new-llm")
    response = login(client, owner).post("/models/new/", model_post())
    assert response.status_code == 200 and "already exists" in body(response)
    assert MLModel.objects.filter(name="new-llm").count() == 1


def test_the_owner_edits_a_model_and_changes_its_visibility(client, owner, shelf):
    login(client, owner)
    form = client.get("/models/owner/llama-tiny/edit/")
    assert form.status_code == 200 and 'value="llama-tiny"' in body(form)
    response = client.post("/models/owner/llama-tiny/edit/", model_post(name="llama-tiny", visibility="private"))
    assert response.status_code == 302 and response["Location"] == "/models/owner/llama-tiny/"
    llama = MLModel.objects.get(pk=shelf["llama"].pk)
    assert llama.visibility == "private" and llama.transformer.decoder_count == 12
    assert Client().get("/models/owner/llama-tiny/").status_code == 404


def test_strangers_may_not_edit_public_models(client, stranger, shelf):
    login(client, stranger)
    assert client.get("/models/owner/llama-tiny/edit/").status_code == 403
    assert client.post("/models/owner/llama-tiny/edit/", model_post(name="taken-over")).status_code == 403
    assert MLModel.objects.filter(name="llama-tiny").exists()


def test_base_models_and_datasets_are_linked_from_the_edit_page(client, owner, shelf):
    login(client, owner)
    url = "/models/owner/bert-mini/edit/"
    done = client.post(url, {"action": "add-base", "base-base": "owner/llama-tiny", "base-relation": "fine_tune"})
    assert done.status_code == 302
    assert ModelLineage.objects.filter(model=shelf["bert"], base=shelf["llama"], relation="fine_tune").exists()
    cycle = client.post(
        "/models/owner/llama-tiny/edit/",
        {"action": "add-base", "base-base": "owner/bert-mini", "base-relation": "merge"},
    )
    assert cycle.status_code == 400 and "cycle" in body(cycle)
    assert not ModelLineage.objects.filter(model=shelf["llama"]).exists()
    hidden = client.post(url, {"action": "add-base", "base-base": "stranger/not-there", "base-relation": "merge"})
    assert hidden.status_code == 400 and "you can see" in body(hidden)
    edge = ModelLineage.objects.get(model=shelf["bert"])
    assert client.post(url, {"action": "remove-base", "id": edge.pk}).status_code == 302
    assert not ModelLineage.objects.filter(pk=edge.pk).exists()
    assert (
        client.post(
            url, {"action": "link-dataset", "link-dataset": "owner/shop", "link-role": "evaluated_on"}
        ).status_code
        == 302
    )
    link = ModelDataset.objects.get(model=shelf["bert"], dataset=shelf["shop"], role="evaluated_on")
    assert "unlink-dataset" in body(client.get(url))
    assert client.post(url, {"action": "unlink-dataset", "id": link.pk}).status_code == 302
    assert not ModelDataset.objects.filter(pk=link.pk).exists()
    assert client.post(url, {"action": "unlink-dataset", "id": link.pk}).status_code == 404


def dataset_post(**changes) -> dict:
    data = {
        name: ""
        for name in (
            "year",
            "objective",
            "access",
            "availability",
            "num_citations",
            "citation_link",
            "sources",
            "storage_uri",
            "documentation_link",
            "instances_number",
            "features_number",
            "features_description",
            "representativity_level",
            "representativity_description",
            "sample_balance_level",
            "sample_balance_description",
            "global_missing_percentage",
            "missing_values_description",
            "missing_values_handling_method",
            "data_errors_description",
            "card",
            "license_text",
            "authors",
        )
    }
    data |= {
        flag: "unknown"
        for flag in (
            *Dataset.ETHICS_FLAGS,
            "split",
            "has_missing_values",
            "temporal_factors",
            "metadata_provided_with_dataset",
            "external_documentation_available",
        )
    }
    return data | {"name": "survey", "visibility": "public"} | changes


def test_a_dataset_is_created_with_its_exai_fields_and_edited(client, owner):
    login(client, owner)
    assert "Ethics checklist" in body(client.get("/datasets/new/"))
    response = client.post(
        "/datasets/new/",
        dataset_post(
            year="2020",
            instances_number="500",
            informed_consent="true",
            transparency="false",
            representativity_level="medium",
        ),
    )
    assert response.status_code == 302 and response["Location"] == "/datasets/owner/survey/files/"
    survey = Dataset.objects.get(name="survey")
    assert (
        survey.year,
        survey.instances_number,
        survey.informed_consent,
        survey.transparency,
        survey.user_control,
        survey.representativity_level,
    ) == (2020, 500, True, False, None, "medium")
    edited = client.post("/datasets/owner/survey/edit/", dataset_post(year="2019", visibility="private"))
    assert edited.status_code == 302
    survey.refresh_from_db()
    assert survey.year == 2019 and survey.visibility == "private" and survey.informed_consent is None


def test_dataset_form_errors_are_shown_in_place_and_nothing_is_saved(client, owner):
    response = login(client, owner).post("/datasets/new/", dataset_post(year="1800", citation_link="not a url"))
    assert response.status_code == 200
    page = body(response)
    assert "greater than or equal to 1900" in page and "Enter a valid URL" in page
    assert not Dataset.objects.exists()


def test_deleting_asks_first_then_deletes(client, owner, stranger, shelf):
    login(client, stranger)
    assert client.post("/models/owner/llama-tiny/delete/").status_code == 403
    login(client, owner)
    confirm = client.get("/models/owner/llama-tiny/delete/")
    assert confirm.status_code == 200 and "cannot be undone" in body(confirm)
    assert MLModel.objects.filter(name="llama-tiny").exists()
    response = client.post("/models/owner/llama-tiny/delete/")
    assert response.status_code == 302 and response["Location"] == reverse("catalog:model-list")
    assert not MLModel.objects.filter(name="llama-tiny").exists()
    assert client.post("/datasets/owner/shop/delete/").status_code == 302
    assert not Dataset.objects.filter(name="shop").exists()


def test_the_sharing_and_account_pages_use_the_layout(client, owner, shelf):
    login(client, owner)
    for url in (
        "/accounts/share/models/owner/llama-tiny/",
        "/accounts/sharing/",
        "/accounts/shared-with-me/",
        "/accounts/tokens/",
        "/accounts/password/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200 and 'class="topbar"' in body(response), url
