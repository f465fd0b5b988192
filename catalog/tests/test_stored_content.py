"""Inspection through decryption (catalog/stored.py): the commit of a streamed upload reads the encrypted
object in place, with no plaintext copy. The reader serves any range and seek; every format's inspector
reports through it what it reports from a local file; crafted content is refused by the commit with the
reason and nothing stored; a changed or truncated object is never read as content."""

import hashlib
import io
import json
import os
import pickle
import random
import zipfile

import pytest

from catalog import files, inspection, revisions, uploads
from catalog.models import FileVersion, UploadSession
from catalog.stored import StoredContent, Unreadable
from catalog.tests.factories import DatasetFactory, MLModelFactory
from catalog.tests.test_uploads_adoption import Evil, objects, received, safetensors, staged

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_store", "eager_celery")]
DATA = os.path.join(os.path.dirname(__file__), "data")


def stored(data: bytes) -> StoredContent:
    key = files.object_key(__import__("uuid").uuid4())
    _, envelope = files.store_stream([data], len(data), key)
    return StoredContent(key, envelope, len(data))


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 5000])
def test_the_reader_serves_every_range_and_seek_as_the_plaintext(size):
    data = random.Random(size).randbytes(size)
    content = stored(data)
    assert content.read_bytes() == data and content.stat().st_size == size
    picker = random.Random(7)
    with content.open("rb") as handle:
        for _ in range(200):
            start, length = picker.randrange(size + 2), picker.randrange(3000)
            handle.seek(start)
            assert handle.read(length) == data[start : start + length]
            assert handle.tell() == min(start + length, max(size, start))
        if size >= 3:
            assert handle.seek(-3, io.SEEK_END) == size - 3 and handle.read() == data[-3:]
    with content.open("rb", buffering=0) as raw:
        assert raw.read(1 << 20) == data[:1024]  # at most one chunk per unbuffered read, as a raw file may


def test_text_mode_reads_lines_as_a_local_file_does():
    assert not zipfile.is_zipfile(stored(b"PK").open("rb"))  # a seek before the start fails as a file's does
    text = "".join(f"line {i} é\n" for i in range(400))
    with stored(text.encode()).open("r", encoding="utf-8") as handle:
        assert list(handle) == text.splitlines(keepends=True)


def test_a_changed_or_truncated_object_is_unreadable_and_not_a_rejection(file_store):
    data = safetensors(3000)
    content = stored(data)
    path = file_store / "media" / content.key
    sealed = bytearray(path.read_bytes())
    sealed[1500] ^= 1  # a byte of the second chunk
    path.write_bytes(bytes(sealed))
    with content.open("rb") as handle:
        assert handle.read(1000) == data[:1000]  # the first chunk still authenticates
        with pytest.raises(Unreadable, match="chunk 1 failed authentication"):
            handle.read(1000)
    path.write_bytes(bytes(sealed[:-1]))
    with pytest.raises(Unreadable, match="size"):
        inspection.inspect(content, "safetensors", "model")


def commit_inline(owner, asset, path: str, data: bytes):
    inline = uploads.stage_blocks([data])
    try:
        return uploads.commit(
            user=owner, asset=asset, message=f"Add {path}", additions=[uploads.Addition(path, staged=inline)]
        )
    finally:
        inline.path.unlink()  # inline files are the caller's to remove


def gguf_bytes(tmp_path, *, description: str = "", rows: int = 16) -> bytes:
    import gguf
    import numpy as np

    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(4096)
    if description:
        writer.add_description(description)
    writer.add_tensor("token_embd.weight", np.ones((rows, 32), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


def onnx_bytes() -> bytes:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.ones((3, 4), dtype=np.float32), name="W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        initializer=[weights],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def parquet_bytes(tmp_path) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": list(range(3000)), "name": [f"n{i}" for i in range(3000)]}), tmp_path / "t.parquet")
    return (tmp_path / "t.parquet").read_bytes()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def formats(tmp_path) -> list[tuple[str, str, bytes]]:
    """(asset type, path, content) of every kind of reader inspection uses: header reads, streamed
    scans, zip central directories, memory maps and Arrow."""
    with (
        open(os.path.join(DATA, "linear_state_dict.pt"), "rb") as a,
        open(os.path.join(DATA, "object_array.npy"), "rb") as b,
    ):
        torch_zip, object_npy = a.read(), b.read()
    with open(os.path.join(DATA, "linear_state_dict_legacy.pt"), "rb") as handle:
        legacy = handle.read()
    return [
        ("model", "model.safetensors", safetensors(5000)),
        ("model", "weights.pt", torch_zip),
        ("model", "legacy.pt", legacy),
        ("model", "arrays.npy", object_npy),
        ("model", "tiny.gguf", gguf_bytes(tmp_path)),
        ("model", "model.onnx", onnx_bytes()),
        ("model", "config.json", json.dumps({"hidden": list(range(500))}).encode()),
        ("model", "README.md", ("# Card\n" + "é words\n" * 400).encode()),
        ("dataset", "table.csv", "".join(f"{i},name {i}\n" for i in range(500)).encode()),
        ("dataset", "rows.jsonl", "".join(json.dumps({"i": i}) + "\n" for i in range(500)).encode()),
        ("dataset", "table.parquet", parquet_bytes(tmp_path)),
        ("dataset", "images.zip", zip_bytes({f"img/{i}.txt": os.urandom(300) for i in range(20)})),
    ]


