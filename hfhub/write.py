"""The Hugging Face Hub's write protocol, as ``huggingface_hub`` 2.x (``upload_file``, ``upload_folder``,
``create_commit``, ``delete_file``, ``create_tag``) and the ``hf upload`` command call it with Xet
disabled (``HF_HUB_DISABLE_XET=1``: the hub speaks Git LFS, not Xet).

1. ``preupload`` decides per file: small text goes inline in the commit ("regular"), anything else
   through Git LFS; it also answers the present content's id, so the client skips unchanged files.
2. The LFS batch answers, per object, nothing (the repository holds those bytes already, or they were
   received and verified: the client skips the transfer) or where to send it: one streamed ``PUT``
   (basic transfer) hashed and encrypted into storage while it is written to staging, and checked
   against the object's SHA-256, or, from ``OMH_LFS_MULTIPART_BYTES``, numbered parts (multipart
   transfer) that a retried upload sends again only if they are missing, hashed and encrypted in one
   pass when the client completes them. The upload URLs carry a
   signed, expiring capability (as presigned storage URLs do: the client sends no token there).
3. The ndjson commit (header, inline files, LFS files, deleted files and folders, ``parentCommit``)
   becomes one commit through ``catalog.uploads.commit``: the pipeline (kinds, inspection, then the
   object encrypted on receipt adopted, or inline files encrypted) runs on every file before anything
   is recorded, so the answer comes back when the files
   are stored and readable, and a refused file fails the whole commit with its reason.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import json
from pathlib import PurePosixPath

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from catalog import files, revisions, uploads
from catalog.models import Ref, UploadSession
from hfhub.errors import HubError, bad_request, hub_error_response, revision_not_found
from hfhub.repos import _body, _repo_url
from hfhub.views import find_repo, hub_view

LFS_JSON = "application/vnd.git-lfs+json"
REGULAR_MAX_BYTES = 5 * 1024 * 1024  # the client reads a "regular" file whole to hash and inline it
BINARY_SUFFIXES = {
    ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".npy", ".npz", ".h5", ".hdf5", ".onnx",
    ".gguf", ".ggml", ".msgpack", ".tflite", ".parquet", ".arrow", ".feather", ".zip", ".gz", ".tar", ".zst",
    ".7z", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".wav", ".mp3", ".flac", ".mp4", ".model", ".pb",
}  # fmt: skip
MAX_PREUPLOAD_FILES = 1000
PREUPLOAD_READ_BYTES = 64 * 1024 * 1024
MAX_BATCH_OBJECTS = 1000
MAX_COMMIT_OPERATIONS = 25_000
MAX_LINE_BYTES = 16 * 1024 * 1024
SIGNING_SALT = "hfhub.lfs-upload"


def _revision_is_main(asset, revision: str) -> None:
    """Commits go to main (the hub keeps one branch); naming main by a ref is fine, anything else not."""
    if revision in (Ref.MAIN, "refs/heads/main", "refs%2Fheads%2Fmain"):
        return
    try:
        revisions.resolve_revision(asset, revision)
    except revisions.RevisionNotFound:
        raise revision_not_found(revision) from None
    raise bad_request(f"Only the main branch can be committed to on this hub, not {revision!r}.")


def _writable(request: HttpRequest, kind: str, owner: str, name: str):
    if not request.hub_user.is_authenticated:
        raise HubError(None, "Invalid credentials in Authorization header", 401)
    asset = find_repo(request, kind, owner, name)
    if not asset.is_editable_by(request.hub_user):
        raise HubError(None, "You don't have the rights to write to this repository.", 403)
    return asset


def _content_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH") or ""
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _upload_error(exc: uploads.UploadError) -> HubError:
    code = "EntryNotFound" if isinstance(exc, uploads.EntryNotFound) else None
    return HubError(code, str(exc), exc.status)


# --- preupload --------------------------------------------------------------------------------


def _ignored(path: str, gitignore: str | None) -> bool:
    """A path the repository's .gitignore excludes (plain patterns; negations are not applied)."""
    if not gitignore:
        return False
    parts = PurePosixPath(path).parts
    for raw in gitignore.splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith(("#", "!")):
            continue
        folder = pattern.endswith("/")
        pattern = pattern.strip("/")
        if "/" in pattern:
            if fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern + "/*"):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in (parts[:-1] if folder else parts)):
            return True
    return False


