"""The Hugging Face Hub's read protocol, as ``huggingface_hub`` 2.x, the ``hf`` CLI, ``datasets`` and
``hf://`` paths call it (mounted under ``/hf/``, so ``HF_ENDPOINT=https://host/hf``).

A façade: repositories come from the catalogue's ``visible_to`` querysets, revisions from
``catalog.revisions``, downloads from the native streamed, decrypting, range-capable download
(``catalog.views.download_response``: counted and audited alike, ``HEAD`` neither)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt

from catalog import response_cache, revisions
from catalog.downloads import download_response
from catalog.models import Asset, Commit, Ref
from hfhub import listing, payloads
from hfhub.auth import InvalidCredentials, ReadScopeToken, authenticate
from hfhub.carddata import card_data, list_card_data
from hfhub.errors import HubError, bad_request, entry_not_found, hub_error_response, repo_not_found, revision_not_found

TREE_PAGE = 1000
COMMITS_PAGE = 50
MAX_PATHS = 1000


def hub_view(methods: tuple[str, ...], *, writes: bool = False, cached: bool = False) -> Callable:
    """Authenticate (token or session; a write-scope token only when ``writes``), allow ``methods`` only, and
    answer errors as the Hub does; ``cached``: answers come from the response cache (catalog.response_cache)
    for the caller's scope, after authentication."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt  # the client sends no CSRF token; writes accept no session (hfhub.auth), so none is needed
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                response = hub_error_response(HubError(None, "Method not allowed", 405))
                response["Allow"] = ", ".join(methods)
                return response
            try:
                authenticate(request, writes=writes)
                hit, slot = response_cache.lookup(request, user=request.hub_user) if cached else (None, None)
                if hit is not None:
                    return hit
                response = view(request, *args, **kwargs)
                if slot is not None:
                    slot.store(response, request)
                return response
            except InvalidCredentials as exc:
                return hub_error_response(HubError(None, str(exc), 401))
            except ReadScopeToken as exc:
                return hub_error_response(HubError(None, str(exc), 403))
            except HubError as exc:
                return hub_error_response(exc, getattr(exc, "commit_oid", None))

        return wrapped

    return decorate


# --- lookups -----------------------------------------------------------------------------------


def find_repo(request: HttpRequest, kind: str, owner: str, name: str):
    assets = Asset.of_plural(kind).objects.select_related("owner", "license", "hub_card")
    try:
        return assets.named(f"{owner}/{name}", user=request.hub_user)
    except Http404:
        raise repo_not_found(request) from None


def find_commit(asset, revision: str | None) -> Commit | None:
    try:
        return revisions.resolve_revision(asset, revision)
    except revisions.RevisionNotFound:
        raise revision_not_found(revision or "main") from None


# --- account -----------------------------------------------------------------------------------


@hub_view(("GET",))
def whoami(request: HttpRequest) -> HttpResponse:
    user = request.hub_user
    if not user.is_authenticated:
        raise HubError(None, "Invalid credentials in Authorization header", 401)
    token = getattr(request, "hub_token", None)
    access = (
        {"displayName": token.name, "role": token.scope, "createdAt": payloads.iso(token.created_at)} if token else None
    )
    return JsonResponse(
        {
            "type": "user",
            "id": str(user.pk),
            "name": user.get_username(),
            "fullname": user.get_full_name() or user.get_username(),
            "email": user.email or None,
            "emailVerified": False,
            "canPay": False,
            "isPro": False,
            "periodEnd": None,
            "avatarUrl": "",
            "orgs": [],
            "auth": {"type": "access_token", "accessToken": access} if access else {"type": "session"},
        }
    )


# --- listing -----------------------------------------------------------------------------------


@hub_view(("GET",), cached=True)
def repo_list(request: HttpRequest, kind: str) -> HttpResponse:
    query = listing.parse(request.GET)
    queryset = (
        Asset.of_plural(kind)
        .objects.visible_to(request.hub_user)
        .select_related("owner", "license", "hub_card")
        .prefetch_related("tasks")
    )
    result = listing.page(queryset, query, request.GET.get("cursor"), request.hub_user)
    items = [
        payloads.list_item(asset, list_card_data(asset), full=query.full or query.card_data) for asset in result.rows
    ]
    response = JsonResponse(items, safe=False)
    if result.next:
        params = [(k, v) for k, values in request.GET.lists() for v in values if k != "cursor"]
        response["Link"] = (
            f'<{request.build_absolute_uri(request.path)}?{urlencode([*params, ("cursor", result.next)])}>; rel="next"'
        )
    return response


# --- one repository ----------------------------------------------------------------------------


@hub_view(("GET",), cached=True)
def repo_info(request: HttpRequest, kind: str, owner: str, name: str, revision: str | None = None) -> HttpResponse:
    asset = find_repo(request, kind, owner, name)
    commit = find_commit(asset, revision)
    files = revisions.files_at(commit)
    return JsonResponse(payloads.repo_info(asset, card_data(asset, request.hub_user), commit, files))


