"""End to end in a real browser: Playwright drives Debian's Chromium against pytest-django's live server.

A user registers, logs in, creates a model with Transformer details, uploads a file (the pipeline
runs in process), finds the model through a facet and through search, shares it; the other user
downloads the file; the owner revokes and the other user gets not-found. Every page is checked for
requests outside the hub and for console errors (Content-Security-Policy violations among them), and
screenshots of the model list, a model page and a dataset page go to test-artifacts/screenshots/.
"""

import io
import json
import os
import struct
from pathlib import Path

import pytest

from accounts.models import User
from catalog import files
from catalog.models import Dataset, Media, MediaType, MLModel, ModelDataset, Task, TransformerDetails
from catalog.records import load_records
from catalog.tests.browser import log_in, screenshot

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the live server answers from another thread
    pytest.mark.usefixtures("file_store", "eager_celery"),
]

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo.json"
PASSWORD = "Correct-horse-battery-42"


@pytest.fixture
def vocabulary(db):
    # Rows of data migrations: a transactional test flushes them, so they are made again here.
    MediaType.objects.bulk_create([MediaType(slug=slug) for slug in Media.values], ignore_conflicts=True)
    Task.objects.get_or_create(slug="text-generation", defaults={"name": "Text generation", "modality": "text"})


@pytest.fixture
def demo_catalogue(vocabulary):
    """A slice of the demo data (fixtures/demo.json): every user, licence and task, a few datasets and the
    models that use them or derive from each other, so the screenshots show real pages."""
    data = json.loads(DEMO.read_text())
    datasets = {"openmodelhub/imagenet-1k", "openmodelhub/imagenet-21k", "grouplens/Movielens-25M"}
    data["datasets"] = [d for d in data["datasets"] if f"{d['owner']}/{d['name']}" in datasets]
    keep = [m for m in data["models"] if m["owner"] == "apple" or m["name"].startswith(("caformer", "vit_base"))]
    names = {f"{m['owner']}/{m['name']}" for m in keep}
    data["models"] = [m for m in keep if all(b["model"] in names for b in m.get("bases", []))]
    load_records(data)
    model = MLModel.objects.get(owner__username="apple", name="OpenELM-1_1B-Instruct")
    TransformerDetails.objects.update_or_create(
        model=model, defaults={"decoder_count": 28, "attention_size": 2048, "embedding_size": 2048}
    )  # its config.json; FFN sizes vary by layer
    apple = model.owner
    files.upload_file(user=apple, asset=model, path="model.safetensors", content=io.BytesIO(safetensors_bytes()))
    files.upload_file(
        user=apple,
        asset=model,
        path="config.json",
        content=io.BytesIO(b'{"architectures": ["OpenELMForCausalLM"], "num_transformer_layers": 28}'),
    )
    movielens = Dataset.objects.get(owner__username="grouplens", name="Movielens-25M")
    ratings = "userId,movieId,rating,email\n" + "".join(
        f"{u},{m},{(u * m) % 5 + 0.5},user{u}@example.org\n" for u in range(1, 40) for m in (1, 2, 7)
    )
    files.upload_file(
        user=movielens.owner, asset=movielens, path="sample/ratings.csv", content=io.BytesIO(ratings.encode())
    )
    ModelDataset.objects.create(model=model, dataset=movielens, role="evaluated_on")
    return model


def safetensors_bytes(values: int = 2048) -> bytes:
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [values], "data_offsets": [0, values * 4]}, "__metadata__": {"format": "pt"}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + os.urandom(values * 4)


def expect(page):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(page)


