"""Inspection by the formats' own libraries: safetensors files written by the `safetensors` package for
every dtype it supports, GGUF written by `gguf`, ONNX written by `onnx`, and tabular profiling with
pyarrow (types, distinct estimates, PII guesses, the dataset's own summary)."""

import ctypes
import json
import re
import struct

import pytest

from catalog import inspection, profiling
from catalog.models import Dataset, DatasetFile, MLModel
from catalog.tests.factories import DatasetFactory, MLModelFactory
from catalog.tests.test_files import upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_store", "eager_celery")]


def package_dtypes() -> list[str]:
    """The Python dtype names the installed safetensors package accepts, from its own error message."""
    from safetensors._safetensors_rust import SafetensorError, TensorSpec

    with pytest.raises(SafetensorError) as raised:
        TensorSpec(dtype="no-such-dtype", shape=[1], data_ptr=0, data_len=0)
    return [name.strip() for name in str(raised.value).split("Supported dtypes:")[1].split(",")]


def test_a_safetensors_file_with_every_dtype_the_package_writes_is_accepted_with_its_parameter_count(owner):
    from safetensors._safetensors_rust import TensorSpec, deserialize, serialize

    names = package_dtypes()
    assert {"float8_e8m0fnu", "float4_e2m1fn_x2", "complex64", "bfloat16"} <= set(names)
    buffer = ctypes.create_string_buffer(1 << 16)
    specs, expected = {}, 0
    for i, name in enumerate(names):
        bits = {"bool": 8, "complex64": 64}.get(name) or int(re.search(r"\d+", name.replace("_x2", "")).group())
        shape = [3, 4]  # storage shape: the package doubles the last dimension of packed F4
        elements = 24 if name == "float4_e2m1fn_x2" else 12
        length = elements * (4 if name == "float4_e2m1fn_x2" else bits) // 8
        specs[f"t{i}"] = TensorSpec(dtype=name, shape=shape, data_ptr=ctypes.addressof(buffer), data_len=length)
        expected += elements
    data = bytes(serialize(specs, {"note": "every dtype"}))
    written = {info["dtype"] for _, info in deserialize(data)}
    assert written <= set(inspection.SAFETENSORS_DTYPE_BITS), written - set(inspection.SAFETENSORS_DTYPE_BITS)
    model = MLModelFactory(owner=owner, parameter_count=None)
    version = upload(owner, model, "model.safetensors", data)
    assert version.status == "ready", version.reason
    assert version.inspection["parameters"] == expected and set(version.inspection["dtypes"]) == written
    assert MLModel.objects.get(pk=model.pk).parameter_count == expected


def raw_safetensors(tensors: dict) -> bytes:
    header, offset, blobs = {}, 0, b""
    for name, (dtype, shape, size) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
        blobs += b"\0" * size
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + blobs


def test_f6_tensors_that_the_package_reads_are_accepted_and_misaligned_ones_refused(owner):
    from safetensors._safetensors_rust import deserialize

    good = raw_safetensors({"a": ("F6_E2M3", [4], 3), "b": ("F6_E3M2", [2, 8], 12), "c": ("F8_E8M0", [5], 5)})
    assert {info["dtype"] for _, info in deserialize(good)} == {"F6_E2M3", "F6_E3M2", "F8_E8M0"}
    version = upload(owner, MLModelFactory(owner=owner), "f6.safetensors", good)
    assert version.status == "ready", version.reason
    assert version.inspection["parameters"] == 4 + 16 + 5
    bad = raw_safetensors({"a": ("F6_E2M3", [3], 3)})  # 18 bits: not a whole number of bytes
    with pytest.raises(Exception, match="(?i)invalid|misaligned|boundary|offset"):
        deserialize(bad)
    version = upload(owner, MLModelFactory(owner=owner), "bad.safetensors", bad)
    assert version.status == "rejected" and "byte boundary" in version.reason


