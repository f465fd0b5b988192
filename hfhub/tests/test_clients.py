"""The real, unmodified Hugging Face clients (huggingface_hub, the hf CLI, datasets, hf:// paths with
pandas) against a live hub, each run in a subprocess with HF_ENDPOINT pointing at it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from accounts.services import revoke_grant
from catalog.models import Commit, MLModel
from hfhub.tests.conftest import run_client

pytestmark = pytest.mark.django_db(transaction=True)


def test_hf_hub_download_reads_by_branch_commit_and_tag_and_a_cached_call_only_heads(
    live, world, tmp_path, requests_seen
):
    first = world.commits["first"].oid
    got = run_client(
        live.url,
        f"""
from huggingface_hub import hf_hub_download
read = lambda **kw: open(hf_hub_download("owner/tiny-bert", "config.json", **kw)).read()
print(json.dumps([read(), read(revision="{first}"), read(revision="v1"), read(revision="{first[:7]}")]))
""",
        tmp_path,
    )
    assert got == ['{"hidden_size": 2}', '{"hidden_size": 1}', '{"hidden_size": 1}', '{"hidden_size": 1}']
    requests_seen.clear()
    again = run_client(
        live.url,
        """
from huggingface_hub import hf_hub_download
print(json.dumps(open(hf_hub_download("owner/tiny-bert", "config.json")).read()))
""",
        tmp_path,
    )
    assert again == '{"hidden_size": 2}'
    assert requests_seen.seen == [("HEAD", "/hf/owner/tiny-bert/resolve/main/config.json", "")]


def test_snapshot_download_fetches_only_the_allowed_patterns(live, world, tmp_path):
    got = run_client(
        live.url,
        """
from pathlib import Path
from huggingface_hub import snapshot_download
root = Path(snapshot_download("owner/tiny-bert", allow_patterns=["*.json", "weights/*"]))
print(json.dumps(sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())))
""",
        tmp_path,
    )
    assert got == ["config.json", "weights/readme.txt"]


def test_model_info_and_dataset_info_describe_the_repository(live, world, tmp_path):
    got = run_client(
        live.url,
        """
from huggingface_hub import HfApi
api = HfApi()
m = api.model_info("owner/tiny-bert", files_metadata=True)
old = api.model_info("owner/tiny-bert", revision="v1")
d = api.dataset_info("owner/tiny-csv")
print(json.dumps({"id": m.id, "sha": m.sha, "author": m.author, "private": m.private, "gated": m.gated,
    "siblings": {s.rfilename: [s.size, s.lfs.sha256 if s.lfs else None] for s in m.siblings},
    "old_sha": old.sha, "dataset": [d.id, [s.rfilename for s in d.siblings]]}))
""",
        tmp_path,
    )
    config = world.commits["second"].changes.get(path="config.json").version
    assert got["id"] == "owner/tiny-bert" and got["author"] == "owner"
    assert got["sha"] == world.commits["second"].oid and got["old_sha"] == world.commits["first"].oid
    assert got["private"] is False and got["gated"] is False
    assert got["siblings"]["config.json"] == [config.size, config.sha256]
    assert sorted(got["siblings"]) == ["config.json", "notes.txt", "weights/readme.txt"]
    assert got["dataset"] == ["owner/tiny-csv", ["data/train.csv"]]


def test_list_models_searches_by_author_and_tag_across_pages(live, world, tmp_path, requests_seen):
    def add_models():
        MLModel.objects.bulk_create(MLModel(owner=world.owner, name=f"bert-{i:03}") for i in range(105))
        MLModel.objects.create(owner=world.stranger, name="bert-elsewhere")

    live.query(add_models)
    requests_seen.clear()
    got = run_client(
        live.url,
        """
from huggingface_hub import HfApi
api = HfApi()
print(json.dumps({"mine": [m.id for m in api.list_models(search="bert", author="owner")],
                  "all": len(list(api.list_models(search="ert-"))),
                  "id_search": [m.id for m in api.list_models(search="owner/tiny")],
                  "secret": [m.id for m in api.list_models(search="secret")]}))
""",
        tmp_path,
    )
    assert len(got["mine"]) == 106 and len(set(got["mine"])) == 106  # 105 bert-NNN and tiny-bert
    assert all(name.startswith(("owner/bert-", "owner/tiny-bert")) for name in got["mine"])
    assert got["all"] == 106
    assert got["id_search"] == ["owner/tiny-bert"]
    assert got["secret"] == []
    first_search = [path for method, path, _ in requests_seen.seen if path == "/hf/api/models"]
    assert len(first_search) >= 2 + 2  # two pages for each of the first two listings


def test_list_repo_files_file_exists_refs_and_commits(live, world, tmp_path):
    got = run_client(
        live.url,
        """
