"""The "Use it" snippets of model and dataset pages: Python (huggingface_hub / datasets) against this
hub's Hugging Face protocol under /hf/, and curl against /api/v1/ and the downloads, with a token.

Text only: the page escapes it. Names are quoted for Python with repr() and for the shell with
shlex.quote(), so an asset name can never break out of the snippet."""

from __future__ import annotations

import shlex

from django.http import HttpRequest
from django.urls import reverse

TOKEN_NOTE = "an API token from /accounts/tokens/ (read scope is enough)"
PREFERRED_FILES = ("config.json", "README.md")


def _example_file(paths: list[str]) -> str | None:
    for preferred in PREFERRED_FILES:
        if preferred in paths:
            return preferred
    return paths[0] if paths else None


def snippets(request: HttpRequest, asset, ready_paths: list[str]) -> list[dict[str, str]]:
    """[{"title", "language", "code"}] for ``asset`` as seen at this request's host."""
    base = request.build_absolute_uri("/").rstrip("/")
    repo = asset.full_name
    private = asset.visibility == "private"
    setup = [f"export HF_ENDPOINT={shlex.quote(base + '/hf')}"]
    setup.append(
        f"export HF_TOKEN=omh_...   # {TOKEN_NOTE}" + ("" if private else "; not needed for public repositories")
    )
    example = _example_file(ready_paths)
    if asset.kind == "model":
        imports = "hf_hub_download, snapshot_download" if example else "snapshot_download"
        python = [f"from huggingface_hub import {imports}", ""]
        if example:
            python.append(f"path = hf_hub_download({repo!r}, {example!r})")
        python.append(f"folder = snapshot_download({repo!r})  # every file of main")
    else:
        python = ["from datasets import load_dataset", "from huggingface_hub import snapshot_download", ""]
        python.append(f"dataset = load_dataset({repo!r})")
        python.append(f"folder = snapshot_download({repo!r}, repo_type='dataset')")
    api = base + reverse(f"api:{asset.plural}-detail", kwargs={"owner": asset.owner.username, "name": asset.name})
    curl = [f"curl -H 'Authorization: Bearer omh_...' {shlex.quote(api)}"]
    if example:
        download = reverse(
            f"api:{asset.plural}-file-download",
            kwargs={"owner": asset.owner.username, "name": asset.name, "path": example},
        )
        local = shlex.quote(example.rsplit("/", 1)[-1])
        curl.append(f"curl -L -o {local} -H 'Authorization: Bearer omh_...' {shlex.quote(base + download)}")
    return [
        {"title": "Environment", "language": "sh", "code": "\n".join(setup)},
        {"title": "Python", "language": "python", "code": "\n".join(python)},
        {"title": "curl", "language": "sh", "code": "\n".join(curl)},
    ]