def test_a_gguf_file_written_by_the_gguf_package_is_inspected(owner, tmp_path):
    import gguf
    import numpy as np

    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-llama")
    writer.add_context_length(4096)
    writer.add_block_count(1)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    writer.add_tensor("token_embd.weight", np.ones((16, 32), dtype=np.float16))
    quantised = gguf.quants.quantize(np.ones((4, 64), dtype=np.float32), gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("blk.0.attn_q.weight", quantised, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    model = MLModelFactory(owner=owner, parameter_count=None)
    version = upload(owner, model, "tiny.gguf", path.read_bytes())
    assert version.status == "ready", version.reason
    summary = version.inspection
    assert (summary["architecture"], summary["context_length"], summary["file_type"]) == (
        "llama",
        4096,
        "MOSTLY_Q8_0",
    )
    assert summary["tensor_types"] == {"F16": 1, "Q8_0": 1} and summary["parameters"] == 16 * 32 + 4 * 64
    assert MLModel.objects.get(pk=model.pk).parameter_count == 16 * 32 + 4 * 64
    truncated = upload(owner, model, "cut.gguf", path.read_bytes()[:200])
    assert truncated.status == "rejected" and truncated.reason


def test_an_onnx_model_written_by_the_onnx_package_is_described_without_loading_weights(owner):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.ones((3, 4), dtype=np.float32), name="W")
    bias = numpy_helper.from_array(np.zeros((4,), dtype=np.float32), name="B")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "B"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        initializer=[weights, bias],
    )
    model_proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="omh-test")
    onnx.checker.check_model(model_proto)
    model = MLModelFactory(owner=owner, parameter_count=None)
    version = upload(owner, model, "model.onnx", model_proto.SerializeToString())
    assert version.status == "ready", version.reason
    summary = version.inspection
    assert summary["opsets"] == {"ai.onnx": 17} and summary["producer"] == "omh-test"
    assert summary["inputs"] == [{"name": "x", "dtype": "FLOAT", "shape": ["batch", 3]}]
    assert summary["outputs"] == [{"name": "y", "dtype": "FLOAT", "shape": ["batch", 4]}]
    assert (summary["nodes"], summary["initializers"], summary["parameters"]) == (2, 2, 16)
    assert MLModel.objects.get(pk=model.pk).parameter_count == 16
    broken = upload(owner, model, "broken.onnx", model_proto.SerializeToString()[:-7])
    assert broken.status == "rejected" and "ONNX" in broken.reason


PEOPLE_CSV = (
    "id,contact,telephone,note,active,joined,ip,account\n"
    "1,ada@example.org,+44 20 7946 0958,first,true,2024-01-05T10:00:00,192.0.2.1,GB82WEST12345698765432\n"
    "2,bob@example.com,+1 (555) 010-2030,,false,2024-02-06T11:30:00,2001:db8::1,DE89370400440532013000\n"
    "3,cy@example.net,+33 1 23 45 67 89,third,true,,198.51.100.7,FR1420041010050500013M02606\n"
    "4,di@example.org,020 7946 0000,fourth,false,2024-03-07T09:15:00,203.0.113.9,NL91ABNA0417164300\n"
)


def test_pii_columns_are_guessed_from_values_and_names_and_types_include_booleans_and_timestamps(owner):
    dataset = DatasetFactory(owner=owner)
    version = upload(owner, dataset, "people.csv", PEOPLE_CSV.encode())
    assert version.status == "ready", version.reason
    columns = {c.name: c for c in DatasetFile.objects.get(dataset=dataset).columns.all()}
    guesses = {name: (c.stats.get("pii_guess") or {}).get("kind") for name, c in columns.items() if c.is_pii}
    assert guesses == {"contact": "email", "telephone": "phone", "ip": "ip", "account": "iban"}
    assert columns["contact"].stats["pii_guess"]["evidence"] == "values"
    assert not columns["note"].is_pii and not columns["id"].is_pii
    assert (columns["active"].data_type_interpreted, columns["active"].data_type_original) == ("boolean", "bool")
    assert columns["joined"].data_type_interpreted == "datetime" and columns["joined"].stats["nulls"] == 1
    assert columns["joined"].stats["min"] == "2024-01-05T10:00:00"
    assert columns["note"].stats["nulls"] == 1 and columns["id"].stats["distinct"] == 4
    assert version.inspection["pii_columns"] == ["contact", "telephone", "ip", "account"]


def test_a_column_named_like_pii_is_flagged_by_its_name_when_values_say_nothing():
    assert profiling.guess_pii("customerEmail", []) == {"kind": "email", "evidence": "name", "share": None}
    assert profiling.guess_pii("remote_addr", ["x", "y", "z"])["kind"] == "ip"
    assert profiling.guess_pii("description", ["a@b.org is mine", "none", "x"]) is None
    assert profiling.guess_pii("code", ["GB82WEST12345698765431"] * 3) is None  # wrong IBAN check digits


