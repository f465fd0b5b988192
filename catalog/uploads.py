"""Uploads that end in one commit: bytes received into staging (whole, or in numbered parts that an
interrupted transfer resumes), then a commit of any number of added and deleted paths. Used by the
Hugging Face protocol (Git LFS batch, basic and multipart transfers, the ndjson commit: hfhub/write.py)
and by the page and API uploads (catalog/api/uploads.py, static/js/uploads.js): one mechanism.

Received content is hashed and encrypted into storage once, while a whole body streams in (or when
the parts are completed: catalog.files.store_stream), and the session records that object and its
envelope; no plaintext copy is kept. The commit runs the same pipeline as a single-file upload
(catalog/files.py: allow-listed kinds, inspection, storage) on every added file before anything is
recorded, inspecting a session's content through decryption of its object (catalog.stored) and
adopting that object instead of encrypting the file again (the session's row goes in the
commit's transaction, so the object always belongs to exactly one of them). It is all or nothing: a
file refused by inspection fails the whole commit with the reason, its staged bytes and object are
deleted, and main is left where it was. Content that the repository already holds is not stored twice: a path
whose new bytes equal its present version is not changed, bytes present under another path of the
same repository reuse the stored object, and a commit that changes nothing is refused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import socket
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts import audit
from catalog import cards, crypto, files, inspection, revisions, storage
from catalog.models import Commit, FileVersion, RepoFile, UploadSession
from catalog.stored import StoredContent, Unreadable

log = logging.getLogger(__name__)

SHA256 = re.compile(r"^[0-9a-f]{64}$")
RECEIVE_BLOCK = 1 << 20  # reading request bodies (through wsgi.input gunicorn recv()s up to 1 MiB at a time)


class UploadError(ValueError):
    """Bad input to an upload or a commit (HTTP 400 unless ``status`` says otherwise)."""

    status = 400


class StaleParent(UploadError):
    """The commit was prepared on a parent that is no longer the head of main (HTTP 412)."""

    status = 412


class EntryNotFound(UploadError):
    """A deletion names a path (or folder) absent at the head (HTTP 404)."""

    status = 404


class NothingToCommit(UploadError):
    """Every change equals what main already holds."""


class ContentUnavailable(UploadError):
    """Stored content could not be read back to be inspected (a storage failure): not the file's fault."""

    status = 503


class ContentRejected(UploadError):
    """A file of the commit was refused by inspection (HTTP 422); nothing was stored."""

    status = 422

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path


# --- upload sessions --------------------------------------------------------------------------


