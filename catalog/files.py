"""Files of models and datasets: upload, the processing pipeline, download, deletion, key rotation.

Upload: the request body is streamed to the staging folder by Django's upload handlers (never held
in memory, refused past ``OMH_MAX_UPLOAD_BYTES``); ``upload_file`` checks the path and the kind
(extension and content), records a *pending* version and queues ``process_version`` after commit.
The pipeline inspects the staged file, hashes it (in a thread of its own) while encrypting it and
streaming the ciphertext into storage, and marks the version *ready* — or *rejected* with the reason,
storing nothing: any failure of inspection is a rejection, and a failure to record the results after
the object was stored deletes the object. The latest version of a path is always the newest *ready*
one, so a rejected upload leaves the previous one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import re
import secrets
import shutil
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from accounts import audit
from catalog import cards, crypto, inspection, revisions, storage
from catalog.profiling import apply_profile
from catalog.stored import sealed_chunks
from catalog.models import DatasetFile, FileColumn, FileVersion, MLModel, RepoFile
from openmodelhub.params import ascii_int

log = logging.getLogger(__name__)

MAX_PATH = 500
_DRIVE = re.compile(r"^[A-Za-z]:")


# --- paths ------------------------------------------------------------------------------------


def normalise_path(raw: str) -> str:
    """A clean relative POSIX path, or ValidationError saying what is wrong with it."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError("A file path is required.")
    path = raw.strip()
    if refused := inspection.refused_characters(path):  # control, bidirectional overrides, zero-width...
        raise ValidationError(f"The path contains control or invisible characters ({', '.join(refused)}).")
    if "\\" in path:
        raise ValidationError("Use '/' to separate folders in the path.")
    if path.startswith("/") or _DRIVE.match(path):
        raise ValidationError("The path must be relative (no leading '/').")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValidationError("The path may not contain '..'.")
    if not parts:
        raise ValidationError("A file path is required.")
    clean = "/".join(parts)
    if len(clean) > MAX_PATH:
        raise ValidationError(f"The path is longer than {MAX_PATH} characters.")
    return clean


# --- streaming the request body -------------------------------------------------------------


