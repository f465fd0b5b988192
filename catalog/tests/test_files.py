import io
import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.test import TestCase

from accounts import services as sharing
from accounts.models import AuditEvent
from catalog import crypto, files
from catalog.storage import BlockStream
from catalog.models import DatasetFile, FileVersion
from catalog.tests.factories import DatasetFactory, MLModelFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_store", "eager_celery")]

CHUNK = 1024


def text_bytes(size: int) -> bytes:
    return (b"0123456789abcdefghijklmnopqrstuvwxyz\n" * (size // 37 + 1))[:size]


def safetensors_bytes(values: int = 3000) -> bytes:
    header = json.dumps(
        {
            "w": {"dtype": "F32", "shape": [values], "data_offsets": [0, values * 4]},
            "b": {"dtype": "BF16", "shape": [2, 5], "data_offsets": [values * 4, values * 4 + 20]},
            "__metadata__": {"format": "pt"},
        }
    ).encode()
    return struct.pack("<Q", len(header)) + header + os.urandom(values * 4 + 20)


def committed():
    """Run on-commit callbacks (the pipeline is queued on commit) inside the test's transaction."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def upload(user, asset, path: str, data: bytes) -> FileVersion:
    with committed():
        version = files.upload_file(user=user, asset=asset, path=path, content=io.BytesIO(data))
    version.refresh_from_db()
    return version


def download(version: FileVersion, start=0, end=None) -> bytes:
    return b"".join(files.read_plaintext(version, start, end))


def stored_objects(root: Path) -> list[Path]:
    return [p for p in (root / "media").rglob("*") if p.is_file()]


def staged(root: Path) -> list[Path]:
    return [p for p in (root / "staging").glob("*") if p.is_file()] if (root / "staging").exists() else []


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 17])
def test_a_file_round_trips_byte_exact(owner, size, file_store):
    model = MLModelFactory(owner=owner)
    data = text_bytes(size)
    version = upload(owner, model, "notes/readme.md", data)
    assert version.status == "ready", version.reason
    assert version.size == size and version.sha256 == __import__("hashlib").sha256(data).hexdigest()
    assert download(version) == data
    stored = (file_store / "media" / version.storage_key).read_bytes()
    assert len(stored) == crypto.ciphertext_size(size, CHUNK)
    assert size < 16 or data[:64] not in stored  # encrypted at rest (a byte or two may occur by chance)
    assert staged(file_store) == []


def test_safetensors_headers_are_read_and_fill_the_parameter_count(owner):
    model = MLModelFactory(owner=owner, parameter_count=None)
    version = upload(owner, model, "model.safetensors", safetensors_bytes(3000))
    assert version.status == "ready", version.reason
    assert version.inspection["tensors"] == 2 and version.inspection["dtypes"] == {"F32": 1, "BF16": 1}
    model.refresh_from_db()
    assert model.parameter_count == 3010


def test_each_upload_of_a_path_is_a_new_version_and_history_is_kept(owner):
    model = MLModelFactory(owner=owner)
    first, second = upload(owner, model, "config.json", b'{"a": 1}'), upload(owner, model, "config.json", b'{"a": 2}')
    assert (first.number, second.number) == (1, 2)
    assert files.latest_version(model, "config.json") == second
    assert download(files.latest_version(model, "config.json", 1)) == b'{"a": 1}'
    files.delete_path(user=owner, asset=model, path="config.json")
    assert files.latest_version(model, "config.json") is None
    assert download(files.latest_version(model, "config.json", 2)) == b'{"a": 2}'  # history kept
    third = upload(owner, model, "config.json", b"{}")
    assert third.number == 3 and files.latest_version(model, "config.json") == third


@pytest.mark.parametrize(
    "path,message",
    [
        ("../escape.txt", "'..'"),
        ("/etc/passwd.txt", "relative"),
        ("a\x00b.txt", "control"),
        ("dir\\file.txt", "'/'"),
        ("", "required"),
        ("C:/x.txt", "relative"),
    ],
)
def test_bad_paths_are_refused_and_nothing_is_kept(owner, file_store, path, message):
    model = MLModelFactory(owner=owner)
    with pytest.raises(ValidationError, match=message):
        upload(owner, model, path, b"hello")
    assert not FileVersion.objects.exists() and staged(file_store) == [] and stored_objects(file_store) == []


@pytest.mark.parametrize(
    "asset_kind,path,data,message",
    [
        ("model", "run.exe", b"MZ...", "not accepted"),
        ("model", "weights.gguf", b"not a gguf", "does not look like"),
        ("model", "weights.safetensors", b"\x00" * 20, "does not look like"),
        ("dataset", "weights.safetensors", safetensors_bytes(10), "not accepted"),
        ("dataset", "table.parquet", b"PAR1 truncated", "does not look like"),
        ("dataset", "notes.txt", b"\x00\x01binary", "does not look like"),
    ],
    ids=lambda value: value if isinstance(value, str) else "data",  # the random bytes stay out of the test id
)
def test_disallowed_kinds_are_refused_at_upload(owner, file_store, asset_kind, path, data, message):
    asset = (MLModelFactory if asset_kind == "model" else DatasetFactory)(owner=owner)
    with pytest.raises(ValidationError, match=message):
        upload(owner, asset, path, data)
    assert not FileVersion.objects.exists() and staged(file_store) == []


def test_an_over_size_upload_is_refused(owner, file_store, settings):
    settings.OMH_MAX_UPLOAD_BYTES = 100
    with pytest.raises(ValidationError, match="larger than the limit"):
        upload(owner, MLModelFactory(owner=owner), "big.txt", text_bytes(101))
    assert not FileVersion.objects.exists() and staged(file_store) == []


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_malicious_pickle_is_rejected_with_its_findings_and_never_stored(owner, file_store):
    model = MLModelFactory(owner=owner)
    good = upload(owner, model, "pytorch_model.bin", pickle.dumps({"weights": [1.0, 2.0]}, protocol=4))
    assert good.status == "ready", good.reason
    bad = upload(owner, model, "pytorch_model.bin", pickle.dumps(Evil()))
    assert bad.status == "rejected" and "system" in bad.reason and "safetensors" in bad.reason
    assert files.latest_version(model, "pytorch_model.bin") == good  # the previous version stays the latest
    assert len(stored_objects(file_store)) == 1 and staged(file_store) == []


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_bombs_and_traversal_archives_are_rejected(owner, file_store, settings):
    settings.OMH_ZIP_MAX_RATIO = 50
    dataset = DatasetFactory(owner=owner)
    fine = upload(owner, dataset, "images.zip", zip_bytes({"a/1.txt": b"hello", "a/2.txt": os.urandom(500)}))
    assert fine.status == "ready", fine.reason
    bomb = upload(owner, dataset, "images.zip", zip_bytes({"zeros.bin": b"\0" * 2_000_000}))
    assert bomb.status == "rejected" and "zip bomb" in bomb.reason
    escape = upload(owner, dataset, "images.zip", zip_bytes({"../../etc/cron.d/x": b"x"}))
    assert escape.status == "rejected" and "outside" in escape.reason
    assert files.latest_version(dataset, "images.zip") == fine
    assert len(stored_objects(file_store)) == 1


def test_csv_files_are_profiled_into_dataset_files_and_columns(owner):
    dataset = DatasetFactory(owner=owner)
    csv_data = b"id,age,city\n1,34,Paris\n2,,Lyon\n3,51,Paris\n"
    version = upload(owner, dataset, "data/train.csv", csv_data)
    assert version.status == "ready", version.reason
    dfile = DatasetFile.objects.get(dataset=dataset, path="data/train.csv")
    assert (dfile.row_count, dfile.format, dfile.size_bytes) == (3, "csv", len(csv_data))
    columns = {c.name: c for c in dfile.columns.all()}
    assert list(columns) == ["id", "age", "city"]
    assert columns["age"].data_type_interpreted == "numerical" and columns["age"].is_nullable
    assert columns["age"].stats == {
        **{"count": 3, "nulls": 1, "min": 34, "max": 51, "mean": 42.5},
        **{"distinct": 2, "distinct_exact": True},
    }
    assert columns["city"].example_values == ["Paris", "Lyon"]


def test_jsonl_and_parquet_files_are_profiled(owner, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    dataset = DatasetFactory(owner=owner)
    upload(owner, dataset, "rows.jsonl", b'{"q": "a", "n": 1}\n{"q": "b", "n": 2}\n')
    assert DatasetFile.objects.get(path="rows.jsonl").row_count == 2
    pq.write_table(pa.table({"x": [1, 2, 3], "label": ["a", "b", None]}), tmp_path / "t.parquet")
    version = upload(owner, dataset, "t.parquet", (tmp_path / "t.parquet").read_bytes())
    assert version.status == "ready", version.reason
    parquet = DatasetFile.objects.get(path="t.parquet")
    assert parquet.row_count == 3 and [c.name for c in parquet.columns.all()] == ["x", "label"]


def tamper(root: Path, version: FileVersion, mutate) -> None:
    path = root / "media" / version.storage_key
    path.write_bytes(mutate(path.read_bytes()))


@pytest.mark.parametrize("mutation", ["flip", "swap", "truncate", "drop-last-chunk", "append"])
def test_tampering_with_stored_content_is_detected(owner, file_store, mutation):
    model = MLModelFactory(owner=owner)
    data = text_bytes(4 * CHUNK + 100)
    version = upload(owner, model, "notes.txt", data)
    sealed = CHUNK + crypto.TAG_SIZE
    mutate = {
        "flip": lambda b: b[:10] + bytes([b[10] ^ 1]) + b[11:],
        "swap": lambda b: b[sealed : 2 * sealed] + b[:sealed] + b[2 * sealed :],
        "truncate": lambda b: b[:-5],
        "drop-last-chunk": lambda b: b[: 4 * sealed],
        "append": lambda b: b + b"extra",
    }[mutation]
    tamper(file_store, version, mutate)
    received = bytearray()
    with pytest.raises(crypto.IntegrityError):
        for piece in files.read_plaintext(version):
            received += piece
    assert data.startswith(bytes(received))  # whatever was sent before the error was genuine


def test_ranges_return_the_right_bytes(owner):
    model = MLModelFactory(owner=owner)
    data = text_bytes(3 * CHUNK + 500)
    version = upload(owner, model, "notes.txt", data)
    for start, end in [
        (0, 1),
        (5, CHUNK),
        (CHUNK - 1, CHUNK + 1),
        (CHUNK, 3 * CHUNK),
        (2 * CHUNK + 7, len(data)),
        (len(data) - 1, len(data)),
    ]:
        assert download(version, start, end) == data[start:end]
    assert files.parse_range("bytes=-10", 100) == (90, 100, True)
    assert files.parse_range("bytes=10-", 100) == (10, 100, True)
    assert files.parse_range("bytes=10-19", 100) == (10, 20, True)
    with pytest.raises(files.RangeNotSatisfiable):
        files.parse_range("bytes=200-", 100)


def test_rotating_the_master_key_keeps_every_file_readable(owner, monkeypatch):
    model = MLModelFactory(owner=owner)
    contents = {f"f{i}.txt": text_bytes(100 * i + 1) for i in range(4)}
    versions = {p: upload(owner, model, p, d) for p, d in contents.items()}
    old_spec = os.environ["OMH_MASTER_KEYS"]
    new_id, new_key = crypto.new_master_key()
    monkeypatch.setenv("OMH_MASTER_KEYS", f"{old_spec},{new_id}:{new_key}")
    monkeypatch.setenv("OMH_MASTER_KEY_ID", new_id)
    crypto.keyring.cache_clear()
    storage_before = {p: v.storage_key for p, v in versions.items()}
    call_command("rotate_master_key", stdout=io.StringIO())
    monkeypatch.setenv("OMH_MASTER_KEYS", f"{new_id}:{new_key}")  # the old key is gone now
    crypto.keyring.cache_clear()
    for path, data in contents.items():
        version = FileVersion.objects.get(pk=versions[path].pk)
        assert version.key_id == new_id and version.storage_key == storage_before[path]
        assert download(version) == data


def test_a_failed_pipeline_leaves_the_previous_version_latest(owner, file_store):
    model = MLModelFactory(owner=owner)
    good = upload(owner, model, "config.json", b'{"ok": true}')
    broken = files.upload_file(user=owner, asset=model, path="config.json", content=io.BytesIO(b'{"ok": false}'))
    FileVersion.objects.filter(pk=broken.pk).update(staging_name="gone-missing")  # queued, never processed yet
    files.process_version(broken.pk)
    broken.refresh_from_db()
    assert broken.status == "rejected" and files.latest_version(model, "config.json") == good
    assert files.process_version(good.pk).status == "ready"  # running a task twice changes nothing


def test_uploading_needs_edit_rights(owner, stranger, grantee):
    model = MLModelFactory(owner=owner)
    with pytest.raises(files.PermissionDenied):
        upload(stranger, model, "a.txt", b"x")
    sharing.grant_access(by=owner, asset=model, permission="read", user=grantee)
    with pytest.raises(files.PermissionDenied):
        upload(grantee, model, "a.txt", b"x")
    sharing.grant_access(by=owner, asset=model, permission="write", user=grantee)
    assert upload(grantee, model, "a.txt", b"x").status == "ready"


# --- through the pages ------------------------------------------------------------------------


def test_pages_upload_list_and_download_with_etag_length_and_ranges(client, owner):
    model = MLModelFactory(owner=owner, name="m")
    client.force_login(owner)
    data = text_bytes(3000)
    from django.core.files.uploadedfile import SimpleUploadedFile

    with committed():
        response = client.post(
            "/models/owner/m/files/", {"file": SimpleUploadedFile("notes.txt", data), "path": "docs/notes.txt"}
        )
    assert response.status_code == 302
    listing = client.get("/models/owner/m/files/").content.decode()
    assert "docs/notes.txt" in listing and "v1" in listing
    response = client.get("/models/owner/m/resolve/docs/notes.txt")
    version = FileVersion.objects.get()
    assert response.status_code == 200 and b"".join(response.streaming_content) == data
    assert response["ETag"] == f'"{version.sha256}"' and response["Content-Length"] == "3000"
    assert 'filename="notes.txt"' in response["Content-Disposition"]
    partial = client.get("/models/owner/m/resolve/docs/notes.txt", HTTP_RANGE="bytes=1000-1999")
    assert partial.status_code == 206 and b"".join(partial.streaming_content) == data[1000:2000]
    assert partial["Content-Range"] == "bytes 1000-1999/3000"
    assert client.get("/models/owner/m/resolve/docs/notes.txt", HTTP_RANGE="bytes=5000-").status_code == 416
    assert (
        client.get("/models/owner/m/resolve/docs/notes.txt", HTTP_IF_NONE_MATCH=f'"{version.sha256}"').status_code
        == 304
    )
    model.refresh_from_db()
    assert model.downloads == 1  # the ranged request is a resumed download, not a new one
    assert AuditEvent.objects.filter(action="file.download").count() == 2


def test_a_rejected_upload_is_reported_on_the_page(client, owner):
    MLModelFactory(owner=owner, name="m")
    client.force_login(owner)
    from django.core.files.uploadedfile import SimpleUploadedFile

    with committed():
        response = client.post("/models/owner/m/files/", {"file": SimpleUploadedFile("evil.bin", pickle.dumps(Evil()))})
    response = client.get(response["Location"])
    assert "Rejected" in response.content.decode() and "posix.system" in response.content.decode()
    response = client.post("/models/owner/m/files/", {"file": SimpleUploadedFile("x.txt", b"x"), "path": "../x.txt"})
    assert response.status_code == 200 and "may not contain" in response.content.decode()


def test_strangers_get_404_for_private_files_and_anonymous_users_cannot_upload(client, owner, stranger):
    model = MLModelFactory(owner=owner, name="m", visibility="private")
    upload(owner, model, "a.txt", b"secret")
    for url in ["/models/owner/m/files/", "/models/owner/m/resolve/a.txt", "/models/owner/m/history/a.txt"]:
        assert client.get(url).status_code == 404
        client.force_login(stranger)
        assert client.get(url).status_code == 404
        client.logout()
    public = MLModelFactory(owner=owner, name="p")
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(stranger)
    assert client.post("/models/owner/p/files/", {"file": SimpleUploadedFile("x.txt", b"x")}).status_code == 403
    assert client.post("/models/owner/p/delete/a.txt").status_code == 403
    assert not FileVersion.objects.filter(file__model=public).exists()


def test_an_over_size_upload_through_the_page_is_refused_with_a_message(client, owner, settings, file_store):
    settings.OMH_MAX_UPLOAD_BYTES = 1000
    MLModelFactory(owner=owner, name="m")
    client.force_login(owner)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/models/owner/m/files/", {"file": SimpleUploadedFile("big.txt", text_bytes(5000))})
    assert response.status_code == 200 and "larger than the limit" in response.content.decode()
    assert not FileVersion.objects.exists() and staged(file_store) == []


class FailingStorage(FileSystemStorage):
    """A disk that fills up after two chunks have been written."""

    def _save(self, name, content):
        class Full(BlockStream):
            def chunks(self, chunk_size=None):
                for n, chunk in enumerate(content.chunks()):
                    if n == 2:
                        raise OSError(28, "No space left on device")
                    yield chunk

        return super()._save(name, Full(iter(()), name))


def test_a_storage_failure_mid_write_keeps_nothing_partial_and_the_upload_can_be_retried(owner, file_store, settings):
    model = MLModelFactory(owner=owner)
    data = text_bytes(10 * CHUNK + 5)
    default = settings.STORAGES["default"]
    settings.STORAGES = {**settings.STORAGES, "default": {**default, "BACKEND": f"{__name__}.FailingStorage"}}
    with pytest.raises(Retry, match="No space left"), committed():  # the task is retried later
        files.upload_file(user=owner, asset=model, path="weights.bin.md", content=io.BytesIO(data))
    version = FileVersion.objects.get(file__model=model)
    assert version.status == "pending" and stored_objects(file_store) == [] and len(staged(file_store)) == 1
    settings.STORAGES = {**settings.STORAGES, "default": default}
    assert files.process_version(version.pk).status == "ready"  # the task's retry
    assert download(FileVersion.objects.get(pk=version.pk)) == data and staged(file_store) == []
