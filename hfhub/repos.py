"""Repository management as ``HfApi.create_repo``, ``delete_repo`` and ``update_repo_settings`` (huggingface_hub
2.x) call it. A façade over the catalogue's services (``save_model``/``save_dataset``, ``delete_asset``), so
permission levels, audit, visibility and grants are those of the pages and /api/v1/: a repository created here
is the same asset as one created from a page. Only a write-scope token may call these (hfhub.auth)."""

from __future__ import annotations

import json
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

from catalog import services
from catalog.models import Asset, Dataset, MLModel, Visibility
from hfhub.errors import HubError, bad_request
from hfhub.views import find_repo, hub_view

# The client's repo_type (None is a model) and the catalogue's plural; spaces and kernels are not served.
KINDS = {None: "models", "model": "models", "dataset": "datasets"}
CREATE_FIELDS = {"name", "organization", "type", "visibility", "private"}
NOT_SIGNED_IN = HubError(None, "Invalid username or password.", 401)
# The Hub's rule for a new repository's name (huggingface_hub's validate_repo_id, in ASCII as the Hub
# enforces it: the client's own check lets non-ASCII letters through). Pages and /api/v1/ keep the
# catalogue's wider rule (catalog.models.base.asset_name_validator), and repositories named under it stay
# readable and writable here: the rule applies to creation through the protocol only.
HUB_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?", re.ASCII)


def check_hub_name(name: str) -> None:
    """HubError (400) unless ``name`` is one the Hugging Face Hub would accept for a new repository."""
    if not HUB_NAME.fullmatch(name) or "--" in name or ".." in name or name.endswith(".git"):
        raise bad_request(
            f"Invalid repository name {name[:100]!r}: use 1 to 96 ASCII letters, digits, '-', '_' and '.', "
            "not starting or ending with '-' or '.', without '--' or '..', and not ending in '.git'."
        )


def _body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise bad_request("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object.")
    return body


def _kind(body: dict) -> str:
    repo_type = body.get("type")
    if not isinstance(repo_type, str | None) or repo_type not in KINDS:
        raise bad_request(f"Repository type {repo_type!r} is not served: use 'model' or 'dataset'.")
    return KINDS[repo_type]


def _visibility(body: dict) -> str | None:
    """``visibility`` as huggingface_hub 1.x+ sends it, or ``private`` as older clients did; None when absent."""
    if "visibility" in body:
        if body["visibility"] not in Visibility.values:
            raise bad_request("visibility must be 'public' or 'private'.")
        return body["visibility"]
    if "private" in body and body["private"] is not None:
        if not isinstance(body["private"], bool):
            raise bad_request("private must be true or false.")
        return Visibility.PRIVATE if body["private"] else Visibility.PUBLIC
    return None


def _repo_name(request: HttpRequest, body: dict) -> tuple[str, str]:
    """The (owner, name) a create or delete body names; the namespace defaults to the caller's."""
    if not request.hub_user.is_authenticated:
        raise NOT_SIGNED_IN
    name, owner = body.get("name"), body.get("organization") or request.hub_user.get_username()
    if not isinstance(name, str) or not name or not isinstance(owner, str):
        raise bad_request("name (and organization, when given) must be strings.")
    return owner, name


def _repo_url(request: HttpRequest, asset: Asset) -> str:
    root = request.build_absolute_uri(reverse("hfhub:whoami")).removesuffix("api/whoami-v2")
    return f"{root}{'datasets/' if isinstance(asset, Dataset) else ''}{asset.full_name}"


def _reasons(error: ValidationError) -> str:
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    return " ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())


def _save(plural: str, *, request: HttpRequest, data: dict, asset: Asset | None = None) -> Asset:
    """Create or update through the catalogue's service; its refusals become the Hub's 403 and 400."""
    user = request.hub_user
    try:
        if plural == MLModel.plural:
            return services.save_model(user=user, data=data, model=asset, request=request)
        return services.save_dataset(user=user, data=data, dataset=asset, request=request)
    except PermissionDenied as exc:
        raise HubError(None, str(exc), 403) from None
    except ValidationError as exc:
        raise bad_request(_reasons(exc)) from None


@hub_view(("POST",), writes=True)
def create_repo(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    if unknown := sorted(set(body) - CREATE_FIELDS):
        raise bad_request(f"Not supported by this hub: {', '.join(unknown)}.")
    owner, name = _repo_name(request, body)
    plural, visibility = _kind(body), _visibility(body) or Visibility.PUBLIC
    if owner != request.hub_user.get_username():
        raise HubError(None, f"You don't have the rights to create a repository under the namespace '{owner}'.", 403)
    existing = Asset.of_plural(plural).objects.with_name(f"{owner}/{name}").first()
    if existing is None:
        check_hub_name(name)
    try:
        asset = existing or _save(plural, request=request, data={"name": name, "visibility": visibility})
    except IntegrityError:  # created by a concurrent request since the lookup
        existing = asset = Asset.of_plural(plural).objects.with_name(f"{owner}/{name}").first()
    url = _repo_url(request, asset)
    if existing is not None:
        message = f"You already created this {plural[:-1]} repo"
        response = JsonResponse({"error": message, "url": url}, status=409)  # exist_ok=True accepts a 409
        response["X-Error-Message"] = message
        return response
    return JsonResponse({"url": url, "name": asset.full_name, "id": str(asset.pk)})


@hub_view(("DELETE",), writes=True)
def delete_repo(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    owner, name = _repo_name(request, body)
    asset = find_repo(request, _kind(body), owner, name)
    try:
        services.delete_asset(user=request.hub_user, asset=asset, request=request)
    except PermissionDenied as exc:
        raise HubError(None, str(exc), 403) from None
    return HttpResponse(status=200)


@hub_view(("PUT",), writes=True)
def repo_settings(request: HttpRequest, kind: str, owner: str, name: str) -> HttpResponse:
    if not request.hub_user.is_authenticated:
        raise NOT_SIGNED_IN
    asset = find_repo(request, kind, owner, name)
    body = _body(request)
    if body.get("gated", False) is not False:
        raise bad_request("Gated repositories are not served by this hub.")
    if unknown := sorted(set(body) - {"gated", "visibility", "private"}):
        raise bad_request(f"Not supported by this hub: {', '.join(unknown)}.")
    visibility = _visibility(body)
    if visibility is not None:
        asset = _save(kind, request=request, data={"visibility": visibility}, asset=asset)
    return JsonResponse({"private": asset.visibility == Visibility.PRIVATE, "gated": False})