class SizeLimitedUploadHandler(FileUploadHandler):
    """Stops reading an upload once it passes OMH_MAX_UPLOAD_BYTES and flags the request."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.OMH_MAX_UPLOAD_BYTES:
            self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def too_large_message() -> str:
    return f"The file is larger than the limit of {settings.OMH_MAX_UPLOAD_BYTES:,} bytes."


# --- upload -----------------------------------------------------------------------------------


def _stage(source) -> Path:
    """Move (or copy) the uploaded content into the staging folder under a random name."""
    staging = Path(settings.OMH_STAGING_DIR)
    staging.mkdir(parents=True, exist_ok=True)
    target = staging / f"up-{secrets.token_hex(16)}"
    if isinstance(source, (str, Path)):
        shutil.copyfile(source, target)
    elif hasattr(source, "temporary_file_path"):
        temporary = Path(source.temporary_file_path())
        try:
            os.link(temporary, target)  # same folder: no copy; Django removes its own name afterwards
        except OSError:
            shutil.copyfile(temporary, target)
    else:
        with open(target, "wb") as out:
            if hasattr(source, "chunks"):
                for chunk in source.chunks():
                    out.write(chunk)
            else:
                shutil.copyfileobj(source, out, 1 << 20)
    target.chmod(0o600)
    return target


def upload_file(*, user, asset, path: str, content, request=None) -> FileVersion:
    """Record a new pending version of ``path`` from ``content`` (an UploadedFile, a file object or a
    local path) and queue the pipeline. Raises ValidationError for bad input; nothing is kept then."""
    if not asset.is_editable_by(user):
        raise PermissionDenied("You may not change this asset's files.")
    clean = normalise_path(path)
    staged = _stage(content)
    try:
        size = staged.stat().st_size
        if size > settings.OMH_MAX_UPLOAD_BYTES:
            raise ValidationError(too_large_message())
        try:
            kind = inspection.detect_kind(clean, staged, asset.kind)
        except inspection.Rejected as exc:
            raise ValidationError(f"{clean}: {exc}") from None
        version = _record_pending(user=user, asset=asset, path=clean, size=size, kind=kind, staged=staged)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    audit.record(
        "file.upload",
        actor=user,
        target=asset,
        request=request,
        details={"path": clean, "version": version.number, "size": size},
    )
    return version


@transaction.atomic
def _record_pending(*, user, asset, path: str, size: int, kind: str, staged: Path) -> FileVersion:
    repo_file, _ = RepoFile.objects.get_or_create(**{asset.kind: asset, "path": path})
    repo_file = RepoFile.objects.select_for_update().get(pk=repo_file.pk)  # serialise version numbers
    if repo_file.deleted_at is not None:
        repo_file.deleted_at = None
        repo_file.save(update_fields=["deleted_at"])
    number = (repo_file.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = FileVersion.objects.create(
        file=repo_file,
        number=number,
        size=size,
        kind=kind,
        content_type=inspection.CONTENT_TYPES.get(kind, ""),
        staging_name=staged.name,
        uploaded_by=user,
    )
    from catalog.tasks import process_file_version

    transaction.on_commit(lambda: process_file_version.delay(version.pk))
    return version


# --- the pipeline -----------------------------------------------------------------------------


def process_version(version_id: int) -> FileVersion:
    """Inspect, hash, encrypt, store, mark ready — or reject. Safe to run twice."""
    version = FileVersion.objects.select_related("file__model", "file__dataset").get(pk=version_id)
    if version.status != FileVersion.Status.PENDING:
        return version
    staged = Path(settings.OMH_STAGING_DIR) / version.staging_name
    if not version.staging_name or not staged.exists():
        return _reject(version, "the uploaded content is no longer available; upload the file again")
    asset = version.file.asset
    try:
        report = inspection.inspect(staged, version.kind, asset.kind)
    except inspection.Rejected as exc:
        staged.unlink(missing_ok=True)
        return _reject(version, str(exc))

    key = object_key(version.uuid)
    sha256, size, envelope = store_encrypted(staged, key)
    try:
        ready = _mark_ready(version, asset, report, key=key, sha256=sha256, size=size, envelope=envelope)
    except Exception:
        # What inspection learnt could not be recorded: nothing may stay half-written, so the object goes.
        log.exception("recording version %s failed after its object was stored", version.pk)
        storage.delete_object(key)
        ready = _reject(version, "the file's inspection results could not be recorded")
    staged.unlink(missing_ok=True)
    return ready


def object_key(uuid) -> str:
    return f"objects/{uuid.hex[:2]}/{uuid.hex}"


def store_encrypted(
    staged: inspection.Content, key: str, *, sha256: str | None = None
) -> tuple[str, int, crypto.Envelope]:
    """Encrypt a staged file (or stored content, read through decryption) into storage under ``key``,
    hashing it on the way unless its SHA-256 is already known: (sha256, size, envelope). Leaves no
    object behind when it fails; the staged file stays for a retry."""
    size = staged.stat().st_size
    with staged.open("rb", buffering=0) as handle:
        sha256, envelope = store_stream(file_blocks(handle, size), size, key, sha256=sha256)
    return sha256, size, envelope


def file_blocks(handle, size: int) -> Iterator[bytes]:
    """``size`` bytes of an open file in fresh blocks (IntegrityError when it is shorter)."""
    remaining = size
    while remaining:
        block = handle.read(min(STREAM_BLOCK, remaining))
        if not block:
            raise crypto.IntegrityError("the file to encrypt is shorter than its recorded size")
        remaining -= len(block)
        yield block


STREAM_BLOCK = 1 << 20


def store_stream(blocks: Iterable[bytes], size: int, key: str, *, sha256: str | None = None):
    """Encrypt ``size`` bytes arriving as ``blocks`` into storage under ``key`` in one pass: SHA-256 in a
    thread of its own (unless ``sha256`` is known), AES-GCM and the storage write in another, so that a
    request body is hashed and encrypted while it is received (and nothing else is written: the commit
    inspects the object through decryption, catalog.stored). Blocks must not change once given (bytes).
    Returns (sha256, envelope). Leaves no object behind when anything fails, and raises the first
    failure (the source's, the hash's or the storage's). Memory: a few blocks, whatever the size."""
    chunk_size = settings.OMH_ENCRYPTION_CHUNK_SIZE
    envelope, data_key = crypto.Envelope.new(chunk_size)
    digest = hashlib.sha256()

    def save(received: Iterator) -> None:
        chunks = crypto.rechunk(received, size, chunk_size)
        storage.save_object(key, crypto.encrypt_chunks(chunks, size, data_key, envelope))

    def hash_all(received: Iterator) -> None:
        for block in received:
            digest.update(block)

    work = [(_Pipe(), save)] + ([(_Pipe(), hash_all)] if sha256 is None else [])
    with ThreadPoolExecutor(len(work), thread_name_prefix="store") as pool:
        futures = [pool.submit(pipe.consume, job) for pipe, job in work]
        pipes = [pipe for pipe, _ in work]
        try:
            _feed(blocks, pipes)
            for future in futures:
                future.result()
        except BaseException as exc:
            for pipe in pipes:
                pipe.stopped.set()
            wait(futures)
            storage.delete_object(key)  # no partial object left behind
            failures = [f.exception() for f in futures if not isinstance(f.exception(), (_Stopped, type(None)))]
            if isinstance(exc, _Stopped) and failures:
                raise failures[0] from None
            raise
    if storage.object_size(key) != crypto.ciphertext_size(size, chunk_size):
        storage.delete_object(key)
        raise OSError(f"stored object {key} has the wrong size")  # retried by the task, like a storage error
    return sha256 or digest.hexdigest(), envelope


def _feed(blocks: Iterable[bytes], pipes: list[_Pipe]) -> None:
    for block in blocks:
        for pipe in pipes:
            pipe.put(block)
    for pipe in pipes:
        pipe.put(_Pipe.END)


class _Stopped(Exception):
    """The other side of a pipe stopped (failed, or gave up after a failure elsewhere)."""


class _Pipe:
    """Blocks handed to one consumer thread, at most ``depth`` waiting; either side may stop it."""

    END = object()

    def __init__(self, depth: int = 8):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self.stopped = threading.Event()

    def put(self, item) -> None:
        while not self.stopped.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue
        raise _Stopped

    def _items(self) -> Iterator:
        while True:
            if self.stopped.is_set():
                raise _Stopped
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            if item is self.END:
                return
            yield item

    def consume(self, job) -> None:
        try:
            job(self._items())
        finally:
            self.stopped.set()  # the producer stops waiting on a consumer that is gone


def set_stored(version: FileVersion, *, key: str, sha256: str, size: int, envelope: crypto.Envelope, summary) -> None:
    """Mark a version ready with its stored object (not saved)."""
    version.status, version.sha256, version.size, version.storage_key = FileVersion.Status.READY, sha256, size, key
    version.cipher, version.key_id, version.wrapped_key = crypto.CIPHER, envelope.key_id, envelope.wrapped_key
    version.nonce_prefix, version.chunk_size = envelope.nonce_prefix, envelope.chunk_size
    version.inspection, version.processed_at, version.staging_name = summary, timezone.now(), ""


def _mark_ready(
    version: FileVersion,
    asset,
    report: inspection.Report,
    *,
    key: str,
    sha256: str,
    size: int,
    envelope: crypto.Envelope,
) -> FileVersion:
    with transaction.atomic():
        locked = FileVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != FileVersion.Status.PENDING:  # another run finished first
            if locked.storage_key != key:
                transaction.on_commit(lambda: storage.delete_object(key))
            return locked
        set_stored(locked, key=key, sha256=sha256, size=size, envelope=envelope, summary=report.summary)
        locked.save()
        _apply_report(locked, asset, report)
        _commit_upload(locked, asset)
        audit.record(
            "file.ready",
            target=asset,
            details={"path": locked.file.path, "version": locked.number, "sha256": locked.sha256},
        )
    return locked


def _commit_upload(version: FileVersion, asset) -> None:
    """The ready version becomes the path's content on main, unless a newer version of the path got
    there first (pipelines of two uploads of one path may finish out of order: the newest upload wins)."""
    path = version.file.path
    current = revisions.version_at(revisions.head(asset), path)
    if current is None or current.number < version.number:
        revisions.commit_changes(
            asset=asset, author=version.uploaded_by, message=f"Upload {path}", changes={path: version}
        )
        if path == cards.CARD_PATH:
            transaction.on_commit(lambda: cards.apply_committed_card(asset, version))


def _reject(version: FileVersion, reason: str) -> FileVersion:
    reason = reason.replace("\x00", "\\x00")[:2000]  # a reason may quote the file; text columns refuse NUL
    with transaction.atomic():
        updated = FileVersion.objects.filter(pk=version.pk, status=FileVersion.Status.PENDING).update(
            status=FileVersion.Status.REJECTED, reason=reason, processed_at=timezone.now(), staging_name=""
        )
        if updated:
            audit.record(
                "file.rejected",
                target=version.file.asset,
                details={"path": version.file.path, "version": version.number, "reason": reason},
            )
    try:
        version.refresh_from_db()
    except FileVersion.DoesNotExist:  # deleted with its asset while it was processed
        pass
    return version


def _apply_report(version: FileVersion, asset, report: inspection.Report) -> None:
    """What inspection learnt goes into the catalogue: parameter counts, dataset files and columns."""
    if isinstance(asset, MLModel):
        if report.parameter_count and asset.parameter_count is None:
            MLModel.objects.filter(pk=asset.pk, parameter_count__isnull=True).update(
                parameter_count=report.parameter_count
            )
        return
    dataset_file, _ = DatasetFile.objects.update_or_create(
        dataset=asset,
        path=version.file.path,
        defaults={
            "format": version.kind,
            "mime_type": version.content_type.split(";")[0],
            "size_bytes": version.size,
            **({"row_count": report.table["row_count"]} if report.table else {}),
        },
    )
    if report.table is not None:
        dataset_file.columns.all().delete()
        FileColumn.objects.bulk_create(
            FileColumn(dataset_file=dataset_file, **column) for column in report.table["columns"]
        )
        apply_profile(asset, dataset_file, report)  # the dataset's counts, when the curator left them empty


# --- deletion ---------------------------------------------------------------------------------


@transaction.atomic
def delete_path(*, user, asset, path: str, request=None) -> RepoFile:
    if not asset.is_editable_by(user):
        raise PermissionDenied("You may not change this asset's files.")
    repo_file = RepoFile.objects.select_for_update().of(asset).present().filter(path=path).first()
    if repo_file is None:
        raise ValidationError(f"There is no file {path!r}.")
    _cancel_pending(repo_file)
    if revisions.version_at(revisions.head(asset), path) is not None:
        revisions.commit_changes(
            asset=asset, author=user, message=f"Delete {path}", changes={path: None}, request=request
        )
    repo_file.deleted_at = timezone.now()
    repo_file.save(update_fields=["deleted_at"])
    audit.record("file.delete", actor=user, target=asset, request=request, details={"path": path})
    return repo_file


def _cancel_pending(repo_file: RepoFile) -> None:
    """Uploads of a deleted path still in the pipeline are rejected: they must not bring it back."""
    pending = list(repo_file.versions.select_for_update().filter(status=FileVersion.Status.PENDING))
    for version in pending:
        if version.staging_name:
            staged = Path(settings.OMH_STAGING_DIR) / version.staging_name
            transaction.on_commit(lambda staged=staged: staged.unlink(missing_ok=True))
        _reject(version, "the file was deleted before this upload was processed")


# --- download ---------------------------------------------------------------------------------


class RangeNotSatisfiable(Exception):
    pass


@dataclass
class Download:
    version: FileVersion
    start: int
    end: int  # exclusive
    partial: bool

    @property
    def length(self) -> int:
        return self.end - self.start

    def stream(self) -> Iterator[bytes]:
        return read_plaintext(self.version, self.start, self.end)


def _range_bound(text: str) -> int:
    """ASCII digits only: int() would also read "١٢", " 12", "+12" and "1_2" (openmodelhub.params)."""
    value = ascii_int(text, max_digits=20)
    if value is None:
        raise ValueError(f"not a byte position: {text!r}")
    return value


def parse_range(header: str | None, size: int) -> tuple[int, int, bool]:
    """One ``bytes=`` range (as resumable downloads send) -> (start, end exclusive, partial)."""
    if not header:
        return 0, size, False
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return 0, size, False  # unsupported forms: send the whole file (allowed by RFC 9110)
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            length = _range_bound(last)
            if length <= 0:
                raise RangeNotSatisfiable
            start, end = max(size - length, 0), size
        else:
            start = _range_bound(first)
            end = min(_range_bound(last) + 1, size) if last else size
    except ValueError:
        return 0, size, False
    if start >= size or start >= end:
        raise RangeNotSatisfiable
    return start, end, True


def prepare_download(version: FileVersion, range_header: str | None = None) -> Download:
    start, end, partial = parse_range(range_header, version.size)
    return Download(version, start, end, partial)


def _envelope(version: FileVersion) -> crypto.Envelope:
    return crypto.Envelope(version.key_id, bytes(version.wrapped_key), bytes(version.nonce_prefix), version.chunk_size)


def read_plaintext(version: FileVersion, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """Decrypt bytes start..end of a ready version, reading only the chunks that hold them. Raises
    crypto.IntegrityError mid-stream when the stored object was changed, reordered or truncated; a
    full read also checks the SHA-256 of everything it yielded."""
    end = version.size if end is None else end
    envelope = _envelope(version)
    data_key = crypto.unwrap_key(version.key_id, envelope.wrapped_key)
    chunk, sealed = envelope.chunk_size, envelope.chunk_size + crypto.TAG_SIZE
    final_index = crypto.chunk_count(version.size, chunk) - 1
    first = start // chunk
    last = max(first, (end - 1) // chunk) if end > start else first
    expected = crypto.ciphertext_size(version.size, chunk)
    if storage.object_size(version.storage_key) != expected:
        raise crypto.IntegrityError("the stored object does not have the size its content was stored with")
    object_end = min((last + 1) * sealed, expected)
    blocks = sealed_chunks(storage.read_object(version.storage_key, first * sealed, object_end, block=sealed), sealed)
    whole = start == 0 and end == version.size
    digest = hashlib.sha256() if whole else None
    offset = first * chunk
    for plain in crypto.decrypt_chunks(
        blocks, data_key, envelope, first_index=first, last_index=last, final_index=final_index
    ):
        piece = plain[max(start - offset, 0) : max(end - offset, 0)]
        offset += len(plain)
        if digest is not None:
            digest.update(piece)
        if piece:
            yield bytes(piece)
    if digest is not None and digest.hexdigest() != version.sha256:
        raise crypto.IntegrityError("the decrypted content does not match its SHA-256")


def record_download(*, user, asset, version: FileVersion, partial: bool, request=None) -> None:
    audit.record(
        "file.download",
        actor=user if getattr(user, "is_authenticated", False) else None,
        target=asset,
        request=request,
        details={"path": version.file.path, "version": version.number, "partial": partial},
    )
    if not partial:
        type(asset).objects.filter(pk=asset.pk).update(downloads=F("downloads") + 1)


def latest_version(asset, path: str, number: int | None = None) -> FileVersion | None:
    """Version ``number`` of the path (any ready one, deleted path or not), or the path at main."""
    if number is not None:
        return (
            FileVersion.objects.select_related("file")
            .filter(
                file__in=RepoFile.objects.of(asset).filter(path=path), status=FileVersion.Status.READY, number=number
            )
            .first()
        )
    return revisions.version_at(revisions.head(asset), path)


def find_version(asset, path: str, *, number: str | None = None, revision: str | None = None) -> FileVersion | None:
    """What a download asks for: ``?version=N`` or ``?revision=`` (commit id, short id, branch or tag;
    default main). ValueError for a malformed or doubled request; RevisionNotFound from the revision."""
    if number is not None:
        if revision is not None:
            raise ValueError("Give either version or revision, not both.")
        if not (number.isascii() and number.isdigit() and len(number) <= 9):
            raise ValueError("version must be a number")
        return latest_version(asset, path, int(number))
    return revisions.version_at(revisions.resolve_revision(asset, revision), path)


# --- key rotation -----------------------------------------------------------------------------


def rotate_master_key(*, everything: bool = False, batch: int = 500) -> int:
    """Re-wrap data keys under the current master key (of ready versions, and of upload sessions whose
    content is stored awaiting a commit); content is not re-encrypted. Resumable."""
    from catalog.models import UploadSession

    versions = FileVersion.objects.filter(status=FileVersion.Status.READY)
    sessions = UploadSession.objects.exclude(storage_key="")
    return _rewrap(versions, everything, batch) + _rewrap(sessions, everything, batch)


def _rewrap(todo, everything: bool, batch: int) -> int:
    ring = crypto.keyring()
    if not everything:
        todo = todo.exclude(key_id=ring.current_id)
    done, last_pk = 0, 0
    while True:
        with transaction.atomic():
            rows = list(todo.filter(pk__gt=last_pk).select_for_update().order_by("pk")[:batch])
            if not rows:
                return done
            for row in rows:
                data_key = crypto.unwrap_key(row.key_id, bytes(row.wrapped_key))
                row.key_id, row.wrapped_key = crypto.wrap_key(data_key)
            todo.model.objects.bulk_update(rows, ["key_id", "wrapped_key"])
            done, last_pk = done + len(rows), rows[-1].pk