def staging_dir() -> Path:
    path = Path(settings.OMH_STAGING_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def staged_path(session: UploadSession) -> Path:
    """Where the parts of a session are written (at their offsets) while it is received."""
    return staging_dir() / session.staging_name


def _check_writer(asset, user) -> None:
    if not asset.is_editable_by(user):
        raise PermissionDenied("You may not change this repository's files.")


def _check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise UploadError("size must be a whole number of bytes, zero or more.")
    if size > settings.OMH_MAX_UPLOAD_BYTES:
        raise UploadError(files.too_large_message())
    return size


def check_oid(oid) -> str:
    if not isinstance(oid, str) or not SHA256.match(oid):
        raise UploadError("oid must be a SHA-256 in 64 lower-case hexadecimal digits.")
    return oid


def sessions_of(asset):
    return UploadSession.objects.filter(**{asset.kind: asset})


def create_session(*, user, asset, size, oid: str | None = None, part_size: int | None = None) -> UploadSession:
    """A session receiving ``size`` bytes for ``asset`` (write permission needed). With an ``oid`` (an
    LFS object), an unexpired session for the same object is reused, so that a client that retries
    resumes it rather than starting again. Parts are ``OMH_UPLOAD_PART_BYTES`` unless given."""
    _check_writer(asset, user)
    size = _check_size(size)
    part_size = part_size or settings.OMH_UPLOAD_PART_BYTES
    now = timezone.now()
    expires = now + timedelta(seconds=settings.OMH_UPLOAD_SESSION_SECONDS)
    if oid is not None:
        oid = check_oid(oid)
        existing = sessions_of(asset).filter(oid=oid, size=size, expires_at__gt=now).order_by("-created_at").first()
        if existing is not None and staged_path(existing).exists():
            UploadSession.objects.filter(pk=existing.pk).update(expires_at=expires)
            existing.expires_at = expires
            return existing
    name = f"session-{secrets.token_hex(16)}"
    path = staging_dir() / name
    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.ftruncate(descriptor, size)  # sparse: parts are written at their offsets
    finally:
        os.close(descriptor)
    try:
        return UploadSession.objects.create(
            **{asset.kind: asset},
            oid=oid or "",
            size=size,
            part_size=part_size,
            staging_name=name,
            created_by=user,
            expires_at=expires,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def find_session(asset, session_uuid, user=None) -> UploadSession:
    """The unexpired session of ``asset`` with that id; with ``user``, only for a writer of the asset."""
    if user is not None:
        _check_writer(asset, user)
    session = sessions_of(asset).filter(uuid=session_uuid, expires_at__gt=timezone.now()).first()
    if session is None:
        raise EntryNotFound("There is no such upload (it may have expired or been committed).")
    return session


def _read_exactly(stream, length: int) -> Iterator[bytes]:
    """The ``length`` bytes of a request body (or any stream) in blocks of up to ``RECEIVE_BLOCK``."""
    if (direct := _gunicorn_body(stream, length)) is not None:
        return direct
    return _read_stream(stream, length)


def _read_stream(stream, length: int) -> Iterator[bytes]:
    remaining = length
    while remaining:
        block = stream.read(min(RECEIVE_BLOCK, remaining))
        if not block:
            raise UploadError(f"The body ended after {length - remaining:,} of {length:,} bytes; send it again.")
        remaining -= len(block)
        yield block


def _gunicorn_body(request, length: int) -> Iterator[bytes] | None:
    """The body of a request that gunicorn serves, received straight from the connection's socket
    into new bytes objects (one copy), or None for any other server, stream or state.

    Through ``wsgi.input`` each byte is copied four or five times by gunicorn's buffers (its reader
    and body objects each keep a BytesIO), which made the receive loop the slowest stage of an
    upload. What gunicorn read ahead with the request head is taken first, anything past the body
    (a pipelined next request) is handed back, and the body is marked consumed so that gunicorn
    reads no more of it; a body cut short marks the connection unusable (``failed``), as gunicorn's
    own reader does. Relies on gunicorn's body classes (pinned in requirements.txt; a test checks it)."""
    meta = getattr(request, "META", None)
    if meta is None or getattr(request, "_read_started", True):
        return None
    body, sock = meta.get("wsgi.input"), meta.get("gunicorn.socket")
    reader = getattr(body, "reader", None)
    unreader = getattr(reader, "unreader", None)
    if (
        sock is None
        or type(body).__module__ != "gunicorn.http.body"
        or type(reader).__name__ != "LengthReader"
        or getattr(reader, "length", None) != length
        or not hasattr(unreader, "take_buffered")
        or body.buf.getbuffer().nbytes
    ):
        return None
    ahead = unreader.take_buffered()
    if len(ahead) > length:
        unreader.unread(ahead[length:])
        ahead = ahead[:length]
    reader.length = 0
    request._read_started = True
    return _receive(sock, body, ahead, length)


def _receive(sock, body, ahead: bytes, length: int) -> Iterator[bytes]:
    # Each block is one recv(MSG_WAITALL) into a new bytes object: one copy out of the kernel, and no
    # zero-filling (a bytearray is cleared first: 5% of the worker's CPU in a profile). What gunicorn
    # read ahead starts the first block, so that every block but the last is RECEIVE_BLOCK bytes from a
    # multiple of it: blocks then hold whole encryption chunks (1 MiB by default), which
    # catalog.crypto.rechunk hands on as views instead of copying every chunk across two blocks.
    remaining = length
    try:
        while remaining:
            want = max(min(RECEIVE_BLOCK, remaining), len(ahead))
            pieces, got, ahead = ([ahead] if ahead else []), len(ahead), b""
            while got < want:
                piece = sock.recv(want - got, socket.MSG_WAITALL)  # short only at the end or on a signal
                if not piece:
                    raise UploadError(
                        f"The body ended after {length - remaining + got:,} of {length:,} bytes; send it again."
                    )
                pieces.append(piece)
                got += len(piece)
            remaining -= got
            yield pieces[0] if len(pieces) == 1 else b"".join(pieces)
    finally:
        if remaining:
            body.failed = True  # where the next request starts is unknown: gunicorn closes the connection


def receive_part(session: UploadSession, number: int, stream, length: int | None) -> str:
    """Write part ``number`` (1-based) from ``stream`` at its offset and record it. The body must be
    exactly the part's length. Returns the part's ETag. A part of a verified session is read and
    acknowledged without being written again (a client may resend everything)."""
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= session.part_count:
        raise UploadError(f"There is no part {number}: this upload has parts 1 to {session.part_count}.")
    offset, expected = session.part_bounds(number)
    if length is None:
        raise UploadError("Send the part with a Content-Length.")
    if length != expected:
        raise UploadError(f"Part {number} must be {expected:,} bytes, not {length:,}.")
    etag = f'"{session.uuid.hex[:12]}-{number}-{expected}"'
    if session.status == UploadSession.Status.VERIFIED:
        for _ in _read_exactly(stream, length):
            pass
        return etag
    try:
        descriptor = os.open(staged_path(session), os.O_WRONLY)
    except FileNotFoundError:  # completed meanwhile (its parts are gone; nothing may change it now) or purged
        if UploadSession.objects.filter(pk=session.pk, status=UploadSession.Status.VERIFIED).exists():
            session.status = UploadSession.Status.VERIFIED
            return receive_part(session, number, stream, length)
        raise EntryNotFound("This upload's staged content is gone; start the upload again.") from None
    try:
        position = offset
        for block in _read_exactly(stream, length):
            os.pwrite(descriptor, block, position)
            position += len(block)
    finally:
        os.close(descriptor)
    with transaction.atomic():
        locked = UploadSession.objects.select_for_update().get(pk=session.pk)
        if number not in locked.received_parts:
            locked.received_parts = sorted([*locked.received_parts, number])
            locked.save(update_fields=["received_parts"])
        session.received_parts = locked.received_parts
    return etag


def _store_verified(session: UploadSession, blocks: Iterable[bytes]) -> tuple[UploadSession | None, str]:
    """Hash ``blocks`` and encrypt them into storage in one pass (catalog.files.store_stream): the
    object holds exactly the bytes that were hashed, and is what the commit inspects (through
    decryption) and adopts. (the verified session, its SHA-256), or (None, the SHA-256) when it is not
    the announced ``oid``: nothing is kept then. While the transfer runs an empty marker file named
    after the object stands in staging, so that the sweep deletes the object a killed worker left."""
    key = files.object_key(uuid.uuid4())
    marker = staging_dir() / _transfer_name(session, key)
    try:
        marker.touch(0o600, exist_ok=False)
        sha256, envelope = files.store_stream(blocks, session.size, key)
        if session.oid and sha256 != session.oid:
            storage.delete_object(key)
            return None, sha256
        return _verified(session, sha256, key, envelope), sha256
    finally:
        marker.unlink(missing_ok=True)


def _verified(session: UploadSession, sha256: str, key: str, envelope) -> UploadSession:
    """Record the content's SHA-256 and object. When another transfer of the same session got there
    first (or the session is gone), this one is not needed."""
    with transaction.atomic():
        locked = UploadSession.objects.select_for_update().filter(pk=session.pk).first()
        if locked is not None and locked.status != UploadSession.Status.VERIFIED:
            locked.status, locked.sha256 = UploadSession.Status.VERIFIED, sha256
            locked.received_parts = list(range(1, locked.part_count + 1))
            locked.storage_key, locked.key_id, locked.wrapped_key = key, envelope.key_id, envelope.wrapped_key
            locked.nonce_prefix, locked.chunk_size = envelope.nonce_prefix, envelope.chunk_size
            locked.save(
                update_fields=[
                    "status", "sha256", "received_parts", "storage_key", "key_id", "wrapped_key",
                    "nonce_prefix", "chunk_size",
                ]
            )  # fmt: skip
            staged_path(locked).unlink(missing_ok=True)  # the received parts: the object holds them now
            return locked
    storage.delete_object(key)
    if locked is None:
        raise EntryNotFound("There is no such upload (it may have expired or been committed).")
    return locked


def _transfer_name(session: UploadSession, key: str) -> str:
    """A transfer's marker in staging, named after its object so that the sweep removing a marker that
    a killed worker left also removes the object (catalog.pipeline)."""
    return f"{session.staging_name}.put-{key.rsplit('/', 1)[-1]}"


def transfer_object(staging_name: str) -> str | None:
    """The object a transfer's marker is named after (None for other staged files)."""
    _, sep, suffix = staging_name.rpartition(".put-")
    if not sep or not re.fullmatch(r"[0-9a-f]{32}", suffix):
        return None
    return files.object_key(uuid.UUID(suffix))


def receive_whole(session: UploadSession, stream, length: int | None) -> UploadSession:
    """The basic transfer: the whole content in one streamed body, hashed and encrypted into storage
    while it is written to staging (one pass), and checked against the announced ``oid``. A mismatch
    discards the bytes and the object (the session stays, empty)."""
    if length is None:
        raise UploadError("Send the content with a Content-Length.")
    if length != session.size:
        raise UploadError(f"The object is {session.size:,} bytes, not {length:,}.")
    if session.status == UploadSession.Status.VERIFIED:
        for _ in _read_exactly(stream, length):
            pass
        return session
    verified, sha256 = _store_verified(session, _read_exactly(stream, length))
    if verified is None:
        raise UploadError(f"The content's SHA-256 is {sha256}, not the announced {session.oid}; nothing was kept.")
    return verified


def complete(session: UploadSession) -> UploadSession:
    """All parts received: hash the assembled content and encrypt it into storage in one pass (and
    check it against the ``oid``). A mismatch forgets the received parts so that they are sent again."""
    if session.status == UploadSession.Status.VERIFIED:
        return session
    session.refresh_from_db(fields=["received_parts", "status", "sha256"])
    if session.status == UploadSession.Status.VERIFIED:
        return session
    if missing := session.missing_parts():
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise UploadError(f"{len(missing)} part(s) of {session.part_count} are missing: {shown}.")
    try:
        handle = open(staged_path(session), "rb", buffering=0)
    except FileNotFoundError:
        raise EntryNotFound("This upload's staged content is gone; start the upload again.") from None
    with handle:
        try:
            verified, sha256 = _store_verified(session, files.file_blocks(handle, session.size))
        except crypto.IntegrityError:
            raise UploadError("The staged content is shorter than announced; upload it again.") from None
    if verified is None:
        UploadSession.objects.filter(pk=session.pk).update(received_parts=[])
        raise UploadError(
            f"The assembled content's SHA-256 is {sha256}, not the announced {session.oid}; send the parts again."
        )
    return verified


def discard_session(session: UploadSession) -> None:
    """Forget a session, its staged bytes and its object, unless a commit adopted the object (the
    commit deletes the session's row in its own transaction: then this deletes no row and no object)."""
    deleted, _ = UploadSession.objects.filter(pk=session.pk).delete()
    staged_path(session).unlink(missing_ok=True)
    if deleted and session.storage_key:
        storage.delete_object(session.storage_key)


def purge_expired_sessions(now=None) -> int:
    """Delete sessions past their expiry with their staged content and their object (run by the
    periodic sweep)."""
    count = 0
    for session in UploadSession.objects.filter(expires_at__lte=now or timezone.now()).iterator():
        discard_session(session)
        count += 1
    return count


def live_staging_names() -> set[str]:
    """Staged files that unexpired sessions still need (the sweep keeps them): their received parts."""
    return set(UploadSession.objects.filter(expires_at__gt=timezone.now()).values_list("staging_name", flat=True))


def present_version(asset, sha256: str, size: int | None = None) -> FileVersion | None:
    """A ready version of this repository holding these bytes (deduplication never looks outside the
    repository: whether some other repository holds a file would be an oracle). Without ``size``, by
    SHA-256 alone (a copy of an LFS file names no size)."""
    versions = FileVersion.objects.filter(
        file__in=RepoFile.objects.of(asset), status=FileVersion.Status.READY, sha256=sha256
    )
    if size is not None:
        versions = versions.filter(size=size)
    return versions.select_related("file").order_by("-pk").first()


def is_present(asset, oid: str, size: int) -> bool:
    """Whether an LFS client may skip sending this object: stored already, or received and verified."""
    if present_version(asset, oid, size) is not None:
        return True
    return (
        sessions_of(asset)
        .filter(oid=oid, size=size, status=UploadSession.Status.VERIFIED, expires_at__gt=timezone.now())
        .exists()
    )


# --- staging inline content -------------------------------------------------------------------


@dataclass
class Staged:
    """Content to commit, with its SHA-256 and size: a file in the staging folder (``path``: an inline
    file), or the stored object of a verified ``session``."""

    path: Path | None
    sha256: str
    size: int
    session: UploadSession | None = None

    def content(self) -> inspection.Content:
        return self.path if self.path is not None else StoredContent.of(self.session)


def stage_blocks(blocks: Iterable[bytes]) -> Staged:
    """Write blocks (an inline file of a commit) to the staging folder, hashing them."""
    path = staging_dir() / f"inline-{secrets.token_hex(16)}"
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "xb") as out:
            path.chmod(0o600)
            for block in blocks:
                size += len(block)
                if size > settings.OMH_MAX_UPLOAD_BYTES:
                    raise UploadError(files.too_large_message())
                digest.update(block)
                out.write(block)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Staged(path, digest.hexdigest(), size)


def staged_session(asset, *, oid: str | None = None, session_uuid=None, size: int | None = None) -> Staged:
    """The verified session a commit names by LFS ``oid`` or by upload id."""
    sessions = sessions_of(asset).filter(status=UploadSession.Status.VERIFIED, expires_at__gt=timezone.now())
    session = sessions.filter(oid=oid).first() if oid is not None else sessions.filter(uuid=session_uuid).first()
    if session is None or not session.storage_key:
        what = f"LFS object {oid}" if oid is not None else f"upload {session_uuid}"
        raise UploadError(f"The {what} was not uploaded (or not completed) for this repository.")
    if size is not None and size != session.size:
        raise UploadError(f"The object {session.sha256} is {session.size:,} bytes, not {size:,}.")
    return Staged(None, session.sha256, session.size, session)


# --- the commit -------------------------------------------------------------------------------


@dataclass
class Addition:
    """What a commit puts at a path: staged bytes, or bytes the repository already stores."""

    path: str
    staged: Staged | None = None
    existing: FileVersion | None = None
    sha256: str = ""
    size: int = 0

    def __post_init__(self):
        if self.staged is not None:
            self.sha256, self.size = self.staged.sha256, self.staged.size
        elif self.existing is not None:
            self.sha256, self.size = self.existing.sha256, self.existing.size


@dataclass
class _Prepared:
    path: str
    kind: str
    sha256: str
    size: int
    key: str
    envelope: object = None
    summary: dict = field(default_factory=dict)
    report: inspection.Report | None = None
    reused: FileVersion | None = None
    new_object: bool = False
    adopted: UploadSession | None = None  # the session whose object this file takes over


def clean_path(raw) -> str:
    try:
        return files.normalise_path(raw)
    except ValidationError as exc:
        raise UploadError(f"{raw!r}: {exc.messages[0]}") from None


def _expand_deletions(present: dict, paths: Iterable[str], folders: Iterable[str]) -> set[str]:
    deleted: set[str] = set()
    for raw in paths:
        path = clean_path(raw)
        if path not in present:
            raise EntryNotFound(f"A file with this name doesn't exist: {path}")
        deleted.add(path)
    for raw in folders:
        folder = clean_path(str(raw).rstrip("/"))
        under = [p for p in present if PurePosixPath(p).is_relative_to(folder)]
        if not under:
            raise EntryNotFound(f"A folder with this name doesn't exist: {folder}")
        deleted.update(under)
    return deleted


def _same_kind_as(version: FileVersion, path: str) -> bool:
    return PurePosixPath(version.file.path).suffix.lower() == PurePosixPath(path).suffix.lower()


def _prepare(asset, addition: Addition) -> _Prepared:
    """Run the pipeline's checks and storage on one added file. Raises inspection.Rejected."""
    reuse = addition.existing or present_version(asset, addition.sha256, addition.size)
    if reuse is not None and not _same_kind_as(reuse, addition.path):
        reuse = None if addition.staged is not None else reuse
    if reuse is not None and _same_kind_as(reuse, addition.path) and asset.kind == "model":
        # Same bytes, same kind of name: inspected and stored before; the object is shared.
        return _Prepared(
            addition.path,
            reuse.kind,
            reuse.sha256,
            reuse.size,
            reuse.storage_key,
            summary=reuse.inspection,
            reused=reuse,
        )
    staged = addition.staged
    if staged is None:  # stored under another kind of name: inspected again as this path, read in place
        content = StoredContent.of(addition.existing)
    elif staged.session is not None:  # encrypted while it was received: inspected through decryption
        _check_adoptable(staged.session)
        content = staged.content()
    elif not staged.path.exists():  # removed since the commit named it
        raise UploadError(f"{addition.path}: the uploaded content is gone; upload it again.")
    else:
        content = staged.path
    try:
        kind = inspection.detect_kind(addition.path, content, asset.kind)
        report = inspection.inspect(content, kind, asset.kind)
    except Unreadable as exc:
        raise ContentUnavailable(f"{addition.path}: {exc}; try the commit again.") from None
    if reuse is not None and reuse.kind == kind:  # a dataset file: its columns are read again, its object shared
        return _Prepared(
            addition.path, kind, reuse.sha256, reuse.size, reuse.storage_key, summary=report.summary, report=report,
            reused=reuse,
        )  # fmt: skip
    if isinstance(content, StoredContent) and staged is not None:  # the session's object, adopted as it is
        return _Prepared(
            addition.path, kind, staged.sha256, staged.size, content.key, content.envelope, report.summary, report,
            adopted=staged.session,
        )  # fmt: skip
    key = files.object_key(uuid.uuid4())
    sha256, size, envelope = files.store_encrypted(content, key, sha256=addition.sha256)
    return _Prepared(addition.path, kind, sha256, size, key, envelope, report.summary, report, new_object=True)


def _check_adoptable(session: UploadSession) -> None:
    expected = crypto.ciphertext_size(session.size, session.chunk_size)
    try:
        stored = storage.object_size(session.storage_key)
    except OSError:
        stored = None
    if stored != expected:
        raise UploadError(f"The stored content of upload {session.uuid} is missing or damaged; upload it again.")


def commit(
    *,
    user,
    asset,
    message: str,
    description: str = "",
    additions: Iterable[Addition] = (),
    deletions: Iterable[str] = (),
    deleted_folders: Iterable[str] = (),
    parent: str | None = None,
    request=None,
) -> Commit:
    """One commit adding and deleting paths. ``parent`` (a commit id) must still be the head of main
    (StaleParent otherwise). Every added file is inspected, encrypted and stored before anything is
    recorded; a refused file raises ContentRejected naming it and stores nothing. Sessions used are
    consumed; staged inline files are the caller's to remove."""
    _check_writer(asset, user)
    message = _clean_message(message, description)
    head = revisions.head(asset)
    _check_parent(head, parent)
    present = revisions.files_at(head)
    additions = list(additions)
    added: dict[str, Addition] = {}
    for addition in additions:
        addition.path = clean_path(addition.path)
        added[addition.path] = addition  # the last addition of a path wins, as on the Hub
    deleted = _expand_deletions(present, deletions, deleted_folders) - set(added)
    changed = {
        path: addition
        for path, addition in added.items()
        if path not in present or present[path].sha256 != addition.sha256 or present[path].size != addition.size
    }
    if not changed and not deleted:
        raise NothingToCommit("No files have been modified since last commit.")

    prepared: list[_Prepared] = []
    try:
        for path in sorted(changed):
            try:
                prepared.append(_prepare(asset, changed[path]))
            except inspection.Rejected as exc:
                raise ContentRejected(path, str(exc)) from None
        created = _record(
            asset=asset,
            user=user,
            message=message,
            prepared=prepared,
            deleted=deleted,
            parent=parent,
            request=request,
        )
    except BaseException as exc:
        for item in prepared:
            if item.new_object:
                storage.delete_object(item.key)
        if isinstance(exc, ContentRejected):
            _discard_rejected(changed, exc)
        raise
    for addition in added.values():  # adopted sessions' rows went with the commit; their staged bytes go now
        if addition.staged is not None and addition.staged.session is not None:
            discard_session(addition.staged.session)
    return created


def _clean_message(message, description) -> str:
    message = (message or "").strip() if isinstance(message, str) else ""
    description = (description or "").strip() if isinstance(description, str) else ""
    if not message:
        raise UploadError("A commit needs a message (summary).")
    if len(message) > 1000 or len(description) > 65536:
        raise UploadError("The commit message is too long (1,000 characters, description 65,536).")
    return f"{message}\n\n{description}" if description else message


def _discard_rejected(changed: dict[str, Addition], exc: ContentRejected) -> None:
    """The refused bytes are not kept for another try: their session goes with them."""
    addition = changed.get(exc.path)
    if addition is not None and addition.staged is not None and addition.staged.session is not None:
        discard_session(addition.staged.session)


def _check_parent(head: Commit | None, parent: str | None) -> None:
    if parent is None:
        return
    if head is None or not isinstance(parent, str) or parent.lower() != head.oid:
        raise StaleParent("A commit has happened since. Please refresh and try again.")


@transaction.atomic
def _record(*, asset, user, message, prepared: list[_Prepared], deleted: set[str], parent, request) -> Commit:
    ref = revisions._lock_main(asset)
    _check_parent(ref.commit if ref else None, parent)
    adopted = {item.adopted.pk for item in prepared if item.adopted is not None}
    if adopted and UploadSession.objects.filter(pk__in=adopted).delete()[0] != len(adopted):
        # Expired and purged since it was named: the purge deletes (or deleted) its object.
        raise UploadError("An upload of this commit expired while it was committed; upload it again.")
    changes: dict[str, FileVersion | None] = dict.fromkeys(deleted)
    for item in prepared:
        changes[item.path] = _new_version(asset, user, item)
    for path in deleted:
        repo_file = RepoFile.objects.select_for_update().of(asset).filter(path=path).first()
        if repo_file is not None:
            files._cancel_pending(repo_file)
    created = revisions.commit_changes(asset=asset, author=user, message=message, changes=changes, request=request)
    for item in prepared:
        audit.record(
            "file.upload",
            actor=user,
            target=asset,
            request=request,
            details={"path": item.path, "version": changes[item.path].number, "size": item.size, "commit": created.oid},
        )
    for path in sorted(deleted):  # as files.delete_path records a deletion
        details = {"path": path, "commit": created.oid}
        audit.record("file.delete", actor=user, target=asset, request=request, details=details)
    if cards.CARD_PATH in changes and changes[cards.CARD_PATH] is not None:
        card = changes[cards.CARD_PATH]
        transaction.on_commit(lambda: cards.apply_committed_card(asset, card))
    return created


def _new_version(asset, user, item: _Prepared) -> FileVersion:
    repo_file, _ = RepoFile.objects.get_or_create(**{asset.kind: asset, "path": item.path})
    repo_file = RepoFile.objects.select_for_update().get(pk=repo_file.pk)
    number = (repo_file.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = FileVersion(
        file=repo_file,
        number=number,
        size=item.size,
        kind=item.kind,
        content_type=inspection.CONTENT_TYPES.get(item.kind, ""),
        uploaded_by=user if getattr(user, "pk", None) else None,
    )
    if item.reused is not None:
        source = item.reused
        for name in ("status", "sha256", "storage_key", "cipher", "key_id", "wrapped_key", "nonce_prefix"):
            setattr(version, name, getattr(source, name))
        version.chunk_size, version.inspection, version.processed_at = source.chunk_size, item.summary, timezone.now()
    else:
        files.set_stored(
            version, key=item.key, sha256=item.sha256, size=item.size, envelope=item.envelope, summary=item.summary
        )
    version.save()
    if item.report is not None:
        files._apply_report(version, asset, item.report)
    return version