def test_distinct_estimates_are_exact_when_small_and_close_when_large(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 200_000
    pq.write_table(
        pa.table(
            {
                "word": [f"w{i % 50}" for i in range(n)],
                "unique": [f"user-{i}@example.org" for i in range(n)],
                "number": list(range(n)),
            }
        ),
        tmp_path / "t.parquet",
        row_group_size=30_000,
    )
    report = profiling.profile(tmp_path / "t.parquet", "parquet")
    stats = {c["name"]: c["stats"] for c in report.table["columns"]}
    assert (stats["word"]["distinct"], stats["word"]["distinct_exact"]) == (50, True)
    for name in ("unique", "number"):
        assert not stats[name]["distinct_exact"] and abs(stats[name]["distinct"] - n) / n < 0.08, stats[name]
    assert stats["number"]["min"] == 0 and stats["number"]["max"] == n - 1 and report.table["row_count"] == n


def test_a_late_value_that_does_not_fit_the_inferred_type_makes_the_column_text(tmp_path):
    rows = "".join(f"{i},{i * 2}\n" for i in range(400_000)) + "400000,not-a-number\n"
    (tmp_path / "late.csv").write_text("a,b\n" + rows)
    report = profiling.profile(tmp_path / "late.csv", "csv")
    columns = {c["name"]: c for c in report.table["columns"]}
    assert report.table["row_count"] == 400_001
    assert columns["a"]["data_type_original"] == "int64" and columns["b"]["data_type_original"] == "string"


def test_jsonl_tsv_and_mixed_jsonl_are_profiled(owner):
    dataset = DatasetFactory(owner=owner)
    version = upload(owner, dataset, "rows.jsonl", b'{"q": "a", "ok": true}\n{"q": "b", "ok": null}\n')
    assert version.status == "ready", version.reason
    columns = {c.name: c for c in DatasetFile.objects.get(path="rows.jsonl").columns.all()}
    assert columns["ok"].data_type_interpreted == "boolean" and columns["ok"].stats["nulls"] == 1
    mixed = upload(owner, dataset, "mixed.jsonl", b'{"a": 1}\n{"a": "x"}\n')  # Arrow refuses; records profiler
    assert mixed.status == "ready" and DatasetFile.objects.get(path="mixed.jsonl").row_count == 2
    tsv = upload(owner, dataset, "t.tsv", b"x\ty\n1\ta\n2\tb\n")
    assert tsv.status == "ready" and DatasetFile.objects.get(path="t.tsv").columns.count() == 2


def test_the_dataset_summary_is_filled_from_profiles_where_the_curator_left_it_empty(owner):
    dataset = DatasetFactory(owner=owner, instances_number=None, features_number=None, has_missing_values=None)
    upload(owner, dataset, "train.csv", PEOPLE_CSV.encode())
    train = DatasetFile.objects.get(dataset=dataset, path="train.csv")
    report = inspection.Report(table={"row_count": train.row_count, "columns": []})  # a table was profiled
    dataset.refresh_from_db()  # the pipeline filled them (files._apply_report calls apply_profile)
    assert (dataset.instances_number, dataset.features_number, dataset.has_missing_values) == (4, 8, True)
    assert profiling.apply_profile(dataset, train, report) == []  # nothing left to fill
    Dataset.objects.filter(pk=dataset.pk).update(instances_number=None, features_number=None)
    assert profiling.apply_profile(dataset, train, report) == ["features_number", "instances_number"]
    dataset.refresh_from_db()
    assert (dataset.instances_number, dataset.features_number, dataset.has_missing_values) == (4, 8, True)
    upload(owner, dataset, "test.csv", b"id,contact\n9,x@example.org\n")
    test = DatasetFile.objects.get(dataset=dataset, path="test.csv")
    profiling.apply_profile(dataset, test, report)  # still the profiles' own values: they follow
    dataset.refresh_from_db()
    assert dataset.instances_number == 5 and dataset.features_number == 8
    Dataset.objects.filter(pk=dataset.pk).update(instances_number=1000)  # the curator's value stays
    profiling.apply_profile(dataset, train, report)
    assert Dataset.objects.get(pk=dataset.pk).instances_number == 1000
