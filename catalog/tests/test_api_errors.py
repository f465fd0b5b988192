"""One error shape for the whole API (docs/api.md, "Errors"): fields map to lists of messages, anything
else is {"detail": "a string"}; a 404 is JSON whatever the URL and DEBUG, and names no class."""

import io
import re
from pathlib import Path

import pytest
from django.test import Client, TestCase

from catalog.tests.factories import LicenseFactory, MLModelFactory
from openmodelhub.testing import api

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
NOT_FOUND = {"detail": "Not found."}


def assert_error_shape(body) -> None:
    assert isinstance(body, dict) and body
    for field, messages in body.items():
        if field == "detail":
            assert isinstance(messages, str)
        else:
            assert isinstance(messages, dict) or (
                isinstance(messages, list) and all(isinstance(m, str) for m in messages)
            ), (field, messages)


@pytest.fixture
def model(owner):
    return MLModelFactory(owner=owner, name="m", license=LicenseFactory())


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    "url", ["/api/v1/models/-1/", "/api/v1/nothing/", "/api/v1/models/a/b/c/d/", "/api/v1/models/owner/m/nothing"]
)
def test_a_url_no_endpoint_answers_is_a_json_404_whatever_debug_is(settings, model, url, debug):
    settings.DEBUG = debug
    response = Client().get(url)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


def test_a_missing_slash_is_still_redirected(model):
    response = Client().get("/api/v1/models")
    assert response.status_code == 301 and response["Location"] == "/api/v1/models/"


def test_pages_keep_their_html_404(model):
    response = Client().get("/models/nobody/nothing/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/models/owner/nothing/",
        "/api/v1/models/999999/",
        "/api/v1/datasets/x/y/",
        "/api/v1/licenses/no-such-licence/",
        "/api/v1/models/owner/nothing/bom",
        "/api/v1/models/owner/nothing/compliance",
        "/api/v1/models/owner/m/versions/none.txt",
        "/api/v1/models/owner/nothing/lineage/",
    ],
)
def test_a_404_names_no_class_or_query(model, url):
    response = api().get(url)
    assert response.status_code == 404 and response.json() == NOT_FOUND


def test_a_missing_file_keeps_its_own_message(model, owner):
    response = api(owner).get("/api/v1/models/owner/m/resolve/none.txt")
    assert response.status_code == 404 and response.json() == {"detail": "No such file or version."}


def test_a_service_error_tied_to_no_field_is_a_detail_string(model, owner):
    response = api(owner).post("/api/v1/models/owner/m/grants/", {"user": "owner", "permission": "read"}, format="json")
    assert response.status_code == 400 and response.json() == {"detail": "The owner already has full access."}


def test_a_token_expiring_in_the_past_is_a_detail_string(owner):
    response = api(owner).post("/api/v1/tokens/", {"name": "ci", "expires_at": "2000-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400 and response.json() == {"detail": "The expiry must be in the future."}


def test_a_service_error_on_a_field_is_a_list_under_that_field(model, owner):
    base = MLModelFactory(owner=owner, name="base")
    client = api(owner)
    assert (
        client.post(
            "/api/v1/models/owner/m/lineage/", {"base": "owner/base", "relation": "fine_tune"}, format="json"
        ).status_code
        == 201
    )
    again = client.post(
        "/api/v1/models/owner/m/lineage/", {"base": f"{base.pk}", "relation": "fine_tune"}, format="json"
    )
    assert again.status_code == 400 and again.json() == {"base": ["This model already derives from that base model."]}


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/models/owner/m/bom?format=xml", {"format": ["Must be one of spdx, cyclonedx."]}),
        (
            "/api/v1/models/owner/m/compliance?purpose=war",
            {"purpose": ["Must be one of commercial, research, redistribution."]},
        ),
    ],
)
def test_a_bad_choice_in_a_query_is_a_list_under_its_parameter(model, url, body):
    response = api().get(url)
    assert response.status_code == 400 and response.json() == body


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/api/v1/models/?year_min=x&sort=nope", None),
        ("get", "/api/v1/models/?cursor=!!!", None),
        ("get", "/api/v1/models/?search=%00", None),
        ("get", "/api/v1/nothing", None),
        ("post", "/api/v1/models/", {"name": "bad name!", "media": ["smell"]}),
        ("post", "/api/v1/models/owner/m/grants/", {"user": "owner"}),
        ("post", "/api/v1/models/owner/m/grants/", {}),
        ("post", "/api/v1/models/owner/m/lineage/", {"base": "nobody/nothing", "relation": "fine_tune"}),
        ("post", "/api/v1/datasets/score", {"weights": [{"criterion_name": "colour", "weight": -1}], "limit": 0}),
        ("post", "/api/v1/tokens/", {"name": " "}),
        ("delete", "/api/v1/models/owner/m/grants/999/", None),
        ("patch", "/api/v1/models/owner/m/", {"parameter_count": -5}),
    ],
)
def test_every_error_has_the_documented_shape(model, owner, method, url, data):
    client = api(owner)
    response = getattr(client, method)(url, data, format="json") if data is not None else getattr(client, method)(url)
    assert 400 <= response.status_code < 500 and response["Content-Type"] == "application/json", response.content
    assert_error_shape(response.json())


@pytest.mark.parametrize("document", ["docs/api.md", "README.md"])
def test_the_documented_upload_and_download_examples_work(document, owner, file_store, eager_celery):
    """The curl lines that upload and download a file, run as written (with $OWNER the caller)."""
    MLModelFactory(owner=owner, name="my-model")
    text = (ROOT / document).read_text()
    owner_line = re.search(r"^OWNER=\S+", text, re.M)
    upload = re.search(r'^curl .*-F file=@(\S+) -F path=(\S+) "\$API(/models/\S+)"$', text, re.M)
    download = re.search(r'^curl .*-OJ "\$API(/models/\S+/resolve/\S+)"$', text, re.M)
    assert owner_line and upload and download, "the examples moved: update this test"
    client = api(owner)
    with TestCase.captureOnCommitCallbacks(execute=True):
        created = client.post(
            "/api/v1" + upload.group(3).replace("$OWNER", owner.username),
            {"file": io.BytesIO(b'{"a": 1}'), "path": upload.group(2)},
            format="multipart",
        )
    assert created.status_code == 201, created.content
    fetched = client.get("/api/v1" + download.group(1).replace("$OWNER", owner.username))
    assert fetched.status_code == 200 and b"".join(fetched.streaming_content) == b'{"a": 1}'
