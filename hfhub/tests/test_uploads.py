"""Writing through the Hub protocol with the real, unmodified huggingface_hub (and the ``hf`` CLI) against
a live hub: inline and Git LFS uploads (basic and multipart transfers), folders, deletions, optimistic
concurrency, tags, refusals, resumption and deduplication, read back with the same client."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.models import AuditEvent
from accounts.services import create_api_token, grant_access
from catalog import revisions
from catalog.models import Commit, FileVersion, MLModel, Ref, RepoFile, UploadSession
from catalog.tests.factories import MLModelFactory
from hfhub.tests.conftest import run_client

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024


@pytest.fixture
def writers(world, settings):
    """Write-scope tokens; a public model the grantee may write to; small LFS parts so tests stay quick."""
    settings.OMH_LFS_MULTIPART_BYTES = 3 * MiB
    settings.OMH_UPLOAD_PART_BYTES = 1 * MiB
    shared = MLModelFactory(owner=world.owner, name="shared")
    grant_access(by=world.owner, asset=shared, permission="write", user=world.grantee)
    tokens = {
        user.username: create_api_token(user=user, name="w", scope="write")[1]
        for user in (world.owner, world.grantee, world.stranger)
    }
    tokens["owner-read"] = world.tokens["owner"]
    return tokens


@pytest.fixture
def live(writers, hub):  # noqa: F811  (after the tokens exist, so that SQLite's copy holds them)
    return hub


def blob(size: int, seed: int = 0) -> bytes:
    """Incompressible, reproducible bytes."""
    out, counter = bytearray(), 0
    while len(out) < size:
        out += hashlib.sha256(b"%d-%d" % (seed, counter)).digest()
        counter += 1
    return bytes(out[:size])


def safetensors(size: int, seed: int = 0) -> bytes:
    """A valid safetensors file holding one U8 tensor of ``size`` reproducible bytes."""
    tensor = blob(size, seed)
    header = json.dumps({"w": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}}).encode()
    return len(header).to_bytes(8, "little") + header + tensor


def write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def head_of(live, name: str) -> str | None:
    return live.query(lambda: getattr(revisions.head(MLModel.objects.get(name=name)), "oid", None))


def commit_count(live, name: str) -> int:
    return live.query(lambda: Commit.objects.filter(model__name=name).count())


def test_upload_file_small_and_large_then_download_the_same_bytes_at_each_commit(live, writers, tmp_path):
    small = write(tmp_path / "src" / "config.json", b'{"hidden_size": 3}')
    large = write(tmp_path / "src" / "model.safetensors", safetensors(11 * MiB, seed=1))
    got = run_client(
        live.url,
        f"""
from huggingface_hub import HfApi, hf_hub_download
api = HfApi()
first = api.upload_file(path_or_fileobj={str(small)!r}, path_in_repo="config.json", repo_id="owner/tiny-bert",
                        commit_message="Smaller config")
second = api.upload_file(path_or_fileobj={str(large)!r}, path_in_repo="model.safetensors", repo_id="owner/tiny-bert")
a = hf_hub_download("owner/tiny-bert", "config.json", revision=first.oid)
b = hf_hub_download("owner/tiny-bert", "model.safetensors")
c = hf_hub_download("owner/tiny-bert", "config.json", revision=second.oid)
print(json.dumps([first.oid, second.oid, open(a, "rb").read().decode(),
                  __import__("hashlib").sha256(open(b, "rb").read()).hexdigest(), open(c, "rb").read().decode(),
                  first.commit_url]))