@hub_view(("GET", "HEAD"))
def resolve(request: HttpRequest, kind: str, owner: str, name: str, revision: str, path: str) -> HttpResponse:
    asset = find_repo(request, kind, owner, name)
    commit = find_commit(asset, revision)
    version = revisions.version_at(commit, path)
    if version is None:
        error = entry_not_found(path)
        error.commit_oid = commit.oid if commit else None
        raise error
    response = download_response(request, asset, version)
    response["X-Repo-Commit"] = commit.oid
    response["X-Linked-Size"] = str(version.size)
    if response.status_code in (200, 206, 304):
        response["X-Linked-Etag"] = f'"{version.sha256}"'
    return response


def tree_entries(files: dict, base: str, recursive: bool) -> list[dict]:
    """The files and folders directly under ``base`` ("" for the root), or all below it."""
    prefix = f"{base}/" if base else ""
    folders: set[str] = set()
    found: list[dict] = []
    for path, version in files.items():
        if not path.startswith(prefix):
            continue
        parts = path[len(prefix) :].split("/")
        deepest = len(parts) - 1 if recursive else min(1, len(parts) - 1)
        folders.update(prefix + "/".join(parts[:i]) for i in range(1, deepest + 1))
        if recursive or len(parts) == 1:
            found.append(payloads.tree_file(path, version))
    found.extend(payloads.tree_folder(folder, files) for folder in folders)
    return sorted(found, key=lambda entry: entry["path"])


@hub_view(("GET",))
def tree(request: HttpRequest, kind: str, owner: str, name: str, revision: str, path: str = "") -> HttpResponse:
    asset = find_repo(request, kind, owner, name)
    commit = find_commit(asset, revision)
    files = revisions.files_at(commit)
    base = path.strip("/")
    if base and not any(p.startswith(base + "/") for p in files):
        raise entry_not_found(base)
    entries = tree_entries(files, base, request.GET.get("recursive") in listing.TRUE)
    cursor = request.GET.get("cursor") or ""
    if cursor:
        entries = [entry for entry in entries if entry["path"] > cursor]
    response = JsonResponse(entries[:TREE_PAGE], safe=False)
    if len(entries) > TREE_PAGE:
        params = [(k, v) for k, v in request.GET.items() if k != "cursor"]
        cursor = ("cursor", entries[TREE_PAGE - 1]["path"])
        next_url = f"{request.build_absolute_uri(request.path)}?{urlencode([*params, cursor])}"
        response["Link"] = f'<{next_url}>; rel="next"'
    return response


def _requested_paths(request: HttpRequest) -> list[str]:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise bad_request("The body is not valid JSON.") from None
        paths = body.get("paths") if isinstance(body, dict) else None
    else:
        paths = request.POST.getlist("paths")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths) or len(paths) > MAX_PATHS:
        raise bad_request(f"paths must be a list of at most {MAX_PATHS} paths")
    return [p.strip("/") for p in paths]


@hub_view(("POST",))
def paths_info(request: HttpRequest, kind: str, owner: str, name: str, revision: str) -> HttpResponse:
    asset = find_repo(request, kind, owner, name)
    commit = find_commit(asset, revision)
    files = revisions.files_at(commit)
    found = []
    for path in dict.fromkeys(_requested_paths(request)):
        if path in files:
            found.append(payloads.tree_file(path, files[path]))
        elif path and any(p.startswith(path + "/") for p in files):
            found.append(payloads.tree_folder(path, files))
    return JsonResponse(found, safe=False)


@hub_view(("GET",))
def refs(request: HttpRequest, kind: str, owner: str, name: str) -> HttpResponse:
    asset = find_repo(request, kind, owner, name)
    listed = {"branches": [], "converts": [], "tags": [], "pullRequests": []}
    for ref in revisions.list_refs(asset):
        group, prefix = ("branches", "refs/heads/") if ref.kind == Ref.Kind.BRANCH else ("tags", "refs/tags/")
        listed[group].append({"name": ref.name, "ref": prefix + ref.name, "targetCommit": ref.commit.oid})
    return JsonResponse(listed)


@hub_view(("GET",))
def commits(request: HttpRequest, kind: str, owner: str, name: str, revision: str) -> HttpResponse:
    asset = find_repo(request, kind, owner, name)
    try:
        history = revisions.list_commits(asset, revision)
    except revisions.RevisionNotFound:
        raise revision_not_found(revision) from None
    before = request.GET.get("before") or ""
    if before:
        if not (before.isascii() and before.isdigit() and len(before) < 10):
            raise bad_request("before must be a commit number")
        history = history.filter(number__lt=int(before))
    rows = list(history[: COMMITS_PAGE + 1])
    response = JsonResponse(
        [
            {
                "id": commit.oid,
                "title": commit.title,
                "message": commit.message,
                "date": payloads.iso(commit.created_at),
                "authors": [{"user": commit.author_name or "unknown", "avatar": None}],
            }
            for commit in rows[:COMMITS_PAGE]
        ],
        safe=False,
    )
    if len(rows) > COMMITS_PAGE:
        next_url = f"{request.build_absolute_uri(request.path)}?{urlencode({'before': rows[COMMITS_PAGE - 1].number})}"
        response["Link"] = f'<{next_url}>; rel="next"'
    return response
