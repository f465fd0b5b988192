"""Errors as the Hugging Face Hub sends them: an ``X-Error-Code`` header that ``huggingface_hub`` maps to
its exceptions, an ``X-Error-Message``, and a JSON body ``{"error": "..."}``."""

from __future__ import annotations

from django.http import JsonResponse

from hfhub.auth import is_signed_in


class HubError(Exception):
    """Raised by the views; ``hub_error_response`` turns it into the Hub's answer."""

    def __init__(self, code: str | None, message: str, status: int = 404):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def repo_not_found(request) -> HubError:
    # As the Hub: 401 to an anonymous caller, 404 to a signed-in one; a hidden repository answers exactly
    # like a missing one, so nobody learns that a private repository exists.
    return HubError("RepoNotFound", "Repository not found", 404 if is_signed_in(request) else 401)


def revision_not_found(revision: str) -> HubError:
    return HubError("RevisionNotFound", f"Invalid rev id: {revision}")


def entry_not_found(path: str) -> HubError:
    return HubError("EntryNotFound", f"Entry not found: {path}")


def bad_request(message: str) -> HubError:
    return HubError(None, message, 400)


def hub_error_response(error: HubError, commit_oid: str | None = None) -> JsonResponse:
    response = JsonResponse({"error": error.message}, status=error.status)
    if error.code:
        response["X-Error-Code"] = error.code
    response["X-Error-Message"] = error.message
    if commit_oid:  # lets the client remember that a file is absent at this commit
        response["X-Repo-Commit"] = commit_oid
    return response