""",
        tmp_path,
        writers["owner"],
    )
    first, second, config, large_sha, config_later, url = got
    assert config == config_later == '{"hidden_size": 3}'
    assert large_sha == hashlib.sha256(large.read_bytes()).hexdigest()
    assert head_of(live, "tiny-bert") == second
    assert url.endswith(f"/hf/owner/tiny-bert/commit/{first}")
    commit = live.query(lambda: Commit.objects.get(oid=first))
    assert commit.message == "Smaller config" and commit.author_name == "owner"
    version = live.query(lambda: FileVersion.objects.get(file__path="model.safetensors"))
    assert version.inspection.get("parameters") == 11 * MiB  # the pipeline inspected it
    # The multipart transfer was used (11 MiB >= 3 MiB) and its session consumed by the commit.
    assert live.query(lambda: UploadSession.objects.count()) == 0


def test_upload_folder_with_patterns_makes_one_commit_and_snapshot_reads_it_back(live, writers, tmp_path):
    folder = tmp_path / "folder"
    write(folder / "config.json", b'{"hidden_size": 9}')
    write(folder / "weights" / "part1.safetensors", safetensors(5000, seed=2))
    write(folder / "weights" / "part2.safetensors", safetensors(7000, seed=3))
    write(folder / "scratch.log", b"not wanted")
    before = commit_count(live, "tiny-bert")
    got = run_client(
        live.url,
        f"""
from huggingface_hub import HfApi, snapshot_download
api = HfApi()
info = api.upload_folder(folder_path={str(folder)!r}, repo_id="owner/tiny-bert", allow_patterns=["*.json", "weights/*"],
                         delete_patterns=["*.txt"], commit_message="Folder")
path = snapshot_download("owner/tiny-bert", revision=info.oid)
import pathlib
files = sorted(str(p.relative_to(path)) for p in pathlib.Path(path).rglob("*") if p.is_file())
print(json.dumps([info.oid, files, (pathlib.Path(path) / "weights/part2.safetensors").read_bytes().hex()]))
""",
        tmp_path,
        writers["owner"],
    )
    oid, names, part2 = got
    assert commit_count(live, "tiny-bert") == before + 1  # additions and deletions in one commit
    # *.txt deleted (notes.txt, weights/readme.txt), scratch.log never sent
    assert names == ["config.json", "weights/part1.safetensors", "weights/part2.safetensors"]
    assert bytes.fromhex(part2) == safetensors(7000, seed=3)
    changes = live.query(
        lambda: sorted(
            (c.path, c.version_id is None)
            for c in Commit.objects.get(oid=oid).changes.all()  # type: ignore[attr-defined]
        )
    )
    assert changes == [
        ("config.json", False),
        ("notes.txt", True),
        ("weights/part1.safetensors", False),
        ("weights/part2.safetensors", False),
        ("weights/readme.txt", True),
    ]


def test_delete_file_stale_parent_tags_and_branches(live, world, writers, tmp_path):
    head = head_of(live, "tiny-bert")
    first = world.commits["first"].oid
    got = run_client(
        live.url,
        f"""
from huggingface_hub import HfApi, CommitOperationAdd, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, EntryNotFoundError
api = HfApi()
out = []
deleted = api.delete_file("notes.txt", repo_id="owner/tiny-bert")
out.append(api.file_exists("owner/tiny-bert", "notes.txt"))
try:
    api.create_commit("owner/tiny-bert", [CommitOperationAdd("x.txt", b"x")], commit_message="late",
                      parent_commit={head!r})
except HfHubHTTPError as exc:
    out.append(exc.response.status_code)
try:
    api.delete_file("never-there.txt", repo_id="owner/tiny-bert")
except EntryNotFoundError as exc:
    out.append("EntryNotFoundError")
api.create_tag("owner/tiny-bert", tag="v2", revision=deleted.oid)
try:
    api.create_tag("owner/tiny-bert", tag="v2")
except HfHubHTTPError as exc:
    out.append(exc.response.status_code)
api.create_tag("owner/tiny-bert", tag="v2", exist_ok=True)
out.append(open(hf_hub_download("owner/tiny-bert", "notes.txt", revision="v1"), "rb").read().decode())
api.delete_tag("owner/tiny-bert", tag="v2")
try:
    api.create_branch("owner/tiny-bert", branch="dev")
except HfHubHTTPError as exc:
    out.append(exc.response.status_code)
