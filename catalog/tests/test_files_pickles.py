"""Pickle-based uploads are kept only when every global they import is on the allow-list (issue 13, item 1).

The real checkpoints in catalog/tests/data/ were written by torch 2.13.0 and numpy 2.4
(catalog/tests/data/make_checkpoints.py says how to write them again)."""

import io
import pickle
import struct
import zipfile
from pathlib import Path

import pytest

from catalog import files, pickle_safety
from catalog.tests.factories import DatasetFactory, MLModelFactory
from catalog.tests.test_files import staged, stored_objects, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_store", "eager_celery")]

DATA = Path(__file__).resolve().parent / "data"


def fragment(value, protocol: int = 2) -> bytes:
    """A value's opcodes without PROTO, FRAME and STOP, to splice into a hand-written pickle."""
    data = pickle.dumps(value, protocol=protocol)[2:-1]
    return data[9:] if data[:1] == b"\x95" else data


def short_unicode(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def gadget(module: str, name: str, args: tuple = ("sh",), protocol: int = 2) -> bytes:
    """A pickle that imports module.name and calls it with args — what an attacker uploads. Written by
    hand, so the module need not exist here (distutils, imp)."""
    if protocol >= 4:
        callable_ = short_unicode(module) + short_unicode(name) + b"\x93"  # STACK_GLOBAL
    else:
        callable_ = b"c" + module.encode() + b"\n" + name.encode() + b"\n"  # GLOBAL
    return bytes([0x80, protocol]) + callable_ + fragment(args, protocol) + b"R."


GADGETS = [
    ("multiprocessing.util", "spawnv_passfds"),
    ("distutils.spawn", "spawn"),
    ("_posixsubprocess", "fork_exec"),
    ("imp", "load_source"),
    ("types", "FunctionType"),
    ("marshal", "loads"),
    ("builtins", "__import__"),
    ("importlib", "import_module"),
    ("builtins", "setattr"),
    ("io", "open"),
    ("signal", "raise_signal"),
    ("code", "InteractiveInterpreter"),
]


def rejected_with(version, *words: str) -> None:
    assert version.status == "rejected", version.inspection
    for word in words:
        assert word in version.reason, version.reason


@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("module,name", GADGETS)
def test_every_gadget_pickle_is_rejected_with_the_global_named(owner, file_store, module, name, protocol):
    model = MLModelFactory(owner=owner)
    version = upload(owner, model, "pytorch_model.bin", gadget(module, name, protocol=protocol))
    rejected_with(version, f"{module}.{name}", "allow-list", "safetensors")
    assert stored_objects(file_store) == [] and staged(file_store) == []


def test_python2_names_are_judged_by_what_pickle_imports_for_them(owner):
    version = upload(owner, MLModelFactory(owner=owner), "model.bin", gadget("__builtin__", "eval", ("1",)))
    rejected_with(version, "builtins.eval")


def torch_zip_with(data_pkl: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    """linear_state_dict.pt with its data.pkl replaced (and members added)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(DATA / "linear_state_dict.pt") as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, data_pkl if info.filename.endswith("/data.pkl") else source.read(info))
        for name, content in (extra or {}).items():
            target.writestr(name, content)
    return buffer.getvalue()


def test_a_pytorch_zip_built_on_a_gadget_is_rejected_with_the_global_named(owner, file_store):
    model = MLModelFactory(owner=owner)
    version = upload(owner, model, "model.pt", torch_zip_with(gadget("multiprocessing.util", "spawnv_passfds")))
    rejected_with(version, "data.pkl", "multiprocessing.util.spawnv_passfds")
    assert stored_objects(file_store) == []


def test_a_pytorch_zip_with_other_members_is_rejected(owner):
    good = (DATA / "linear_state_dict.pt").read_bytes()
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        top = archive.namelist()[0].split("/")[0]
    smuggled = torch_zip_with(
        zipfile.ZipFile(io.BytesIO(good)).read(f"{top}/data.pkl"), {f"{top}/extra.pkl": gadget("os", "system")}
    )
    rejected_with(upload(owner, MLModelFactory(owner=owner), "model.pt", smuggled), "extra.pkl", "not part of")
    code = torch_zip_with(zipfile.ZipFile(io.BytesIO(good)).read(f"{top}/data.pkl"), {f"{top}/code/m.py": b"x"})
    rejected_with(upload(owner, MLModelFactory(owner=owner), "model.pt", code), "code/m.py")


@pytest.mark.parametrize(
    "name,container",
    [
        ("linear_state_dict.pt", "pytorch-zip"),
        ("linear_state_dict_legacy.pt", "pytorch-legacy"),
        ("training_checkpoint.pt", "pytorch-zip"),
        ("numpy_arrays_p2.bin", "pickle"),
        ("numpy_arrays_p5.bin", "pickle"),
    ],
)
def test_real_torch_and_numpy_checkpoints_are_accepted(owner, name, container):
    version = upload(owner, MLModelFactory(owner=owner), name, (DATA / name).read_bytes())
    assert version.status == "ready", version.reason
    assert version.inspection["container"] == container
    assert set(version.inspection["imports"]) <= pickle_safety.ALLOWED_GLOBALS
    assert b"".join(files.read_plaintext(version)) == (DATA / name).read_bytes()


def test_a_whole_module_saved_by_torch_is_rejected_as_torch_load_weights_only_would(owner):
    version = upload(owner, MLModelFactory(owner=owner), "model.pt", (DATA / "whole_module.pt").read_bytes())
    rejected_with(version, "torch.nn.modules.linear.Linear")


def test_a_numpy_object_array_is_scanned_and_accepted_when_it_holds_only_data(owner):
    version = upload(owner, DatasetFactory(owner=owner), "arrays/objects.npy", (DATA / "object_array.npy").read_bytes())
    assert version.status == "ready", version.reason
    assert version.inspection["dtype"] == "object" and version.inspection["shape"] == [4]


def npy(descr: str, shape: tuple, payload: bytes) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def test_numpy_arrays_are_accepted_plain_and_refused_when_their_pickle_or_size_is_wrong(owner, file_store):
    model = MLModelFactory(owner=owner)
    assert upload(owner, model, "w.npy", npy("<f4", (2, 3), bytes(24))).status == "ready"
    rejected_with(upload(owner, model, "w.npy", npy("<f4", (2, 3), bytes(25))), "size")
    rejected_with(upload(owner, model, "w.npy", npy("|O", (1,), gadget("posix", "system"))), "posix.system")
    rejected_with(upload(owner, model, "w.npy", npy("object", (1,), gadget("posix", "system"))), "posix.system")
    assert len(stored_objects(file_store)) == 1


MAGIC = pickle.dumps(pickle_safety.TORCH_LEGACY_MAGIC, protocol=2)


@pytest.mark.parametrize(
    "data,words",
    [
        # a harmless pickle followed by a gadget (pickle.load reads one at a time; torch's legacy format five)
        (pickle.dumps({"w": [1.0]}, protocol=2) + gadget("posix", "system"), ["pickle #2", "posix.system"]),
        (
            MAGIC + pickle.dumps(1001, 2) + pickle.dumps({}, 2) + gadget("io", "open") + pickle.dumps([], 2),
            ["pickle #4", "io.open"],
        ),
        (pickle.dumps({"w": [1.0]}, protocol=2) + b"garbage", ["pickle #2", "not a readable pickle"]),
        # STACK_GLOBAL whose module is computed while loading (bytes from _codecs.encode), not a constant
        (
            b"\x80\x04"
            + short_unicode("_codecs")
            + short_unicode("encode")
            + b"\x93"
            + fragment(("os", "latin1"))
            + b"R"
            + short_unicode("system")
            + b"\x93"
            + fragment(("id",))
            + b"R.",
            ["not a constant string"],
        ),
        # the module name reaches STACK_GLOBAL through the memo: still a constant, still refused
        (
            b"\x80\x04"
            + short_unicode("posix")
            + b"\x94\x30"
            + b"h\x00"
            + short_unicode("system")
            + b"\x93"
            + fragment(("id",), 4)
            + b"R.",
            ["posix.system"],
        ),
        # dotted names walk attributes at load time
        (
            b"\x80\x04" + short_unicode("collections") + short_unicode("OrderedDict.__init__") + b"\x93.",
            ["collections.OrderedDict.__init__"],
        ),
        # calling what an allowed call returned, and setting attributes on an allowed class itself
        (b"\x80\x02ccollections\nOrderedDict\n)R" + fragment(()) + b"R.", ["REDUCE of something"]),
        (b"\x80\x02ccollections\nOrderedDict\n}b.", ["BUILD sets attributes of collections.OrderedDict"]),
        (b"\x80\x02\x82\x01.", ["copyreg extension"]),
    ],
)
def test_crafted_pickle_streams_are_rejected(owner, file_store, data, words):
    version = upload(owner, MLModelFactory(owner=owner), "model.bin", data)
    rejected_with(version, *words)
    assert stored_objects(file_store) == []


def test_pickles_read_from_disk_stream_past_large_byte_strings_and_refuse_long_lines(tmp_path):
    # files past pickle_safety.IN_MEMORY are read through a bounded reader; scan() takes any file handle
    first = pickle.dumps({"w": b"\0" * (3 << 20)}, protocol=4)
    path = tmp_path / "model.bin"
    path.write_bytes(first + gadget("posix", "system", protocol=4) + b"c" + b"x" * 70_000 + b"\nname\n.")
    with open(path, "rb") as handle:
        assert pickle_safety.scan(handle, "first").refused == set() and handle.tell() == len(first)
        assert pickle_safety.scan(handle, "second").refused == {"posix.system"}
        with pytest.raises(pickle_safety.UnsafePickle, match="third: not a readable pickle"):
            pickle_safety.scan(handle, "third")