def upload_mode(path: str, size: int, sample: bytes) -> str:
    if size == 0:
        return "regular"
    if size > REGULAR_MAX_BYTES or PurePosixPath(path).suffix.lower() in BINARY_SUFFIXES or b"\0" in sample:
        return "lfs"
    return "regular"


def _remote_oid(version, mode: str, budget: list[int]) -> str | None:
    """The id the client compares with its own to skip an unchanged file: the SHA-256 for LFS, the git
    blob id of the content for a regular file (read back only for files small enough to go inline, and
    no more than ``PREUPLOAD_READ_BYTES`` per request: past it the client just sends the file)."""
    if version is None:
        return None
    if mode == "lfs":
        return version.sha256
    if version.size > REGULAR_MAX_BYTES or version.size > budget[0]:
        return None
    budget[0] -= version.size
    content = b"".join(files.read_plaintext(version))
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def _gitignore(body: dict, present: dict) -> str | None:
    if isinstance(body.get("gitIgnore"), str):
        return body["gitIgnore"]
    version = present.get(".gitignore")
    if version is not None and version.size <= REGULAR_MAX_BYTES:
        return b"".join(files.read_plaintext(version)).decode("utf-8", "replace")
    return None


@hub_view(("POST",), writes=True)
def preupload(request: HttpRequest, kind: str, owner: str, name: str, revision: str) -> HttpResponse:
    asset = _writable(request, kind, owner, name)
    _revision_is_main(asset, revision)
    body = _body(request)
    entries = body.get("files")
    if not isinstance(entries, list) or len(entries) > MAX_PREUPLOAD_FILES:
        raise bad_request(f"files must be a list of at most {MAX_PREUPLOAD_FILES} entries.")
    present = revisions.files_at(revisions.head(asset))
    gitignore = _gitignore(body, present)
    answered, budget = [], [PREUPLOAD_READ_BYTES]
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise bad_request("Each file needs a path.")
        size, sample = entry.get("size"), entry.get("sample", "")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0 or not isinstance(sample, str):
            raise bad_request(f"{entry['path']}: size must be a whole number and sample base64.")
        try:
            raw_sample = base64.b64decode(sample[:1024], validate=True)
        except (binascii.Error, ValueError):
            raise bad_request(f"{entry['path']}: the sample is not base64.") from None
        mode = upload_mode(entry["path"], size, raw_sample)
        path = entry["path"].strip("/")
        answered.append(
            {
                "path": entry["path"],
                "uploadMode": mode,
                "shouldIgnore": _ignored(path, gitignore),
                "oid": _remote_oid(present.get(path), mode, budget),
            }
        )
    return JsonResponse({"files": answered})


# --- Git LFS batch, transfers, verify ------------------------------------------------------------


