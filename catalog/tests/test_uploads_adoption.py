"""Content encrypted while it is received, and adopted by the commit (catalog/uploads.py, files.store_stream):
the object written during a basic PUT (or when parts are completed) becomes the version's object with no
second encryption; a refused, mismatched, interrupted, expired or abandoned upload leaves neither its staged
bytes nor its object; a failed commit keeps the upload for a retry."""

import hashlib
import io
import json
import os
import pickle
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog import crypto, files, pipeline, revisions, storage, uploads
from catalog.models import FileVersion, UploadSession
from catalog.stored import StoredContent
from catalog.tests.factories import MLModelFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_store", "eager_celery")]


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def safetensors(size: int, seed: bytes = b"w") -> bytes:
    tensor = (hashlib.sha256(seed).digest() * (size // 32 + 1))[:size]
    header = json.dumps({"w": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}}).encode()
    return len(header).to_bytes(8, "little") + header + tensor


def objects(file_store) -> set[str]:
    root = file_store / "media"
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def staged(file_store) -> set[str]:
    return {p.name for p in (file_store / "staging").iterdir()} if (file_store / "staging").exists() else set()


class Trickle(io.BytesIO):
    """A request body that arrives in pieces of 700 bytes, across the 1 KiB encryption chunks."""

    def read(self, size=-1):
        return super().read(min(size, 700) if size and size > 0 else 700)


def received(owner, model, data: bytes) -> UploadSession:
    """A basic transfer of ``data``, announced with its SHA-256."""
    oid = hashlib.sha256(data).hexdigest()
    session = uploads.create_session(user=owner, asset=model, size=len(data), oid=oid)
    return uploads.receive_whole(session, Trickle(data), len(data))


def lfs_commit(owner, model, path: str, session: UploadSession, **extra):
    staged_session = uploads.staged_session(model, oid=session.oid, size=session.size)
    return uploads.commit(
        user=owner,
        asset=model,
        message=f"Add {path}",
        additions=[uploads.Addition(path, staged=staged_session)],
        **extra,
    )


def test_the_object_encrypted_during_the_put_is_the_committed_version_and_nothing_is_encrypted_again(owner, file_store):
    model = MLModelFactory(owner=owner, name="m")
    data = safetensors(5000)  # five chunks of 1 KiB, the last one shorter
    before = objects(file_store)
    session = received(owner, model, data)

    assert session.status == UploadSession.Status.VERIFIED and session.sha256 == hashlib.sha256(data).hexdigest()
    assert objects(file_store) - before == {session.storage_key}
    stored = (file_store / "media" / session.storage_key).read_bytes()
    assert len(stored) == crypto.ciphertext_size(len(data), 1024) and data[-500:] not in stored
    assert staged(file_store) == set()  # no plaintext copy: the commit reads the object through decryption
    assert StoredContent.of(session).read_bytes() == data

    created = lfs_commit(owner, model, "model.safetensors", session)
    version = revisions.version_at(created, "model.safetensors")
    assert version.status == FileVersion.Status.READY and version.kind == "safetensors"
    assert (version.storage_key, bytes(version.wrapped_key), bytes(version.nonce_prefix)) == (
        session.storage_key,
        bytes(session.wrapped_key),
        bytes(session.nonce_prefix),
    )
    assert objects(file_store) - before == {session.storage_key}  # adopted: no second object
    assert (file_store / "media" / session.storage_key).read_bytes() == stored  # ... nor a rewrite of it
    assert not UploadSession.objects.exists() and staged(file_store) == set()
    assert b"".join(files.read_plaintext(version)) == data


def test_completed_parts_are_encrypted_once_and_adopted(owner, file_store, settings):
    settings.OMH_UPLOAD_PART_BYTES = 2048
    model = MLModelFactory(owner=owner, name="m")
    data = safetensors(5000, seed=b"parts")
    session = uploads.create_session(user=owner, asset=model, size=len(data))
    for number in (3, 1, 2):
        offset, length = session.part_bounds(number)
        uploads.receive_part(session, number, io.BytesIO(data[offset : offset + length]), length)
    session = uploads.complete(session)
    assert session.storage_key and objects(file_store) == {session.storage_key}
    staged_session = uploads.staged_session(model, session_uuid=session.uuid)
    created = uploads.commit(
        user=owner, asset=model, message="m", additions=[uploads.Addition("a.safetensors", staged=staged_session)]
    )
    version = revisions.version_at(created, "a.safetensors")
    assert version.storage_key == session.storage_key and objects(file_store) == {session.storage_key}
    assert b"".join(files.read_plaintext(version)) == data


def test_a_part_sent_after_completion_cannot_change_what_is_inspected_and_stored(owner, file_store, settings):
    settings.OMH_UPLOAD_PART_BYTES = 2048
    model = MLModelFactory(owner=owner, name="m")
    data = safetensors(3000, seed=b"parts")
    session = uploads.create_session(user=owner, asset=model, size=len(data))
    stale = UploadSession.objects.get(pk=session.pk)  # a part request that loaded the session before completion
    for number in (1, 2):
        offset, length = session.part_bounds(number)
        uploads.receive_part(session, number, io.BytesIO(data[offset : offset + length]), length)
    session = uploads.complete(session)
    assert not uploads.staged_path(session).exists()  # the received parts went: the object holds them
    evil = pickle.dumps(Evil()).ljust(2048, b" ")
    assert uploads.receive_part(stale, 1, io.BytesIO(evil), 2048)  # acknowledged, not written
    assert StoredContent.of(session).read_bytes() == data and staged(file_store) == set()
    staged_session = uploads.staged_session(model, session_uuid=session.uuid)
    created = uploads.commit(
        user=owner, asset=model, message="m", additions=[uploads.Addition("a.safetensors", staged=staged_session)]
    )
    assert b"".join(files.read_plaintext(revisions.version_at(created, "a.safetensors"))) == data


def test_a_mismatched_or_interrupted_transfer_keeps_no_bytes_and_no_object(owner, file_store):
    model = MLModelFactory(owner=owner, name="m")
    data = safetensors(3000)
    session = uploads.create_session(user=owner, asset=model, size=len(data), oid="0" * 64)
    with pytest.raises(uploads.UploadError, match="not the announced"):
        uploads.receive_whole(session, io.BytesIO(data), len(data))
    assert objects(file_store) == set() and staged(file_store) == {session.staging_name}  # the empty session file
    with pytest.raises(uploads.UploadError, match="body ended after 1,400 of 3,"):
        uploads.receive_whole(session, Trickle(data[:1400]), len(data))  # the client went away
    assert objects(file_store) == set() and staged(file_store) == {session.staging_name}
    session.refresh_from_db()
    assert session.status == UploadSession.Status.RECEIVING and session.storage_key == ""


def test_a_refused_file_leaves_neither_its_staged_bytes_nor_its_object_and_main_stays(owner, file_store):
    model = MLModelFactory(owner=owner, name="m")
    first = lfs_commit(owner, model, "model.safetensors", received(owner, model, safetensors(2000)))
    kept = objects(file_store)
    evil = received(owner, model, pickle.dumps(Evil()))
    assert evil.storage_key in objects(file_store)
    with pytest.raises(uploads.ContentRejected, match="pytorch_model.bin: .*system"):
        lfs_commit(owner, model, "pytorch_model.bin", evil)
    assert revisions.head(model) == first
    assert objects(file_store) == kept and staged(file_store) == set()
    assert not UploadSession.objects.exists()


def test_a_commit_that_fails_otherwise_keeps_the_upload_and_its_object_for_a_retry(owner, file_store):
    model = MLModelFactory(owner=owner, name="m")
    first = lfs_commit(owner, model, "a.safetensors", received(owner, model, safetensors(1500, seed=b"a")))
    session = received(owner, model, safetensors(2500, seed=b"b"))
    lfs_commit(owner, model, "c.safetensors", received(owner, model, safetensors(1800, seed=b"c")))
    with pytest.raises(uploads.StaleParent):
        lfs_commit(owner, model, "b.safetensors", session, parent=first.oid)
    assert UploadSession.objects.filter(pk=session.pk).exists() and session.storage_key in objects(file_store)
    created = lfs_commit(owner, model, "b.safetensors", session)
    assert revisions.version_at(created, "b.safetensors").storage_key == session.storage_key


def test_bytes_the_repository_already_stores_share_its_object_and_the_new_one_is_deleted(owner, file_store):
    model = MLModelFactory(owner=owner, name="m")
    data = safetensors(2000)
    first = lfs_commit(owner, model, "a.safetensors", received(owner, model, data))
    stored = objects(file_store)
    again = received(owner, model, data)  # e.g. sent again before the client learnt it was present
    assert again.storage_key not in stored
    created = lfs_commit(owner, model, "b.safetensors", again)
    assert (
        revisions.version_at(created, "b.safetensors").storage_key
        == revisions.version_at(first, "a.safetensors").storage_key
    )
    assert objects(file_store) == stored and staged(file_store) == set()


def test_expired_sessions_are_purged_with_their_object_and_abandoned_transfers_by_the_sweep(owner, file_store):
    model = MLModelFactory(owner=owner, name="m")
    session = received(owner, model, safetensors(2000))
    UploadSession.objects.filter(pk=session.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert pipeline.sweep(staging_age=3600).expired_uploads == 1
    assert objects(file_store) == set() and staged(file_store) == set()

    # A worker killed mid-transfer leaves its marker and a partial object, named alike.
    key = files.object_key(uuid.uuid4())
    (file_store / "media" / key).parent.mkdir(parents=True, exist_ok=True)
    (file_store / "media" / key).write_bytes(b"partial ciphertext")
    partial = file_store / "staging" / f"session-abc.put-{key.rsplit('/', 1)[-1]}"
    partial.touch()
    old = time.time() - 7200
    os.utime(partial, (old, old))
    assert uploads.transfer_object(partial.name) == key
    assert pipeline.sweep(staging_age=3600).removed == [partial.name]
    assert objects(file_store) == set() and staged(file_store) == set()


def test_a_commit_cannot_adopt_an_upload_purged_meanwhile(owner, file_store):
    model = MLModelFactory(owner=owner, name="m")
    session = received(owner, model, safetensors(2000))
    addition = uploads.Addition("a.safetensors", staged=uploads.staged_session(model, oid=session.oid))
    UploadSession.objects.filter(pk=session.pk).delete()  # the purge's first step: its row, then its object
    with pytest.raises(uploads.UploadError, match="expired while it was committed"):
        uploads.commit(user=owner, asset=model, message="m", additions=[addition])
    assert revisions.head(model) is None and not FileVersion.objects.exists()
    assert objects(file_store) == {session.storage_key}  # the purge's to delete, never a version's

    storage.delete_object(session.storage_key)  # the purge's next step
    other = received(owner, model, safetensors(2100))
    addition = uploads.Addition("b.safetensors", staged=uploads.staged_session(model, oid=other.oid))
    uploads.purge_expired_sessions(now=timezone.now() + timedelta(days=2))
    with pytest.raises(uploads.UploadError, match="missing or damaged"):
        uploads.commit(user=owner, asset=model, message="m", additions=[addition])
    assert revisions.head(model) is None and objects(file_store) == set() and staged(file_store) == set()


def test_a_master_key_rotation_rewraps_the_data_key_of_an_upload_awaiting_its_commit(owner, file_store, monkeypatch):
    model = MLModelFactory(owner=owner, name="m")
    data = safetensors(2000)
    session = received(owner, model, data)
    new_id, new_key = crypto.new_master_key()
    monkeypatch.setenv("OMH_MASTER_KEYS", f"{os.environ['OMH_MASTER_KEYS']},{new_id}:{new_key}")
    monkeypatch.setenv("OMH_MASTER_KEY_ID", new_id)
    crypto.keyring.cache_clear()
    assert files.rotate_master_key() == 1
    monkeypatch.setenv("OMH_MASTER_KEYS", f"{new_id}:{new_key}")  # the old master key is retired
    crypto.keyring.cache_clear()
    version = revisions.version_at(lfs_commit(owner, model, "a.safetensors", session), "a.safetensors")
    assert version.key_id == new_id and b"".join(files.read_plaintext(version)) == data