from huggingface_hub import HfApi, file_exists
api = HfApi()
refs = api.list_repo_refs("owner/tiny-bert")
print(json.dumps({"files": api.list_repo_files("owner/tiny-bert"),
    "exists": [file_exists("owner/tiny-bert", "config.json"), file_exists("owner/tiny-bert", "nope.json")],
    "branches": [(r.name, r.target_commit) for r in refs.branches],
    "tags": [(r.name, r.target_commit) for r in refs.tags],
    "commits": [c.commit_id for c in api.list_repo_commits("owner/tiny-bert")]}))
""",
        tmp_path,
    )
    first, second = world.commits["first"].oid, world.commits["second"].oid
    assert got["files"] == ["config.json", "notes.txt", "weights/readme.txt"]
    assert got["exists"] == [True, False]
    assert got["branches"] == [["main", second]] and got["tags"] == [["v1", first]]
    history = live.query(lambda: list(Commit.objects.of(world.model).order_by("-number").values_list("oid", flat=True)))
    assert got["commits"] == history and history[0] == second and first in history


def test_hf_file_system_and_pandas_read_a_dataset_csv_with_ranges(live, world, tmp_path, requests_seen):
    got = run_client(
        live.url,
        """
import pandas as pd
from huggingface_hub import HfFileSystem
fs = HfFileSystem()
with fs.open("datasets/owner/tiny-csv/data/train.csv", block_size=64) as f:
    f.seek(4)
    head = f.read(8).decode()
frame = pd.read_csv("hf://datasets/owner/tiny-csv/data/train.csv")
print(json.dumps({"ls": fs.ls("datasets/owner/tiny-csv/data", detail=False), "head": head,
                  "rows": len(frame), "last": frame.iloc[-1].tolist()}))
""",
        tmp_path,
    )
    assert got["ls"] == ["datasets/owner/tiny-csv/data/train.csv"]
    assert got["head"] == "0,0\n1,1\n"
    assert got["rows"] == 200 and got["last"] == [199, 199 * 199]
    ranged = [rng for method, path, rng in requests_seen.seen if path.endswith("/resolve/main/data/train.csv") and rng]
    assert ranged and all(rng.startswith("bytes=") for rng in ranged)


def test_load_dataset_reads_a_csv_dataset_repository(live, world, tmp_path):
    got = run_client(
        live.url,
        """
from datasets import load_dataset
ds = load_dataset("owner/tiny-csv", split="train")
print(json.dumps({"rows": ds.num_rows, "columns": ds.column_names, "first": ds[0]}))
""",
        tmp_path,
        timeout=300,
    )
    assert got == {"rows": 200, "columns": ["a", "b"], "first": {"a": 0, "b": 0}}


def test_the_hf_download_command_downloads_a_file(live, world, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
    env.update(
        HF_ENDPOINT=f"{live.url}/hf",
        HF_HOME=str(tmp_path / "home"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_XET="1",
        NO_PROXY="*",
    )
    hf = os.path.join(os.path.dirname(sys.executable), "hf")
    done = subprocess.run(
        [hf, "download", "owner/tiny-bert", "config.json", "--local-dir", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "out" / "config.json").read_text() == '{"hidden_size": 2}'


PRIVATE_READ = """
from huggingface_hub import hf_hub_download, HfApi
from huggingface_hub.errors import RepositoryNotFoundError
out = []
for call in (lambda: open(hf_hub_download("owner/secret", "config.json")).read(),
             lambda: HfApi().model_info("owner/secret").id):
    try:
        out.append(call())
    except RepositoryNotFoundError:
        out.append("RepositoryNotFoundError")
print(json.dumps(out))
"""


def test_private_repositories_are_not_found_for_anonymous_strangers_and_revoked_grantees(live, world, tmp_path):
    denied = ["RepositoryNotFoundError", "RepositoryNotFoundError"]
    assert run_client(live.url, PRIVATE_READ, tmp_path / "anonymous") == denied
    assert run_client(live.url, PRIVATE_READ, tmp_path / "stranger", world.tokens["stranger"]) == denied
    granted = ['{"secret": true}', "owner/secret"]
    assert run_client(live.url, PRIVATE_READ, tmp_path / "owner", world.tokens["owner"]) == granted
    assert run_client(live.url, PRIVATE_READ, tmp_path / "grantee", world.tokens["grantee"]) == granted
    live.query(lambda: revoke_grant(by=world.owner, grant=world.grant))
    assert run_client(live.url, PRIVATE_READ, tmp_path / "revoked", world.tokens["grantee"]) == denied