def register(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/register/")
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.org")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("main button[type=submit]")
    expect(page.locator(".messages")).to_contain_text(f"Welcome, {username}")


def log_out(page) -> None:
    page.click("details.menu summary")
    page.click("details.menu button:has-text('Log out')")
    page.wait_for_load_state("networkidle")


def create_transformer_model(page, base: str) -> None:
    page.click("details.menu summary")
    page.click("details.menu a:has-text('New model')")
    page.wait_for_url(f"{base}/models/new/")
    page.fill("#id_name", "tiny-llm")
    page.select_option("#id_visibility", "private")
    page.fill("#id_license_text", "apache-2.0")
    page.check("input[name=media][value=text]")
    page.select_option("#id_tasks", ["text-generation"])
    page.select_option("#id_training_type", "pretrain")
    expect(page.locator("[data-family=transformer]")).to_be_hidden()  # family "other" by default
    page.select_option("#id_architecture_family", "transformer")
    expect(page.locator("[data-family=transformer]")).to_be_visible()
    expect(page.locator("[data-family=cnn]")).to_be_hidden()
    page.fill("#id_architecture_name", "LlamaForCausalLM")
    for field, value in [
        ("decoder_count", "4"),
        ("attention_size", "256"),
        ("up_size", "1024"),
        ("down_size", "256"),
        ("embedding_size", "256"),
    ]:
        page.fill(f"#id_transformer-{field}", value)
    page.fill("#id_card", "# Tiny LLM\n\nA **tiny** causal language model.\n\n<script>alert(1)</script>")
    page.click("button:has-text('Create model')")
    page.wait_for_url(f"{base}/models/tiny-user/tiny-llm/files/")


def test_register_create_upload_find_share_download_revoke(
    live_server, browser_page, second_browser_page, vocabulary, grantee
):
    base, page, other = live_server.url, browser_page, second_browser_page
    page.on("dialog", lambda dialog: pytest.fail(f"unexpected dialog (a script ran?): {dialog.message}"))

    register(page, base, "tiny-user")
    log_out(page)
    log_in(page, base, "tiny-user", PASSWORD)
    expect(page.locator("details.menu summary")).to_contain_text("tiny-user")

    create_transformer_model(page, base)
    model = MLModel.objects.get(owner__username="tiny-user", name="tiny-llm")
    assert model.transformer.decoder_count == 4 and model.visibility == "private"

    data = safetensors_bytes()
    page.set_input_files(
        "#id_file", files=[{"name": "model.safetensors", "mimeType": "application/octet-stream", "buffer": data}]
    )
    page.click("main button:has-text('Upload')")
    expect(page.locator(".messages")).to_contain_text("model.safetensors version 1 is ready")

    page.goto(f"{base}/models/tiny-user/tiny-llm/")
    expect(page.locator("h2:has-text('Transformer details')")).to_be_visible()
    expect(page.locator("table.files")).to_contain_text("model.safetensors")
    expect(page.locator(".card-body strong")).to_have_text("tiny")
    assert page.locator(".card-body script").count() == 0

    # Found through a facet (ticking it submits the form: the URL carries the filter) ...
    page.goto(f"{base}/models/")
    with page.expect_navigation():
        page.check("input[name=architecture][value=transformer]")
    assert "architecture=transformer" in page.url
    expect(page.locator(".results")).to_contain_text("tiny-user/tiny-llm")
    expect(page.locator("input[name=architecture][value=transformer]")).to_be_checked()
    # ... and through full-text search.
    page.goto(f"{base}/models/")
    page.fill("#id_search", "causal")
    page.press("#id_search", "Enter")
    page.wait_for_url("**/models/?*search=causal*")
    expect(page.locator(".results")).to_contain_text("tiny-user/tiny-llm")
    page.fill("#top-q", "tiny")
    page.press("#top-q", "Enter")
    page.wait_for_url("**/search/?q=tiny")
    expect(page.locator("main")).to_contain_text("tiny-user/tiny-llm")

    # The other user cannot see the private model yet.
    log_in(other, base, "grantee", "grantee-pass-123")
    assert other.goto(f"{base}/models/tiny-user/tiny-llm/").status == 404

    page.goto(f"{base}/models/tiny-user/tiny-llm/")
    page.click("main a:has-text('Share')")
    page.fill("#id_grant-username", "grantee")
    page.select_option("#id_grant-permission", "read")
    page.click("main button:has-text('Grant')")
    expect(page.locator(".messages")).to_contain_text("Access granted to grantee")

    assert other.goto(f"{base}/models/tiny-user/tiny-llm/").status == 200
    with other.expect_download() as download_info:
        other.click("table.files a:has-text('Download')")
    assert Path(download_info.value.path()).read_bytes() == data
    expect(other.locator("body")).to_contain_text("tiny-user/tiny-llm")

    page.click("main button:has-text('Revoke')")
    expect(page.locator(".messages")).to_contain_text("revoked")

    assert other.goto(f"{base}/models/tiny-user/tiny-llm/").status == 404
    assert other.goto(f"{base}/models/tiny-user/tiny-llm/resolve/model.safetensors").status == 404
    assert other.goto(f"{base}/models/?search=tiny").ok
    expect(other.locator(".results")).not_to_contain_text("tiny-llm")

    assert page.log.outside(base) == [] and other.log.outside(base) == []
    assert page.log.errors == []
    assert [e for e in other.log.errors if "status of 404" not in e] == []  # the three not-founds above


def test_no_page_requests_anything_outside_the_hub_and_screenshots_are_taken(live_server, browser_page, demo_catalogue):
    base, page = live_server.url, browser_page
    User.objects.create_superuser("root", "root@example.org", "root-pass-123")
    log_in(page, base, "root", "root-pass-123")
    pages = {
        "home": "/",
        "model-list": "/models/?sort=downloads",
        "model-page": demo_catalogue.get_absolute_url(),
        "dataset-list": "/datasets/",
        "dataset-page": "/datasets/grouplens/Movielens-25M/",
        "search": "/search/?q=vision",
        "model-files": demo_catalogue.get_absolute_url() + "files/",
        "model-new": "/models/new/",
        "dataset-new": "/datasets/new/",
        "model-edit": demo_catalogue.get_absolute_url() + "edit/",
        "share": "/accounts/share/models/apple/OpenELM-1_1B-Instruct/",
        "tokens": "/accounts/tokens/",
        "users": "/accounts/users/",
        "agent": "/agent/",
        "licences": "/licences/",
        "api-docs": "/api/v1/docs/",
        "admin": "/admin/",
    }  # /insights/ has its own browser test (insights/tests/test_browser.py), same fixtures and checks
    for name, path in pages.items():
        response = page.goto(base + path)
        page.wait_for_load_state("networkidle")
        assert response.status == 200, (name, response.status)
        if name in ("home", "model-list", "model-page", "dataset-page", "model-new", "dataset-new"):
            screenshot(page, name)
    assert page.log.outside(base) == []
    assert page.log.errors == []  # a CSP violation (inline script or style, outside resource) is a console error
    swagger = page.goto(base + "/api/v1/docs/")
    assert "'nonce-" in swagger.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info", timeout=15_000)  # the Swagger UI rendered under its policy


def test_the_layout_works_on_a_phone(live_server, chromium, vocabulary, owner):
    from catalog.tests.browser import new_page

    page = new_page(chromium)
    try:
        page.set_viewport_size({"width": 390, "height": 844})
        response = page.goto(f"{live_server.url}/models/")
        assert response.status == 200
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width}px)"
        screenshot(page, "model-list-phone")
        assert page.log.errors == []
    finally:
        page.context.close()