print(json.dumps([deleted.oid, out]))
""",
        tmp_path,
        writers["owner"],
    )
    deleted, out = got
    assert out == [False, 412, "EntryNotFoundError", 409, "hello", 400]
    assert head_of(live, "tiny-bert") == deleted  # the stale commit wrote nothing
    refs = live.query(lambda: sorted(Ref.objects.filter(model__name="tiny-bert").values_list("name", flat=True)))
    assert refs == ["main", "v1"]
    assert first != deleted


def test_the_hf_upload_command_uploads_a_file_and_a_folder(live, writers, tmp_path):
    folder = tmp_path / "cli"
    write(folder / "a.txt", b"alpha")
    write(folder / "sub" / "b.txt", b"beta")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(
        HF_ENDPOINT=f"{live.url}/hf",
        HF_HOME=str(tmp_path / "hf-home"),
        HF_TOKEN=writers["owner"],
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        NO_PROXY="*",
    )
    hf = Path(sys.executable).with_name("hf")
    done = subprocess.run(
        [str(hf), "upload", "owner/tiny-bert", str(folder), ".", "--commit-message", "From the CLI"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "/hf/owner/tiny-bert" in done.stdout
    present = live.query(lambda: set(revisions.files_at(revisions.head(MLModel.objects.get(name="tiny-bert")))))
    assert {"a.txt", "sub/b.txt"} <= present
    assert live.query(lambda: revisions.head(MLModel.objects.get(name="tiny-bert")).message) == "From the CLI"


def test_an_unsafe_pickle_fails_the_commit_with_the_reason_and_leaves_main(live, writers, tmp_path):
    import pickle

    class Gadget:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    write(tmp_path / "evil.bin", pickle.dumps(Gadget()))
    write(tmp_path / "fine.json", b'{"ok": true}')
    head = head_of(live, "tiny-bert")
    got = run_client(
        live.url,
        f"""
from huggingface_hub import HfApi, CommitOperationAdd
from huggingface_hub.errors import HfHubHTTPError
try:
    HfApi().create_commit("owner/tiny-bert", [CommitOperationAdd("fine.json", {str(tmp_path / "fine.json")!r}),
        CommitOperationAdd("evil.bin", {str(tmp_path / "evil.bin")!r})], commit_message="both")
    print(json.dumps("accepted"))
except HfHubHTTPError as exc:
    print(json.dumps([exc.response.status_code, exc.response.json()["error"]]))
""",
        tmp_path,
        writers["owner"],
    )
    status, reason = got
    assert status == 422
    assert reason.startswith("evil.bin:") and "system" in reason
    assert head_of(live, "tiny-bert") == head
    assert not live.query(lambda: RepoFile.objects.filter(path__in=["fine.json", "evil.bin"]).exists())
    assert live.query(lambda: UploadSession.objects.count()) == 0  # the refused bytes were not kept
    stored = list((Path(live.query(lambda: __import__("django.conf").conf.settings.MEDIA_ROOT)) / "objects").rglob("*"))
    objects = live.query(lambda: set(FileVersion.objects.values_list("storage_key", flat=True)))
    assert {str(p.relative_to(p.parents[2])) for p in stored if p.is_file()} <= objects


def test_read_scope_tokens_write_grantees_and_strangers(live, world, writers, tmp_path):
    calls = [
        ("owner-read", 'api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="owner/tiny-bert")'),
        ("stranger", 'api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="owner/secret")'),
        ("stranger", 'api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="owner/tiny-bert")'),
        ("grantee", 'api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="owner/shared").oid'),
    ]
    results = []
    for who, call in calls:
        results.append(
            run_client(
                live.url,
                f"""
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
api = HfApi()
try:
    out = {call}
    print(json.dumps("ok"))
except RepositoryNotFoundError:
    print(json.dumps("RepositoryNotFoundError"))
except HfHubHTTPError as exc:
    print(json.dumps(exc.response.status_code))
