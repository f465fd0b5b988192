"""The Hub's JSON shapes for repositories, files and folders, from the catalogue's rows.

Every file is served as the Hub serves Git LFS files: its ETag is the SHA-256 of the content, and the
tree and the siblings carry ``lfs: {sha256|oid, size, pointerSize}`` and the git blob id of the LFS
pointer that stands for it (what ``git lfs`` would commit), so the client's cache and checksum
verification work unchanged.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from catalog.models import Dataset, FileVersion, MLModel, Visibility

LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n"


def lfs_pointer(version: FileVersion) -> bytes:
    return LFS_POINTER.format(sha256=version.sha256, size=version.size).encode()


def git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


def repo_id(asset) -> str:
    return f"{asset.owner.username}/{asset.name}"


def sibling(path: str, version: FileVersion) -> dict:
    pointer = lfs_pointer(version)
    return {
        "rfilename": path,
        "size": version.size,
        "blobId": git_blob_id(pointer),
        "lfs": {"sha256": version.sha256, "size": version.size, "pointerSize": len(pointer)},
    }


def tree_file(path: str, version: FileVersion) -> dict:
    pointer = lfs_pointer(version)
    return {
        "type": "file",
        "oid": git_blob_id(pointer),
        "size": version.size,
        "path": path,
        "lfs": {"oid": version.sha256, "size": version.size, "pointerSize": len(pointer)},
    }


def tree_folder(path: str, files: dict[str, FileVersion]) -> dict:
    """A folder's id stands for its content: a hash over the paths and contents below it."""
    prefix = path + "/"
    digest = hashlib.sha1(usedforsecurity=False)
    for name in sorted(p for p in files if p.startswith(prefix)):
        digest.update(f"{name}\0{files[name].sha256}\n".encode())
    return {"type": "directory", "oid": digest.hexdigest(), "size": 0, "path": path}


def tags(asset, card: dict) -> list[str]:
    """The Hub's tags: the card's own, the library, the tasks, ``license:<id>``, ``dataset:<id>``."""
    found: list[str] = []
    for tag in [*(card.get("tags") or []), card.get("library_name"), card.get("pipeline_tag")]:
        if isinstance(tag, str) and tag and tag not in found:
            found.append(tag)
    license_id = card.get("license")
    if isinstance(license_id, str) and license_id:
        found.append(f"license:{license_id}")
    for dataset in card.get("datasets") or []:
        found.append(f"dataset:{dataset}")
    return found


def list_item(asset, card: dict, *, full: bool) -> dict:
    """One entry of ``/api/models`` or ``/api/datasets``."""
    item = {
        "_id": str(asset.pk),
        "id": repo_id(asset),
        "author": asset.owner.username,
        "private": asset.visibility != Visibility.PUBLIC,
        "gated": False,
        "disabled": False,
        "downloads": asset.downloads,
        "likes": asset.likes,
        "tags": tags(asset, card),
        "createdAt": iso(asset.created_at),
        "lastModified": iso(asset.updated_at),
    }
    if isinstance(asset, MLModel):
        item["modelId"] = item["id"]
        item["pipeline_tag"] = card.get("pipeline_tag")
        item["library_name"] = card.get("library_name")
    if full:
        item["cardData"] = card
    return item


def repo_info(asset, card: dict, commit, files: dict[str, FileVersion]) -> dict:
    """``/api/models/{repo}[/revision/{rev}]``: the repository at one commit."""
    info = list_item(asset, card, full=True)
    info["sha"] = commit.oid if commit is not None else None
    if commit is not None:
        info["lastModified"] = iso(commit.created_at)
    info["siblings"] = [sibling(path, files[path]) for path in sorted(files)]
    info["usedStorage"] = sum(version.size for version in files.values())
    if isinstance(asset, Dataset):
        info["description"] = card_description(asset.card)
    return info


def card_description(card: str) -> str:
    return (card or "").strip()[:300]
