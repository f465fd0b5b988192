"""Crafted files end as a rejected version with a reason, through the real upload pipeline, with nothing left
in storage (issue 13, items 6, 10, 11 and 12); HEAD on a download is not a download (item 13)."""

import io
import json
import stat
import struct
import warnings
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.test import TestCase

from accounts.models import AuditEvent
from catalog import files
from catalog.models import DatasetFile, FileVersion, MLModel
from catalog.tests.factories import DatasetFactory, MLModelFactory
from catalog.tests.test_api import api
from catalog.tests.test_files import safetensors_bytes, staged, stored_objects, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_store", "eager_celery")]


# --- builders -----------------------------------------------------------------------------------


def zip_of(entries: dict, method: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names some cases need
        with zipfile.ZipFile(buffer, "w", method) as archive:
            for name, data in entries.items() if isinstance(entries, dict) else entries:
                archive.writestr(name, data)
    return buffer.getvalue()


def patch_headers(data: bytes, local_offset: int, central_offset: int, value: bytes) -> bytes:
    """Set one field in every local and central directory header of a zip."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        at = out.find(signature)
        while at >= 0:
            out[at + offset : at + offset + len(value)] = value
            at = out.find(signature, at + 4)
    return bytes(out)


def symlink_zip() -> bytes:
    info = zipfile.ZipInfo("passwd")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def nested_zip(levels: int) -> bytes:
    data = zip_of({"x.txt": b"x"})
    for level in range(levels):
        data = zip_of({f"level{level}.zip": data})
    return data


def safetensors(header, data: bytes = b"", raw: bytes | None = None) -> bytes:
    text = raw if raw is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def tensor(offsets, shape=(1,), dtype="F32") -> dict:
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


HELLO = zip_of({"a.txt": b"hello world " * 20})
DEFLATED = zip_of({"a.txt": b"hello world " * 200}, zipfile.ZIP_DEFLATED)
INNER_BOMB = zip_of({"zeros.bin": b"\0" * 5_000_000}, zipfile.ZIP_DEFLATED)

CORPUS = [
    # zip archives (datasets)
    ("dataset", "bad-crc.zip", HELLO.replace(b"hello world hello", b"jello world hello", 1), "CRC"),
    ("dataset", "broken-deflate.zip", DEFLATED[:40] + b"\xff" * 8 + DEFLATED[48:], "damaged"),
    ("dataset", "encrypted.zip", patch_headers(HELLO, 6, 8, struct.pack("<H", 1)), "encrypted"),
    ("dataset", "deflate64.zip", patch_headers(HELLO, 8, 10, struct.pack("<H", 9)), "compression method 9"),
    ("dataset", "symlink.zip", symlink_zip(), "symbolic link"),
    ("dataset", "nested-bomb.zip", zip_of({"inner.zip": INNER_BOMB}), "inner.zip/zeros.bin' expands"),
    ("dataset", "deep.zip", nested_zip(5), "nested more than 3"),
    ("dataset", "bidi.zip", zip_of({"invoice\u202etxt.exe": b"x"}), "U+202E"),
    ("dataset", "zero-width.zip", zip_of({"a\u200bb.txt": b"x"}), "U+200B"),
    ("dataset", "duplicates.zip", zip_of([("a.txt", b"1"), ("a.txt", b"2")]), "twice"),
    # safetensors (models)
    ("model", "offsets.safetensors", safetensors({"w": tensor(["0", "4"])}, b"\0" * 4), "not two integers"),
    ("model", "offsets-null.safetensors", safetensors({"w": tensor([None, 4])}, b"\0" * 4), "not two integers"),
    (
        "model",
        "metadata.safetensors",
        safetensors({"__metadata__": [1], "w": tensor([0, 4])}, b"\0" * 4),
        "__metadata__",
    ),
    ("model", "trailing.safetensors", safetensors({"w": tensor([0, 4])}, b"\0" * 8), "4 trailing bytes"),
    (
        "model",
        "gap.safetensors",
        safetensors({"a": tensor([0, 4]), "b": tensor([8, 12])}, b"\0" * 12),
        "bytes 4..8 that no tensor covers",
    ),
    (
        "model",
        "overlap.safetensors",
        safetensors({"a": tensor([0, 8], (2,)), "b": tensor([4, 8])}, b"\0" * 8),
        "overlap",
    ),
    (
        "model",
        "duplicate.safetensors",
        safetensors(
            None,
            b"\0" * 8,
            raw=b'{"w": '
            + json.dumps(tensor([0, 4])).encode()
            + b', "w": '
            + json.dumps(tensor([4, 8])).encode()
            + b"}",
        ),
        "twice",
    ),
    ("model", "dims.safetensors", safetensors({"w": tensor([0, 4], [1] * 17)}, b"\0" * 4), "at most 16"),
    ("model", "bool-shape.safetensors", safetensors({"w": tensor([0, 4], [True])}, b"\0" * 4), "invalid shape"),
    (
        "model",
        "huge-dims.safetensors",
        safetensors({"w": tensor([0, 4], [2**62] * 16)}, b"\0" * 4),
        "do not match its shape",
    ),
    (
        "model",
        "nested.safetensors",
        safetensors(None, b"", raw=b'{"a":' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
        "nested too deeply",
    ),
    # tabular files (datasets)
    ("dataset", "wide.csv", b"a,b\n1," + b"x" * 200_000 + b"\n", "field larger than field limit"),
    ("dataset", "digits.csv", b"id,n\n1," + b"9" * 400 + b"\n", "too large to profile"),
    ("dataset", "late-utf8.jsonl", b'{"a": 1}\n' * 10_000 + b'{"a": "\xff"}\n', "not valid UTF-8 text (at byte 90007)"),
    ("dataset", "late-nul.csv", b"a,b\n" + b"1,2\n" * 20_000 + b"3,\x00\n", "NUL bytes"),
    ("dataset", "deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ("dataset", "nan.json", b'[{"a": 1.5}, {"a": NaN}]', "NaN"),
    ("dataset", "infinite.json", b'[{"a": 1e999}]', "not finite"),
    ("dataset", "nul-value.json", b'[{"a": "x\\u0000y"}]', "NUL character"),
    ("dataset", "nul-value.jsonl", b'{"a": "x\\u0000y"}\n', "NUL character"),
    ("dataset", "nul-key.jsonl", b'{"a\\u0000": 1}\n', "NUL character"),
    ("dataset", "digits.jsonl", b'{"n": ' + b"9" * 5000 + b"}\n", "not valid JSON"),
    ("dataset", "table.parquet", b"PAR1" + b"\x15" * 64 + b"PAR1", "not a readable Parquet"),
    # polyglots and the rest
    # text for the first 64 KiB (what the upload checks), a zip archive at the end (what unzip reads)
    ("model", "config.json", b'{"a": "' + b"x" * 70_000 + b'"}' + zip_of({"x.txt": b"x"}), "polyglot"),
    ("dataset", "rows.json", b'[{"a": "' + b"x" * 70_000 + b'"}]' + zip_of({"x.txt": b"x"}), "polyglot"),
    ("model", "weights.npy", b"\x93NUMPY\x01\x00\x10\x00__import__('os')", "not a Python literal"),
    ("model", "truncated.bin", b"\x80\x04\x95\x10\x00", "not a readable pickle"),
]


# --- the corpus -------------------------------------------------------------------------------


@pytest.mark.parametrize("asset_kind,path,data,reason", CORPUS, ids=[case[1] for case in CORPUS])
def test_every_crafted_file_ends_rejected_with_a_reason_and_nothing_stored(
    owner, file_store, asset_kind, path, data, reason
):
    kind = "models" if asset_kind == "model" else "datasets"
    (MLModelFactory if asset_kind == "model" else DatasetFactory)(owner=owner, name="a")
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api(owner).post(
            f"/api/v1/{kind}/owner/a/files/",
            {"file": SimpleUploadedFile("upload", data), "path": path},
            format="multipart",
        )
    assert response.status_code == 201, response.content[:500]
    version = FileVersion.objects.get()
    assert version.status == "rejected" and reason in version.reason, version.reason
    listed = api(owner).get(f"/api/v1/{kind}/owner/a/versions/{path}").json()
    assert [(v["status"], v["reason"]) for v in listed] == [("rejected", version.reason)]
    assert stored_objects(file_store) == [] and staged(file_store) == []
    assert not DatasetFile.objects.exists()


def test_a_quadratic_safetensors_header_is_refused_before_any_product_is_computed(owner):
    # 1.8 MB of dimensions: multiplying them out took seconds before; now the count of dimensions decides.
    header = {"w": tensor([0, 4], [2**62] * 90_000)}
    version = upload(owner, MLModelFactory(owner=owner), "model.safetensors", safetensors(header, b"\0" * 4))
    assert version.status == "rejected" and "at most 16 non-negative integer dimensions" in version.reason
    many = {f"t{i}": tensor([0, 0], [2**62] * 15 + [0]) for i in range(20_000)}  # many tensors, all bounded
    version = upload(owner, MLModelFactory(owner=owner), "many.safetensors", safetensors(many))
    assert version.status == "ready", version.reason


def test_a_safetensors_header_past_the_cap_is_refused_with_its_size(owner, settings):
    from catalog import inspection

    filler = b" " * (inspection.SAFETENSORS_MAX_HEADER + 1 - 2)
    version = upload(owner, MLModelFactory(owner=owner), "big.safetensors", safetensors(None, raw=b"{" + filler + b"}"))
    assert version.status == "rejected" and "at most 16777216 are accepted" in version.reason


def test_an_inspection_past_its_time_budget_is_rejected(owner, settings):
    settings.OMH_INSPECTION_SECONDS = -1  # already past: the first check inside the loop ends it
    version = upload(owner, DatasetFactory(owner=owner), "rows.csv", b"a,b\n1,2\n")
    assert version.status == "rejected" and version.reason.startswith("inspection took longer than -1")


def test_a_parquet_file_with_a_long_nested_type_is_profiled(owner, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    struct_type = pa.struct([(f"field_with_a_long_name_{i}", pa.int64()) for i in range(20)])
    pq.write_table(
        pa.table({"nested": pa.array([{f"field_with_a_long_name_{i}": i for i in range(20)}], type=struct_type)}),
        tmp_path / "t.parquet",
    )
    version = upload(owner, DatasetFactory(owner=owner), "t.parquet", (tmp_path / "t.parquet").read_bytes())
    assert version.status == "ready", version.reason
    column = DatasetFile.objects.get().columns.get()
    assert len(column.data_type_original) == 100 and column.data_type_original.startswith("struct<")


def test_well_formed_files_of_each_kind_still_pass(owner):
    dataset = DatasetFactory(owner=owner)
    nested = zip_of({"inner.zip": zip_of({"a/1.txt": b"hello"}), "b.txt": b"x"})
    for path, data in [
        ("nested.zip", nested),
        ("rows.json", b'[{"a": "caf\xc3\xa9", "n": 1e300}]'),
        ("rows.jsonl", b'{"a": 1}\n'),
        ("t.csv", "a,b\n\u00e9,2\n".encode()),
    ]:
        version = upload(owner, dataset, path, data)
        assert version.status == "ready", (path, version.reason)
    model = MLModelFactory(owner=owner)
    assert upload(owner, model, "model.safetensors", safetensors_bytes(100)).status == "ready"
    assert upload(owner, model, "trainer_state.json", b'{"loss": NaN}').status == "ready"


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["invoice\u202etxt.md", "a\u2066b.md", "zero\u200bwidth.md", "line\u2028break.md"])
def test_upload_paths_with_invisible_or_bidirectional_characters_are_refused(owner, file_store, name):
    model = MLModelFactory(owner=owner, name="a")
    response = api(owner).post(
        "/api/v1/models/owner/a/files/",
        {"file": SimpleUploadedFile("x.md", b"x"), "path": f"docs/{name}"},
        format="multipart",
    )
    assert response.status_code == 400 and "invisible" in response.json()["path"][0]
    with pytest.raises(ValidationError, match="invisible"):
        upload(owner, model, name, b"x")
    assert not FileVersion.objects.exists() and staged(file_store) == []


# --- a failure after the object was stored -----------------------------------------------------


class DeletingStorage(FileSystemStorage):
    """An object store during whose write the asset is deleted (another request, another process): the
    write runs on the pipeline's storage thread, whose own connection sees only what is committed."""

    def _save(self, name, content):
        saved = super()._save(name, content)
        MLModel.objects.all().delete()
        connections.close_all()  # this thread's connections only (the test database is dropped at the end)
        return saved


@pytest.mark.django_db(transaction=True)  # the object is written on a thread of its own (files.store_stream)
def test_a_failure_after_the_object_is_written_deletes_the_object(owner, file_store, settings):
    model = MLModelFactory(owner=owner)
    default = settings.STORAGES["default"]
    settings.STORAGES = {**settings.STORAGES, "default": {**default, "BACKEND": f"{__name__}.DeletingStorage"}}
    with TestCase.captureOnCommitCallbacks(execute=True):
        files.upload_file(user=owner, asset=model, path="notes.md", content=io.BytesIO(b"hello"))
    assert not FileVersion.objects.exists()  # went with the asset
    assert stored_objects(file_store) == [] and staged(file_store) == []


# --- HEAD and over-size uploads ------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "/api/v1"])
def test_head_on_a_download_answers_headers_without_counting_or_auditing(client, owner, prefix):
    model = MLModelFactory(owner=owner, name="m")
    version = upload(owner, model, "notes.md", b"hello world")
    events = AuditEvent.objects.count()
    url = f"{prefix}/models/owner/m/resolve/notes.md"
    head = client.head(url)
    assert head.status_code == 200 and head["Content-Length"] == "11" and head["ETag"] == f'"{version.sha256}"'
    assert b"".join(head.streaming_content) == b""
    ranged = client.head(url, HTTP_RANGE="bytes=0-4")
    assert ranged.status_code == 206 and ranged["Content-Range"] == "bytes 0-4/11" and ranged["Content-Length"] == "5"
    model.refresh_from_db()
    assert model.downloads == 0 and AuditEvent.objects.count() == events
    get = client.get(url)
    assert b"".join(get.streaming_content) == b"hello world"
    model.refresh_from_db()
    assert model.downloads == 1 and AuditEvent.objects.count() == events + 1
    assert {k: get[k] for k in ("Content-Length", "ETag", "Content-Type")} == {
        k: head[k] for k in ("Content-Length", "ETag", "Content-Type")
    }


def test_an_over_size_api_upload_answers_413_and_keeps_nothing(owner, settings, file_store):
    settings.OMH_MAX_UPLOAD_BYTES = 1000
    MLModelFactory(owner=owner, name="m")
    response = api(owner).post(
        "/api/v1/models/owner/m/files/",
        {"file": SimpleUploadedFile("big.md", b"x" * 5000), "path": "big.md"},
        format="multipart",
    )
    assert response.status_code == 413 and "larger than the limit of 1,000 bytes" in response.json()["file"][0]
    assert not FileVersion.objects.exists() and staged(file_store) == [] and stored_objects(file_store) == []