def _lfs_response(payload: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(payload, status=status)
    response["Content-Type"] = LFS_JSON
    return response


def capability(session: UploadSession) -> str:
    return signing.TimestampSigner(salt=SIGNING_SALT).sign(session.uuid.hex)


def _session_for(token: str) -> UploadSession:
    try:
        session_id = signing.TimestampSigner(salt=SIGNING_SALT).unsign(
            token, max_age=settings.OMH_UPLOAD_SESSION_SECONDS
        )
    except signing.BadSignature:  # includes SignatureExpired
        raise HubError(None, "This upload URL is invalid or has expired; ask for a new one.", 403) from None
    session = UploadSession.objects.filter(uuid=session_id).first()
    if session is None:
        raise HubError(None, "There is no such upload (it may have been committed or expired).", 404)
    return session


def _object_answer(request: HttpRequest, asset, item, transfers: list) -> tuple[dict, bool]:
    """One object of the batch: (its answer, whether it uses the multipart transfer)."""
    if not isinstance(item, dict):
        raise bad_request("Each object needs an oid and a size.")
    oid, size = item.get("oid"), item.get("size")
    answer = {"oid": oid if isinstance(oid, str) else "", "size": size if isinstance(size, int) else 0}
    try:
        uploads.check_oid(oid)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise uploads.UploadError("size must be a whole number of bytes.")
        if uploads.is_present(asset, oid, size):
            return {**answer, "authenticated": True}, False
        session = uploads.create_session(user=request.hub_user, asset=asset, size=size, oid=oid)
    except uploads.UploadError as exc:
        return {**answer, "error": {"code": 422, "message": str(exc)}}, False
    token = capability(session)
    put_url = request.build_absolute_uri(reverse("hfhub:lfs-upload", args=[token]))
    verify = {"href": request.build_absolute_uri(reverse(f"hfhub:{asset.kind}-lfs-verify", kwargs=_repo_args(asset)))}
    multipart = "multipart" in transfers and size >= settings.OMH_LFS_MULTIPART_BYTES
    if multipart:
        header = {"chunk_size": str(session.part_size)}
        for number in range(1, session.part_count + 1):
            header[f"{number:05d}"] = request.build_absolute_uri(reverse("hfhub:lfs-part", args=[token, number]))
        upload = {"href": put_url, "header": header}
    else:
        upload = {"href": put_url}
    return {**answer, "authenticated": True, "actions": {"upload": upload, "verify": verify}}, multipart


def _repo_args(asset) -> dict:
    return {"owner": asset.owner.get_username(), "name": asset.name}


@hub_view(("POST",), writes=True)
def lfs_batch(request: HttpRequest, owner: str, name: str, kind: str = "models") -> HttpResponse:
    asset = _writable(request, kind, owner, name)
    body = _body(request)
    if body.get("operation") != "upload":
        raise bad_request("Only the upload operation is served here; downloads use /resolve/.")
    if body.get("hash_algo", "sha256") != "sha256":
        raise bad_request("Only sha256 objects are served.")
    ref = body.get("ref")
    if isinstance(ref, dict) and isinstance(ref.get("name"), str):
        _revision_is_main(asset, ref["name"])
    transfers = body.get("transfers") or ["basic"]
    objects = body.get("objects")
    if not isinstance(transfers, list) or not isinstance(objects, list) or len(objects) > MAX_BATCH_OBJECTS:
        raise bad_request(f"objects must be a list of at most {MAX_BATCH_OBJECTS} objects.")
    answers, chosen = [], "basic"
    for item in objects:
        answer, multipart = _object_answer(request, asset, item, transfers)
        answers.append(answer)
        chosen = "multipart" if multipart else chosen
    return _lfs_response({"transfer": chosen, "objects": answers, "hash_algo": "sha256"})


@hub_view(("POST",), writes=True)
def lfs_verify(request: HttpRequest, owner: str, name: str, kind: str = "models") -> HttpResponse:
    asset = _writable(request, kind, owner, name)
    body = _body(request)
    oid, size = body.get("oid"), body.get("size")
    try:
        uploads.check_oid(oid)
    except uploads.UploadError as exc:
        raise bad_request(str(exc)) from None
    if not isinstance(size, int) or not uploads.is_present(asset, oid, size):
        raise HubError(None, f"Object {oid} was not received (or does not match its size).", 404)
    return _lfs_response({"message": "Verified", "oid": oid, "size": size})


def _transfer_view(view):
    @csrf_exempt  # a capability URL: no session, no token, nothing for a browser to forge
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except uploads.UploadError as exc:
            return hub_error_response(_upload_error(exc))
        except HubError as exc:
            return hub_error_response(exc)

    return wrapped


@_transfer_view
def lfs_upload(request: HttpRequest, token: str) -> HttpResponse:
    """PUT: the whole object (basic transfer). POST: the multipart completion ``{"oid", "parts"}``."""
    session = _session_for(token)
    if request.method == "PUT":
        length = _content_length(request)
        if length is None:
            return hub_error_response(HubError(None, "Send the object with a Content-Length.", 411))
        uploads.receive_whole(session, request, length)
        return HttpResponse(status=200)
    if request.method == "POST":
        body = _body(request)
        if body.get("oid") != session.oid:
            raise bad_request("The completion names another object than this upload.")
        session = uploads.complete(session)
        return _lfs_response({"oid": session.sha256, "size": session.size})
    response = hub_error_response(HubError(None, "Method not allowed", 405))
    response["Allow"] = "PUT, POST"
    return response


@_transfer_view
def lfs_part(request: HttpRequest, token: str, number: int) -> HttpResponse:
    session = _session_for(token)
    if request.method != "PUT":
        response = hub_error_response(HubError(None, "Method not allowed", 405))
        response["Allow"] = "PUT"
        return response
    length = _content_length(request)
    if length is None:
        return hub_error_response(HubError(None, "Send the part with a Content-Length.", 411))
    etag = uploads.receive_part(session, number, request, length)
    response = HttpResponse(status=200)
    response["ETag"] = etag
    return response


# --- the commit ---------------------------------------------------------------------------------


class _Commit:
    """The parsed ndjson body: header, additions (staged as they are read), deletions."""

    def __init__(self):
        self.header: dict | None = None
        self.additions: list[uploads.Addition] = []
        self.deleted: list[str] = []
        self.deleted_folders: list[str] = []
        self.inline: list[uploads.Staged] = []
        self.inline_bytes = 0

    def close(self) -> None:
        for staged in self.inline:
            staged.path.unlink(missing_ok=True)


def _lines(request: HttpRequest):
    while True:
        line = request.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            raise bad_request(f"A line of the commit is longer than {MAX_LINE_BYTES:,} bytes: upload it through LFS.")
        if line.strip():
            yield line


def _decode_inline(value: dict) -> bytes:
    content, encoding = value.get("content"), value.get("encoding", "base64")
    if not isinstance(content, str):
        raise bad_request(f"{value.get('path')}: a file needs its content.")
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request(f"{value.get('path')}: the content is not valid base64.") from None
    if encoding in ("utf-8", "utf8"):
        return content.encode()
    raise bad_request(f"{value.get('path')}: unknown encoding {encoding!r}.")


def _operation(asset, parsed: _Commit, key: str, value: dict) -> None:
    path = value.get("path")
    if not isinstance(path, str):
        raise bad_request(f"A {key} operation needs a path.")
    if key == "file":
        staged = uploads.stage_blocks([_decode_inline(value)])
        parsed.inline.append(staged)
        parsed.inline_bytes += staged.size
        if parsed.inline_bytes > settings.OMH_MAX_UPLOAD_BYTES:
            raise bad_request("The inline files of this commit are larger than the upload limit: use LFS.")
        parsed.additions.append(uploads.Addition(path, staged=staged))
    elif key == "lfsFile":
        oid, size = value.get("oid"), value.get("size")
        if value.get("algo", "sha256") != "sha256":
            raise bad_request(f"{path}: only sha256 LFS objects are served.")
        uploads.check_oid(oid)
        size = size if isinstance(size, int) and not isinstance(size, bool) else None
        existing = uploads.present_version(asset, oid, size)
        if existing is not None:
            parsed.additions.append(uploads.Addition(path, existing=existing))
        else:
            parsed.additions.append(uploads.Addition(path, staged=uploads.staged_session(asset, oid=oid, size=size)))
    elif key == "deletedFile":
        parsed.deleted.append(path)
    elif key == "deletedFolder":
        parsed.deleted_folders.append(path)
    else:
        raise bad_request(f"Unknown commit operation {key!r}.")


def _parse(request: HttpRequest, asset, parsed: _Commit) -> None:
    count = 0
    for line in _lines(request):
        try:
            item = json.loads(line)
        except ValueError:
            raise bad_request("The commit body is not valid ndjson.") from None
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            raise bad_request("Each line of the commit is an object with a key and a value.")
        key, value = item.get("key"), item["value"]
        if key == "header":
            parsed.header = value
            continue
        count += 1
        if count > MAX_COMMIT_OPERATIONS:
            raise bad_request(f"A commit holds at most {MAX_COMMIT_OPERATIONS:,} operations.")
        _operation(asset, parsed, key, value)
    if parsed.header is None:
        raise bad_request("The commit has no header line.")


@hub_view(("POST",), writes=True)
def commit(request: HttpRequest, kind: str, owner: str, name: str, revision: str) -> HttpResponse:
    asset = _writable(request, kind, owner, name)
    _revision_is_main(asset, revision)
    if request.GET.get("create_pr") in ("1", "true", "True"):
        raise bad_request("Pull requests are not served by this hub: commit to main.")
    if _content_length(request) is None:
        raise HubError(None, "Send the commit with a Content-Length.", 411)
    parsed = _Commit()
    try:
        _parse(request, asset, parsed)
        header = parsed.header
        parent = header.get("parentCommit")
        if parent is not None and not isinstance(parent, str):
            raise bad_request("parentCommit must be a commit id.")
        created = uploads.commit(
            user=request.hub_user,
            asset=asset,
            message=header.get("summary"),
            description=header.get("description") or "",
            additions=parsed.additions,
            deletions=parsed.deleted,
            deleted_folders=parsed.deleted_folders,
            parent=parent,
            request=request,
        )
    except uploads.UploadError as exc:
        raise _upload_error(exc) from None
    except PermissionDenied as exc:
        raise HubError(None, str(exc), 403) from None
    finally:
        parsed.close()
    return JsonResponse(
        {
            "success": True,
            "commitOid": created.oid,
            "commitUrl": f"{_repo_url(request, asset)}/commit/{created.oid}",
            "pullRequestUrl": None,
            "hookOutput": "",
        }
    )


# --- tags ---------------------------------------------------------------------------------------


@hub_view(("POST", "DELETE"), writes=True)
def tag(request: HttpRequest, kind: str, owner: str, name: str, revision: str) -> HttpResponse:
    """POST .../tag/{revision} {"tag", "message"} tags a commit; DELETE .../tag/{tag} removes a tag."""
    asset = _writable(request, kind, owner, name)
    try:
        if request.method == "DELETE":
            revisions.delete_tag(asset=asset, name=revision, user=request.hub_user, request=request)
            return HttpResponse(status=200)
        body = _body(request)
        tag_name = body.get("tag")
        if isinstance(tag_name, str) and revisions.list_refs(asset).filter(name=tag_name).exists():
            raise HubError(None, f"Tag {tag_name!r} already exists.", 409)
        revisions.create_tag(asset=asset, name=tag_name, revision=revision, user=request.hub_user, request=request)
    except revisions.RevisionNotFound as exc:
        raise revision_not_found(exc.revision) from None
    except PermissionDenied as exc:
        raise HubError(None, str(exc), 403) from None
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    return HttpResponse(status=200)


@hub_view(("POST", "DELETE"), writes=True)
def branch(request: HttpRequest, kind: str, owner: str, name: str, branch: str) -> HttpResponse:
    _writable(request, kind, owner, name)
    raise bad_request("This hub keeps one branch, main: tag a commit to name it instead.")
