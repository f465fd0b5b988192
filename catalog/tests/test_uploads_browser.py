"""The "Files and versions" page's multi-file upload in a real browser (static/js/uploads.js over the
API of catalog/api/uploads.py): a folder of two files goes up in parts with per-file progress and
becomes ONE commit; an upload interrupted in the middle resumes, in the page and after a reload with
the same file chosen again, sending only the missing parts, and ends with the right SHA-256."""

import hashlib
import json
import os
import struct

import pytest

from catalog import revisions
from catalog.models import Commit, UploadSession
from catalog.tests.browser import log_in, screenshot
from catalog.tests.factories import MLModelFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the live server answers from another thread
    pytest.mark.usefixtures("file_store", "eager_celery"),
]

PART = 64 * 1024

# Every value each progress bar takes (progress.value is reflected to its value attribute).
RECORD_PROGRESS = """() => {
  window.progressSeen = {};
  new MutationObserver((records) => records.forEach((r) => {
    if (r.target.tagName !== "PROGRESS") return;
    const path = r.target.closest("li").querySelector(".upload-path").textContent;
    (window.progressSeen[path] = window.progressSeen[path] || []).push([r.target.value, r.target.max]);
  })).observe(document.querySelector("[data-upload-queue]"), {subtree: true, attributes: true});
}"""


def expect(target):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@pytest.fixture
def small_parts(settings):
    settings.OMH_UPLOAD_PART_BYTES = PART  # the live server runs in this process: it sees the setting


def text(size: int) -> bytes:
    line = b"the quick brown fox jumps over the lazy dog 0123456789\n"
    return (line * (size // len(line) + 1))[:size]


def safetensors_bytes(values: int) -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [values], "data_offsets": [0, values * 4]}}).encode()
    return struct.pack("<Q", len(header)) + header + os.urandom(values * 4)


def part_requests(page, number: int) -> list[str]:
    return [url for url in page.requests if url.endswith(f"/parts/{number}")]


def test_a_folder_of_two_files_is_one_commit_with_progress_per_file(
    live_server, browser_page, owner, small_parts, tmp_path
):
    base, page = live_server.url, browser_page
    model = MLModelFactory(owner=owner, name="m")
    folder = tmp_path / "src" / "checkpoint"
    (folder / "sub").mkdir(parents=True)
    weights, config = text(3 * PART + 1000), b'{"hidden_size": 64}'
    (folder / "weights.txt").write_bytes(weights)
    (folder / "sub" / "config.json").write_bytes(config)

    log_in(page, base, "owner", "owner-pass-123")
    page.goto(f"{base}/models/owner/m/files/")
    expect(page.locator("[data-uploader]")).to_be_visible()
    page.set_input_files("#upload-folder", str(folder))
    page.fill("#upload-into", "v1")
    page.dispatch_event("#upload-into", "change")
    expect(page.locator(".upload-path")).to_have_text(["v1/sub/config.json", "v1/weights.txt"], timeout=5000)
    page.fill("#upload-message", "First checkpoint")
    page.evaluate(RECORD_PROGRESS)
    page.click("button:has-text('Commit changes')")

    expect(page.locator("[data-upload-status]")).to_contain_text("Committed", timeout=30000)
    expect(page.locator("table.files")).to_contain_text("v1/weights.txt")
    expect(page.locator("table.files")).to_contain_text("v1/sub/config.json")
    expect(page.locator(".upload-state")).to_have_text(["committed", "committed"])
    seen = page.evaluate("window.progressSeen")
    big = [value for value, _ in seen["v1/weights.txt"]]
    assert big == sorted(big) and big[-1] == len(weights)  # never backwards, ends full
    assert any(0 < value < len(weights) for value in big)  # shown in between, not only at the end
    assert seen["v1/sub/config.json"][-1] == [len(config), len(config)]
    screenshot(page, "files-upload-committed")

    commit = revisions.head(model)
    assert Commit.objects.of(model).count() == 1 and commit.message == "First checkpoint"
    assert sorted(revisions.files_at(commit)) == ["v1/sub/config.json", "v1/weights.txt"]
    assert revisions.files_at(commit)["v1/weights.txt"].sha256 == hashlib.sha256(weights).hexdigest()
    assert len(part_requests(page, 4)) == 1 and not UploadSession.objects.exists()
    assert page.log.errors == [] and page.log.outside(base) == []


def test_an_interrupted_upload_resumes_in_the_page_and_after_a_reload(
    live_server, browser_page, owner, small_parts, tmp_path
):
    base, page = live_server.url, browser_page
    model = MLModelFactory(owner=owner, name="m")
    data = safetensors_bytes(PART)  # 256 KiB of weights and a header: five parts
    assert 4 * PART < len(data) < 5 * PART
    source = tmp_path / "model.safetensors"
    source.write_bytes(data)
    cut = {3, 4}  # the connection drops while part 3 is sent, then again during part 4

    def drop_once(route):
        number = int(route.request.url.rsplit("/", 1)[1])
        if number in cut:
            cut.discard(number)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/uploads/*/parts/*", drop_once)
    log_in(page, base, "owner", "owner-pass-123")
    page.goto(f"{base}/models/owner/m/files/")
    page.set_input_files("#upload-files", str(source))
    page.click("button:has-text('Commit changes')")
    expect(page.locator("[data-upload-status]")).to_contain_text("Press “Commit changes” again to resume")
    expect(page.locator(".upload-state")).to_contain_text("stopped")
    session = UploadSession.objects.get()
    assert session.received_parts == [1, 2] and not Commit.objects.exists()

    page.click("button:has-text('Commit changes')")  # resumes in the page: part 3 again, part 4 drops
    expect(page.locator("[data-upload-status]")).to_contain_text("again to resume")
    session.refresh_from_db()
    assert session.received_parts == [1, 2, 3]

    page.reload()  # as if the tab had been closed: the same file chosen again resumes the same session
    page.set_input_files("#upload-files", str(source))
    page.click("button:has-text('Commit changes')")
    expect(page.locator("[data-upload-status]")).to_contain_text("Committed", timeout=30000)

    assert [len(part_requests(page, n)) for n in (1, 2, 3, 4, 5)] == [1, 1, 2, 2, 1]
    assert UploadSession.objects.count() == 0 and Commit.objects.of(model).count() == 1
    version = revisions.files_at(revisions.head(model))["model.safetensors"]
    assert version.sha256 == hashlib.sha256(data).hexdigest() and version.size == len(data)
    assert page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('omh-upload:'))") == []
    with page.expect_download() as download:
        page.click("table.files a:has-text('Download')")
    assert hashlib.sha256(open(download.value.path(), "rb").read()).hexdigest() == version.sha256
    assert [e for e in page.log.errors if "ERR_CONNECTION_RESET" not in e] == []