def test_every_inspector_reports_through_decryption_what_it_reports_from_a_local_file(tmp_path, file_store):
    for asset_type, path, data in formats(tmp_path):
        local = tmp_path / f"local-{path}"
        local.write_bytes(data)
        content = stored(data)
        kind = inspection.detect_kind(path, content, asset_type)
        assert kind == inspection.detect_kind(path, local, asset_type)
        through, direct = inspection.inspect(content, kind, asset_type), inspection.inspect(local, kind, asset_type)
        assert (through.summary, through.table, through.parameter_count) == (
            direct.summary,
            direct.table,
            direct.parameter_count,
        ), path
    assert {p.name for p in (file_store / "staging").iterdir()} == set()  # the temporary copies went


LYING_HEADER = json.dumps({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}).encode()
REFUSED = [
    ("model", "pytorch_model.bin", pickle.dumps(Evil()), "system"),
    ("model", "model.safetensors", len(LYING_HEADER).to_bytes(8, "little") + LYING_HEADER + b"\0" * 100, "offsets"),
    ("dataset", "images.zip", zip_bytes({"zeros.bin": b"\0" * 2_000_000}), "zip bomb"),
]


@pytest.mark.parametrize(("asset_type", "path", "data", "reason"), REFUSED, ids=[r[1] for r in REFUSED])
def test_a_commit_refuses_crafted_content_read_through_decryption_and_stores_nothing(
    owner, file_store, settings, asset_type, path, data, reason
):
    settings.OMH_ZIP_MAX_RATIO = 100
    asset = (MLModelFactory if asset_type == "model" else DatasetFactory)(owner=owner, name="repo")
    first = commit_inline(owner, asset, "notes.txt", b"kept\n")
    kept = objects(file_store)
    session = received(owner, asset, data)
    assert session.storage_key in objects(file_store) and staged(file_store) == set()  # no plaintext copy
    addition = uploads.Addition(path, staged=uploads.staged_session(asset, oid=session.oid))
    with pytest.raises(uploads.ContentRejected, match=f"{path}: .*{reason}"):
        uploads.commit(user=owner, asset=asset, message="crafted", additions=[addition])
    assert revisions.head(asset) == first and objects(file_store) == kept and staged(file_store) == set()
    assert not UploadSession.objects.exists() and not FileVersion.objects.filter(file__path=path).exists()


def test_a_commit_whose_object_changed_after_the_put_fails_and_keeps_main(owner, file_store):
    model = MLModelFactory(owner=owner, name="m")
    session = received(owner, model, safetensors(3000))
    path = file_store / "media" / session.storage_key
    sealed = bytearray(path.read_bytes())
    sealed[10] ^= 1  # the header's chunk
    path.write_bytes(bytes(sealed))
    addition = uploads.Addition("a.safetensors", staged=uploads.staged_session(model, oid=session.oid))
    with pytest.raises(uploads.ContentUnavailable, match="failed authentication") as refused:
        uploads.commit(user=owner, asset=model, message="m", additions=[addition])
    assert refused.value.status == 503 and revisions.head(model) is None and not FileVersion.objects.exists()


def test_bytes_stored_under_another_kind_of_name_are_inspected_again_in_place(owner, file_store):
    dataset = DatasetFactory(owner=owner, name="d")
    text = "".join(f"{i},x{i}\n" for i in range(300)).encode()
    first = commit_inline(owner, dataset, "a.txt", text)
    existing = revisions.version_at(first, "a.txt")
    created = uploads.commit(
        user=owner, asset=dataset, message="copy", additions=[uploads.Addition("a.csv", existing=existing)]
    )
    copy = revisions.version_at(created, "a.csv")
    assert copy.kind == "csv" and copy.inspection["rows"] == 299 and copy.storage_key != existing.storage_key
    assert b"".join(files.read_plaintext(copy)) == text and staged(file_store) == set()
    assert hashlib.sha256(text).hexdigest() == copy.sha256


def test_a_large_gguf_is_inspected_from_its_decrypted_start_only(tmp_path, file_store, monkeypatch):
    # Metadata past the first fill (1 KiB here, 16 MiB in production) makes the reader read further: the
    # filled start doubles until the metadata ends inside it; the tensor data behind it is never decrypted,
    # which a damaged chunk there shows (decrypting it would fail authentication).
    monkeypatch.setattr(inspection, "GGUF_FIRST_READ", 1024)
    data = gguf_bytes(tmp_path, description="a long description " * 300, rows=4096)  # 5.7 KiB + 256 KiB
    local = tmp_path / "big.gguf"
    local.write_bytes(data)
    content = stored(data)
    path = file_store / "media" / content.key
    sealed = bytearray(path.read_bytes())
    sealed[200 * 1040 + 5] ^= 1  # chunk 200 of 1 KiB (+ its tag): tensor data
    path.write_bytes(bytes(sealed))
    report = inspection.inspect(content, "gguf", "model")
    assert report.summary == inspection.inspect(local, "gguf", "model").summary
    assert report.summary["parameters"] == 4096 * 32 and report.summary["metadata_keys"] > 3
    with pytest.raises(Unreadable, match="chunk 200 failed authentication"):
        content.read_bytes()
    truncated = stored(data[: len(data) // 2])  # metadata whole, tensor data cut: the file's own failure
    with pytest.raises(inspection.Rejected, match="could not be inspected"):
        inspection.inspect(truncated, "gguf", "model")