""",
                tmp_path,
                writers[who],
            )
        )
    assert results == [403, "RepositoryNotFoundError", 403, "ok"]
    assert live.query(lambda: RepoFile.objects.filter(path="x.txt").count()) == 1  # the grantee's only


def test_an_interrupted_multipart_upload_resumes_with_only_the_missing_parts(live, world, writers, tmp_path):
    """The first attempt stops after two of six parts (the client's own LFS functions, then nothing); the
    retried upload_file is told the same upload, sends the parts (the client sends all of them; the page's
    uploader only the missing ones), and the hub assembles and verifies them into one file."""
    content = safetensors(5 * MiB + 123, seed=7)
    source = write(tmp_path / "big.safetensors", content)
    oid = hashlib.sha256(content).hexdigest()
    code = f"""
from huggingface_hub import HfApi, CommitOperationAdd
from huggingface_hub.lfs import post_lfs_batch_info, UploadInfo
from huggingface_hub.utils import http_backoff
api = HfApi()
info = UploadInfo.from_path({str(source)!r})
actions, errors, transfer = post_lfs_batch_info([info], api.token, "model", "owner/tiny-bert", endpoint=api.endpoint)
header = actions[0]["actions"]["upload"]["header"]
parts = sorted((k, v) for k, v in header.items() if k.isdigit())
with open({str(source)!r}, "rb") as f:
    for _, url in parts[:2]:
        http_backoff("PUT", url, data=f.read(int(header["chunk_size"]))).raise_for_status()
print(json.dumps([transfer, len(parts)]))
"""
    transfer, count = run_client(live.url, code, tmp_path, writers["owner"])
    assert (transfer, count) == ("multipart", 6)
    session = live.query(lambda: UploadSession.objects.get(oid=oid))
    assert session.received_parts == [1, 2] and session.status == UploadSession.Status.RECEIVING
    got = run_client(
        live.url,
        f"""
from huggingface_hub import HfApi, hf_hub_download
import hashlib
info = HfApi().upload_file(path_or_fileobj={str(source)!r}, path_in_repo="big.safetensors", repo_id="owner/tiny-bert")
print(json.dumps(hashlib.sha256(open(hf_hub_download("owner/tiny-bert", "big.safetensors"), "rb").read()).hexdigest()))
""",
        tmp_path,
        writers["owner"],
    )
    assert got == oid
    assert live.query(lambda: FileVersion.objects.get(file__path="big.safetensors").sha256) == oid


def test_identical_content_is_not_stored_twice(live, writers, tmp_path):
    write(tmp_path / "w.safetensors", safetensors(4 * MiB, seed=9))
    code = f"""
from huggingface_hub import HfApi
api = HfApi()
up = lambda source, path: api.upload_file(path_or_fileobj=source, path_in_repo=path, repo_id="owner/tiny-bert")
a = up({str(tmp_path / "w.safetensors")!r}, "w.safetensors")
b = up({str(tmp_path / "w.safetensors")!r}, "w.safetensors")
c = up({str(tmp_path / "w.safetensors")!r}, "copy/w.safetensors")
d = up(b'{{"hidden_size": 2}}', "config.json")
print(json.dumps([a.oid, b.oid, c.oid, d.oid]))
"""
    before = commit_count(live, "tiny-bert")
    a, b, c, d = run_client(live.url, code, tmp_path, writers["owner"])
    # The same bytes again (w.safetensors, and config.json as it is at main): no commit, as on the Hub the
    # client skips them on the id preupload answers; the call returns the head.
    assert a == b and c == d and a != c
    assert commit_count(live, "tiny-bert") == before + 2
    versions = live.query(
        lambda: list(
            FileVersion.objects.filter(file__path__in=["w.safetensors", "copy/w.safetensors"]).values_list(
                "storage_key"
            )
        )
    )
    assert len(versions) == 2 and versions[0] == versions[1]  # one stored object for both paths
    transfers = live.query(
        lambda: AuditEvent.objects.filter(action="file.upload", details__path="copy/w.safetensors").count()
    )
    assert transfers == 1


# --- the wire format, through Django's test client ---------------------------------------------


def ndjson(*items) -> str:
    return "".join(json.dumps(item) + "\n" for item in items)


def post_commit(client, token, body: str, repo="owner/tiny-bert"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(f"/hf/api/models/{repo}/commit/main", body, content_type="application/x-ndjson", **headers)


def test_a_commit_with_no_change_is_refused_and_writes_nothing(client, world, writers):
    import base64

    head = revisions.head(world.model)
    same = base64.b64encode(b'{"hidden_size": 2}').decode()
    response = post_commit(
        client,
        writers["owner"],
        ndjson(
            {"key": "header", "value": {"summary": "again"}},
            {"key": "file", "value": {"path": "config.json", "content": same, "encoding": "base64"}},
        ),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "No files have been modified since last commit."
    assert revisions.head(world.model) == head


@pytest.mark.parametrize(
    ("lines", "status", "message"),
    [
        ([{"key": "file", "value": {"path": "a.txt", "content": "eA=="}}], 400, "The commit has no header line."),
        (["not json"], 400, "The commit body is not valid ndjson."),
        ([{"key": "header", "value": {"summary": "s"}}, {"key": "nope", "value": {"path": "a"}}], 400, "Unknown"),
        ([{"key": "header", "value": {"summary": "s"}}, {"key": "file", "value": {"path": "a", "content": "%%"}}], 400,
         "not valid base64"),
        ([{"key": "header", "value": {"summary": "s"}}, {"key": "file", "value": {"path": "../a", "content": "eA=="}}],
         400, "'..'"),
        ([{"key": "header", "value": {"summary": "s"}},
          {"key": "lfsFile", "value": {"path": "a.bin", "algo": "sha256", "oid": "0" * 64, "size": 3}}], 400,
         "was not uploaded"),
        ([{"key": "header", "value": {"summary": ""}}, {"key": "file", "value": {"path": "a", "content": "eA=="}}],
         400, "needs a message"),
        ([{"key": "header", "value": {"summary": "s"}}, {"key": "deletedFolder", "value": {"path": "nowhere"}}], 404,
         "doesn't exist"),
    ],
)  # fmt: skip
def test_malformed_commits_are_refused_with_a_reason_and_leave_nothing(client, world, writers, lines, status, message):
    head = revisions.head(world.model)
    staging = Path(__import__("django.conf").conf.settings.OMH_STAGING_DIR)
    before = set(staging.iterdir()) if staging.exists() else set()
    body = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    response = post_commit(client, writers["owner"], body)
    assert response.status_code == status, response.content
    assert message in response.json()["error"]
    assert revisions.head(world.model) == head
    assert (set(staging.iterdir()) if staging.exists() else set()) == before


def test_a_tampered_basic_upload_is_refused_and_not_kept(client, world, writers, settings):
    content = b"the real bytes"
    oid = hashlib.sha256(content).hexdigest()
    batch = client.post(
        "/hf/owner/tiny-bert.git/info/lfs/objects/batch",
        json.dumps({"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(content)}]}),
        content_type="application/vnd.git-lfs+json",
        HTTP_AUTHORIZATION=f"Bearer {writers['owner']}",
    )
    assert batch.status_code == 200 and batch["Content-Type"] == "application/vnd.git-lfs+json"
    href = batch.json()["objects"][0]["actions"]["upload"]["href"]
    wrong = client.put(href, b"the fake bytes", content_type="application/octet-stream")
    assert wrong.status_code == 400 and "not the announced" in wrong.json()["error"]
    session = UploadSession.objects.get(oid=oid)
    assert session.status == UploadSession.Status.RECEIVING
    forged = client.put(href[:-3] + "abc", content, content_type="application/octet-stream")
    assert forged.status_code == 403
    right = client.put(href, content, content_type="application/octet-stream")
    assert right.status_code == 200
    assert UploadSession.objects.get(oid=oid).sha256 == oid
    verify = client.post(
        "/hf/owner/tiny-bert.git/info/lfs/objects/verify",
        json.dumps({"oid": oid, "size": len(content)}),
        content_type="application/vnd.git-lfs+json",
        HTTP_AUTHORIZATION=f"Bearer {writers['owner']}",
    )
    assert verify.status_code == 200
    again = client.post(
        "/hf/owner/tiny-bert.git/info/lfs/objects/batch",
        json.dumps({"operation": "upload", "objects": [{"oid": oid, "size": len(content)}]}),
        content_type="application/vnd.git-lfs+json",
        HTTP_AUTHORIZATION=f"Bearer {writers['owner']}",
    )
    assert "actions" not in again.json()["objects"][0]  # present: the client skips the transfer


def test_a_session_cookie_cannot_write_through_the_protocol(client, world, writers):
    client.force_login(world.owner)
    response = post_commit(client, None, ndjson({"key": "header", "value": {"summary": "s"}}))
    assert response.status_code == 401


def test_create_private_dataset_upload_a_csv_and_load_it_with_datasets(live, writers, tmp_path):
    rows = b"text,label\n" + b"".join(b"row %d,%d\n" % (i, i % 2) for i in range(50))
    write(tmp_path / "train.csv", rows)
    got = run_client(
        live.url,
        f"""
from huggingface_hub import HfApi, hf_hub_download
from datasets import load_dataset
api = HfApi()
repo = api.create_repo("owner/fresh-data", repo_type="dataset", private=True)
info = api.upload_file(path_or_fileobj={str(tmp_path / "train.csv")!r}, path_in_repo="data/train.csv",
                       repo_id="owner/fresh-data", repo_type="dataset")
back = open(hf_hub_download("owner/fresh-data", "data/train.csv", repo_type="dataset"), "rb").read()
split = load_dataset("owner/fresh-data", split="train")
print(json.dumps([repo.repo_id, api.dataset_info("owner/fresh-data").private, info.oid, back.hex(), split.num_rows]))
""",
        tmp_path,
        writers["owner"],
    )
    repo_id, private, oid, back, count = got
    assert (repo_id, private, count) == ("owner/fresh-data", True, 50)
    assert bytes.fromhex(back) == rows
    from catalog.models import Dataset, DatasetFile

    dataset = live.query(lambda: Dataset.objects.get(name="fresh-data"))
    assert live.query(lambda: revisions.head(dataset).oid) == oid
    # the pipeline profiled the CSV into the dataset's files and columns, as for any upload
    assert live.query(lambda: DatasetFile.objects.get(dataset=dataset, path="data/train.csv").row_count) == 50
    summary = live.query(lambda: Dataset.objects.values("instances_number", "features_number").get(pk=dataset.pk))
    assert summary == {"instances_number": 50, "features_number": 2}  # filled from the profile


def test_preupload_chooses_the_mode_and_answers_the_present_content_id(client, world, writers):
    import base64

    present = b'{"hidden_size": 2}'  # config.json at main
    entries = [
        {"path": "config.json", "size": len(present), "sample": base64.b64encode(present).decode()},
        {"path": "notes.md", "size": 10, "sample": base64.b64encode(b"# a title\n").decode()},
        {"path": "model.safetensors", "size": 10, "sample": base64.b64encode(b"\x08\x00").decode()},
        {"path": "data.txt", "size": 6 * MiB, "sample": base64.b64encode(b"text").decode()},
        {"path": "raw.txt", "size": 3, "sample": base64.b64encode(b"a\x00b").decode()},
        {"path": "build/out.txt", "size": 3, "sample": base64.b64encode(b"abc").decode()},
    ]
    response = client.post(
        "/hf/api/models/owner/tiny-bert/preupload/main",
        json.dumps({"files": entries, "gitIgnore": "build/\n*.tmp\n"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {writers['owner']}",
    )
    assert response.status_code == 200
    answered = {f["path"]: (f["uploadMode"], f["shouldIgnore"], f["oid"]) for f in response.json()["files"]}
    git_id = hashlib.sha1(b"blob %d\0" % len(present) + present).hexdigest()
    assert answered == {
        "config.json": ("regular", False, git_id),
        "notes.md": ("regular", False, None),
        "model.safetensors": ("lfs", False, None),
        "data.txt": ("lfs", False, None),
        "raw.txt": ("lfs", False, None),
        "build/out.txt": ("regular", True, None),
    }
    other = client.post(
        "/hf/api/models/owner/tiny-bert/preupload/v1",
        json.dumps({"files": entries}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {writers['owner']}",
    )
    assert other.status_code == 400 and "main" in other.json()["error"]
