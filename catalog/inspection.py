"""What an uploaded file is, and whether it is safe to keep: checks by extension and content.

``detect_kind`` runs while the request is handled (a few bytes from the start and end of the file);
``inspect`` runs in the worker (or in the web process when Celery runs eagerly): safetensors header
(no tensors loaded), pickle allow-list scan (never unpickled, see ``catalog.pickle_safety``), zip
archive checks, text encoding, and tabular profiling of dataset files. Every inspection ends in a
``Report`` or in ``Rejected`` with a reason — also when the file makes a parser fail — and runs under
a time budget (``OMH_INSPECTION_SECONDS``): a deadline checked inside every loop over the file's
content, so it holds in eager mode too; single parser calls without a loop (a safetensors header, a
JSON document) are bounded by the size caps instead.

Both read ``Content``: a local file (the staged upload) or the plaintext of a stored object read through
decryption (``catalog.stored.StoredContent``, what the commit of a streamed upload inspects: no plaintext
copy is kept). Readers open it as they would a ``Path``; those that need a real file (memory maps, Arrow)
take ``_on_disk``. A stored object that cannot be read back raises ``catalog.stored.Unreadable``: not the
file's fault, so not a rejection.
"""

from __future__ import annotations

import ast
import codecs
import io
import json
import logging
import math
import re
import stat
import struct
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings

from catalog import pickle_safety
from catalog.stored import StoredContent, Unreadable

Content = Path | StoredContent

log = logging.getLogger(__name__)

MODEL_KINDS = {"safetensors", "pt", "pth", "ckpt", "bin", "npy", "onnx", "gguf", "json", "txt", "md"}
DATASET_KINDS = {"csv", "tsv", "json", "jsonl", "parquet", "npy", "txt", "zip", "md"}
PICKLE_KINDS = {"pt", "pth", "ckpt", "bin"}
TEXT_KINDS = {"json", "jsonl", "csv", "tsv", "txt", "md"}
CONTENT_TYPES = {
    "safetensors": "application/octet-stream",
    "pt": "application/octet-stream",
    "pth": "application/octet-stream",
    "ckpt": "application/octet-stream",
    "bin": "application/octet-stream",
    "npy": "application/octet-stream",
    "onnx": "application/octet-stream",
    "gguf": "application/octet-stream",
    "json": "application/json",
    "jsonl": "application/jsonl",
    "txt": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "zip": "application/zip",
}
# Real headers stay far below: tens of thousands of tensors take a few MB (the Rust reader's own cap is 100 MB).
SAFETENSORS_MAX_HEADER = 16 * 1024 * 1024
SAFETENSORS_MAX_DIMS = 16
# Bits per element of every dtype the safetensors format knows (its Rust crate's Dtype list, in its order).
# F4 and F6 pack elements across bytes: a tensor's bit count must end on a byte boundary.
# catalog/tests/test_inspection_formats.py checks this table against every dtype the installed
# `safetensors` package writes and reads, so a new dtype there fails the tests until it is added here.
SAFETENSORS_DTYPE_BITS = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}
ZIP_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
ZIP_MAX_DEPTH = 3  # an archive inside an archive inside an archive, and no deeper
NPY_MAX_HEADER = 10000  # numpy's own default limit (max_header_size)
# Path characters an uploader may use: letters, marks, digits, punctuation, symbols and spaces. Control,
# format (bidirectional overrides, zero-width), surrogate, private-use and unassigned characters are not.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_deadline: ContextVar[float] = ContextVar("inspection_deadline", default=math.inf)


class Rejected(Exception):
    """The file may not be kept; the message says why, for the uploader."""


@dataclass
class Report:
    summary: dict = field(default_factory=dict)
    parameter_count: int | None = None
    table: dict | None = None  # {"format", "row_count", "columns": [...]} for dataset files


def extension(path: str) -> str:
    return PurePosixPath(path).suffix.lower().lstrip(".")


def refused_characters(name: str) -> list[str]:
    """The characters of a path or archive member name that are not allowed, as U+XXXX."""
    return sorted({f"U+{ord(c):04X}" for c in name if unicodedata.category(c) in _REFUSED_CATEGORIES})


def tick() -> None:
    """Called inside every loop over a file's content: ends an inspection that ran out of time."""
    if time.monotonic() > _deadline.get():
        raise Rejected(f"inspection took longer than {settings.OMH_INSPECTION_SECONDS} s, the limit for one file")


@contextmanager
def _on_disk(content: Content) -> Iterator[Path]:
    """A local file with the content, for the readers that cannot take a file object."""
    if isinstance(content, Path):
        yield content
        return
    with content.on_disk() as copy:
        yield copy.path


@contextmanager
def _start_on_disk(content: Content) -> Iterator[tuple[Path, Callable[[int], int]]]:
    """(a local file with the content's size, fill): ``fill(n)`` makes sure its first n bytes are the
    content's and answers how many are (the whole of a local file already are)."""
    if isinstance(content, Path):
        size = content.stat().st_size
        yield content, lambda upto: size
        return
    with content.on_disk(whole=False) as copy:
        yield copy.path, copy.fill


def _head_tail(path: Content, size: int, n: int = 65536) -> tuple[bytes, bytes]:
    with path.open("rb") as handle:
        head = handle.read(n)
        if size > n:
            handle.seek(max(size - 8, 0))
        tail = handle.read(8) if size > n else head[-8:]
    return head, tail


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # a multi-byte character cut by the sample's end
    return True


def detect_kind(path: str, local_file: Content, asset_type: str) -> str:
    """The file's kind if its extension is allowed for the asset type and its content matches."""
    kind = extension(path)
    allowed = MODEL_KINDS if asset_type == "model" else DATASET_KINDS
    if kind not in allowed:
        raise Rejected(
            f"'.{kind}' files are not accepted for {asset_type}s; allowed: "
            + ", ".join(f".{k}" for k in sorted(allowed))
        )
    size = local_file.stat().st_size
    head, tail = _head_tail(local_file, size)
    stripped = head.lstrip()
    ok = {
        "safetensors": lambda: size >= 10 and 2 <= struct.unpack("<Q", head[:8])[0] <= size - 8 and head[8:9] == b"{",
        "npy": lambda: head[:6] == b"\x93NUMPY",
        "pt": lambda: head[:4] == b"PK\x03\x04" or head[:1] == b"\x80",
        "gguf": lambda: head[:4] == b"GGUF",
        "onnx": lambda: size > 0 and head[:1] == b"\x08",
        "parquet": lambda: size >= 12 and head[:4] == b"PAR1" and tail[-4:] == b"PAR1",
        "zip": lambda: head[:4] in (b"PK\x03\x04", b"PK\x05\x06"),
        "json": lambda: _is_text(head) and stripped[:1] in (b"{", b"["),
        "jsonl": lambda: _is_text(head) and (not stripped or stripped[:1] in (b"{", b"[")),
        "text": lambda: _is_text(head),
    }
    check = ok.get(kind) or ok["pt" if kind in PICKLE_KINDS else "text"]
    if not check():
        raise Rejected(f"the content does not look like a .{kind} file")
    return kind


# --- worker-side inspection -------------------------------------------------------------------


def inspect(local_file: Content, kind: str, asset_type: str) -> Report:
    """What the file holds, or Rejected: any failure of a parser on crafted content is a rejection."""
    token = _deadline.set(time.monotonic() + settings.OMH_INSPECTION_SECONDS)
    try:
        report = _inspect(local_file, kind, asset_type)
        _check_storable(report.summary)
        _check_storable(report.table)
        return report
    except (Rejected, Unreadable):
        raise
    except RecursionError:
        raise Rejected("the file is nested too deeply to be inspected") from None
    except MemoryError:
        raise Rejected("the file needs too much memory to be inspected") from None
    except Exception as exc:  # a parser failing on crafted content is the file's fault, not the worker's
        log.warning("inspection of a .%s file failed", kind, exc_info=True)
        raise Rejected(f"the file could not be inspected ({type(exc).__name__}: {str(exc)[:200]})") from None
    finally:
        _deadline.reset(token)


def _inspect(local_file: Content, kind: str, asset_type: str) -> Report:
    if kind in TEXT_KINDS:
        check_text(local_file)
    if kind == "safetensors":
        return inspect_safetensors(local_file)
    if kind in PICKLE_KINDS:
        return inspect_pickle(local_file)
    if kind == "npy":
        return inspect_npy(local_file)
    if kind == "gguf":
        return inspect_gguf(local_file)
    if kind == "onnx":
        return inspect_onnx(local_file)
    if kind == "zip":
        return inspect_zip(local_file)
    if kind == "json" and asset_type == "model":
        return check_json(local_file)
    if asset_type == "dataset" and kind in ("csv", "tsv", "jsonl", "parquet"):
        from catalog import profiling  # pyarrow is loaded by the worker only

        with _on_disk(local_file) as path:
            return profiling.profile(path, kind)
    if asset_type == "dataset" and kind == "json":
        return profile_json(local_file)
    return Report()


def _check_storable(value) -> None:
    """What inspection learnt goes into JSON and text columns: no NUL characters, no NaN or infinity."""
    if isinstance(value, str):
        if "\x00" in value:
            raise Rejected("the file's content holds a NUL character where a name or value is recorded")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Rejected("the file's content holds a number that is not finite (NaN or infinity)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key)
            _check_storable(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_storable(item)


# --- text ---------------------------------------------------------------------------------------


def check_text(local_file: Content) -> None:
    """Text kinds are not also a zip archive (a polyglot), and are UTF-8 throughout without NUL bytes."""
    with local_file.open("rb") as handle:
        if zipfile.is_zipfile(handle):
            raise Rejected("the file is also a zip archive (a polyglot); upload archives as .zip")
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with local_file.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            tick()
            if (nul := chunk.find(b"\x00")) >= 0:
                raise Rejected(f"a text file may not contain NUL bytes (one at byte {offset + nul})")
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise Rejected(f"not valid UTF-8 text (at byte {offset + exc.start})") from None
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise Rejected("not valid UTF-8 text (the file ends inside a character)") from None


def _no_constants(name: str):
    raise Rejected(f"{name} is not valid JSON (JSON has no NaN or Infinity)")


def _unique_pairs(pairs: list) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise Rejected(f"the JSON object has the key {duplicate!r} twice")
    return result


def parse_json(text: str | bytes, what: str, *, strict: bool = True):
    """JSON, or Rejected saying why not. Strict: no NaN/Infinity and no duplicate keys."""
    extra = {"parse_constant": _no_constants, "object_pairs_hook": _unique_pairs} if strict else {}
    try:
        return json.loads(text, **extra)
    except RecursionError:
        raise Rejected(f"{what} is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, and integers past Python's digit limit
        raise Rejected(f"{what} is not valid JSON: {exc}") from None


def check_json(local_file: Content) -> Report:
    """A model's JSON file (config, tokenizer) must parse; NaN is allowed there (trainer states hold it)."""
    if local_file.stat().st_size > settings.OMH_JSON_PROFILE_MAX_BYTES:
        return Report(summary={"format": "json", "checked": False, "why": "too large to check"})
    data = parse_json(local_file.read_bytes(), "the file", strict=False)
    return Report(summary={"format": "json", "type": type(data).__name__})


# --- safetensors --------------------------------------------------------------------------------


def inspect_safetensors(local_file: Content) -> Report:
    size = local_file.stat().st_size
    with local_file.open("rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8).ljust(8, b"\xff"))
        if header_len > size - 8:
            raise Rejected("safetensors header length is larger than the file")
        if header_len > SAFETENSORS_MAX_HEADER:
            raise Rejected(f"safetensors header is {header_len} bytes; at most {SAFETENSORS_MAX_HEADER} are accepted")
        header = parse_json(handle.read(header_len).decode("utf-8"), "safetensors header")
    if not isinstance(header, dict):
        raise Rejected("safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise Rejected("safetensors __metadata__ must map names to strings")
    data_size = size - 8 - header_len
    dtypes: dict[str, int] = {}
    params, spans = 0, []
    for name, info in header.items():
        tick()
        begin, end, count, dtype = _tensor_entry(name, info, data_size)
        spans.append((begin, end))
        dtypes[dtype] = dtypes.get(dtype, 0) + 1
        params += count
    _check_coverage(spans, data_size)
    return Report(
        summary={
            "format": "safetensors",
            "tensors": len(header),
            "dtypes": dtypes,
            "parameters": params,
            "metadata": {str(k)[:200]: v[:200] for k, v in list(metadata.items())[:50]},
        },
        parameter_count=params,
    )


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tensor_entry(name: str, info, data_size: int) -> tuple[int, int, int, str]:
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise Rejected(f"safetensors tensor {name!r} must have exactly dtype, shape and data_offsets")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in SAFETENSORS_DTYPE_BITS:
        raise Rejected(f"safetensors tensor {name!r} has an unknown dtype")
    if (
        not isinstance(shape, list)
        or len(shape) > SAFETENSORS_MAX_DIMS
        or not all(_is_int(d) and d >= 0 for d in shape)
    ):
        raise Rejected(
            f"safetensors tensor {name!r} has an invalid shape "
            f"(at most {SAFETENSORS_MAX_DIMS} non-negative integer dimensions)"
        )
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets):
        raise Rejected(f"safetensors tensor {name!r} has data offsets that are not two integers")
    begin, end = offsets
    bits = SAFETENSORS_DTYPE_BITS[dtype]
    count = _element_count(shape, data_size * 8 // bits)
    if (count * bits) % 8:
        raise Rejected(f"safetensors tensor {name!r} of {dtype} does not end on a byte boundary")
    if not (0 <= begin <= end <= data_size) or end - begin != count * bits // 8:
        raise Rejected(f"safetensors tensor {name!r} has data offsets that do not match its shape")
    return begin, end, count, dtype


def _element_count(shape: list[int], limit: int) -> int:
    """The product of the dimensions, or limit + 1 as soon as it is past limit (no huge products)."""
    if 0 in shape:
        return 0
    count = 1
    for dim in shape:
        count *= dim
        if count > limit:
            return limit + 1
    return count


def _check_coverage(spans: list[tuple[int, int]], data_size: int) -> None:
    """The tensors tile the data exactly: no overlap, no gap, nothing after the last one."""
    position = 0
    for begin, end in sorted(spans):
        if begin < position:
            raise Rejected("safetensors tensors overlap")
        if begin > position:
            raise Rejected(f"safetensors data has bytes {position}..{begin} that no tensor covers")
        position = end
    if position != data_size:
        raise Rejected(f"safetensors data has {data_size - position} trailing bytes that no tensor covers")


# --- GGUF (llama.cpp) and ONNX -----------------------------------------------------------------

GGUF_MAX_TENSORS = 1_000_000
ONNX_MAX_LISTED = 200  # inputs, outputs and opsets listed in the summary


def _gguf_value(field):
    """A scalar or string metadata value (arrays are summarised by their length)."""
    import gguf

    if len(field.types) != 1:
        return None if field.types[0] != gguf.GGUFValueType.ARRAY else f"[{len(field.data)} items]"
    value = field.contents()
    return value[:200] if isinstance(value, str) else value


def inspect_gguf(local_file: Content) -> Report:
    """GGUF metadata read by the `gguf` package (llama.cpp's own reader): the file is memory-mapped and
    tensor data is never read. Architecture, context length, quantisation and the parameter count."""
    with _start_on_disk(local_file) as (path, fill):
        return _gguf_report(_gguf_reader(path, fill, local_file.stat().st_size))


GGUF_FIRST_READ = 16 * 1024 * 1024  # metadata (a tokenizer's vocabulary included) and tensor infos


def _gguf_reader(path: Path, fill: Callable[[int], int], size: int):
    """A GGUFReader over a file of which only the start may be filled (stored content is decrypted no
    further than the metadata reaches: a model of tens of GB is not copied to be inspected). The reader
    parses from the start onwards, each read past the previous one, up to ``data_offset`` where tensor
    data begins (which it maps but never reads); a parse ending with ``data_offset`` within the filled
    start read only real bytes. Otherwise (or when it failed on the zeros past the filled part) the
    filled part doubles, until it is the whole file and a failure is the file's own."""
    import gguf

    filled = fill(GGUF_FIRST_READ)
    while True:
        tick()
        try:
            reader = gguf.GGUFReader(path, "r")
        except Exception:
            if filled >= size:
                raise
        else:
            if reader.data_offset <= filled or filled >= size:
                return reader
        filled = fill(2 * filled)


def _gguf_report(reader) -> Report:
    import gguf

    fields = reader.fields
    if len(reader.tensors) > GGUF_MAX_TENSORS:
        raise Rejected(f"the GGUF file has {len(reader.tensors)} tensors; at most {GGUF_MAX_TENSORS} are accepted")
    architecture = _gguf_value(fields["general.architecture"]) if "general.architecture" in fields else None
    quantisation: dict[str, int] = {}
    params = 0
    for tensor in reader.tensors:
        tick()
        name = tensor.tensor_type.name
        quantisation[name] = quantisation.get(name, 0) + 1
        params += int(tensor.n_elements)
    file_type = _gguf_value(fields["general.file_type"]) if "general.file_type" in fields else None
    if isinstance(file_type, int):
        try:
            file_type = gguf.LlamaFileType(file_type).name
        except ValueError:
            file_type = str(file_type)
    context = fields.get(f"{architecture}.context_length") if isinstance(architecture, str) else None
    summary = {
        "format": "gguf",
        "version": _gguf_value(fields["GGUF.version"]) if "GGUF.version" in fields else None,
        "architecture": architecture,
        "name": _gguf_value(fields["general.name"]) if "general.name" in fields else None,
        "context_length": _gguf_value(context) if context is not None else None,
        "file_type": file_type,
        "tensors": len(reader.tensors),
        "tensor_types": quantisation,
        "parameters": params,
        "metadata_keys": len(fields),
    }
    return Report(summary=summary, parameter_count=params)


# Field numbers of onnx.proto3 read here (the wire format is walked; weights are skipped, not parsed)
_ONNX_MODEL = {"ir_version": 1, "producer_name": 2, "producer_version": 3, "graph": 7, "opset_import": 8}
_ONNX_GRAPH = {"node": 1, "name": 2, "initializer": 5, "input": 11, "output": 12}
_ONNX_TENSOR = {"dims": 1, "data_location": 14}


def _varint(data, position: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= end or shift > 63:
            raise Rejected("the ONNX file is truncated or malformed (a varint runs past its message)")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7


def _fields(data, start: int, end: int):
    """(field number, wire type, value or (begin, end) of a length-delimited field) of one message."""
    position = start
    while position < end:
        key, position = _varint(data, position, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position, end)
            yield number, wire, value
        elif wire == 2:
            length, position = _varint(data, position, end)
            if position + length > end:
                raise Rejected("the ONNX file is truncated or malformed (a field runs past its message)")
            yield number, wire, (position, position + length)
            position += length
        elif wire in (1, 5):
            position += 8 if wire == 1 else 4
            if position > end:
                raise Rejected("the ONNX file is truncated or malformed")
            yield number, wire, None
        else:
            raise Rejected(f"the ONNX file is malformed (wire type {wire})")


def _onnx_tensor_elements(data, start: int, end: int) -> tuple[int, bool]:
    dims, external = [], False
    for number, wire, value in _fields(data, start, end):
        if number == _ONNX_TENSOR["dims"]:
            if wire == 0:
                dims.append(value)
            elif wire == 2:  # packed
                position, stop = value
                while position < stop:
                    dim, position = _varint(data, position, stop)
                    dims.append(dim)
        elif number == _ONNX_TENSOR["data_location"] and wire == 0:
            external = value == 1
    count = 1
    for dim in dims:
        count *= dim if dim < 2**63 else 0  # negative dims are two's complement varints
        if count > 2**62:
            raise Rejected("an ONNX initializer has more elements than any file can hold")
    return count, external


def _onnx_dim(dim):
    return dim.dim_value if dim.WhichOneof("value") == "dim_value" else (dim.dim_param[:50] or None)


def _onnx_value_info(data, span: tuple[int, int]) -> dict:
    import onnx

    info = onnx.ValueInfoProto.FromString(bytes(data[span[0] : span[1]]))
    kind = info.type.WhichOneof("value")
    entry: dict = {"name": info.name[:200]}
    if kind == "tensor_type":
        tensor = info.type.tensor_type
        entry["dtype"] = onnx.TensorProto.DataType.Name(tensor.elem_type) if tensor.elem_type else None
        dims = tensor.shape.dim if tensor.HasField("shape") else None
        entry["shape"] = None if dims is None else [_onnx_dim(d) for d in dims][:64]
    else:
        entry["type"] = kind
    return entry


def inspect_onnx(local_file: Content) -> Report:
    """ONNX model metadata (IR version, opsets, producer, graph inputs and outputs, node count, parameter
    count) without loading weights: the protobuf wire format is walked over a memory map and only the
    small messages (opsets, inputs, outputs) are parsed with the onnx package's own classes; initializers
    are measured by their dims and skipped."""
    import mmap

    if local_file.stat().st_size == 0:
        raise Rejected("not an ONNX model (the file is empty)")
    with (
        _on_disk(local_file) as path,
        open(path, "rb") as handle,
        mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
    ):
        summary, graph = _onnx_model(data)
        summary.update(_onnx_graph(data, graph))
    return Report(summary=summary, parameter_count=summary["parameters"] or None)


def _onnx_model(data) -> tuple[dict, tuple[int, int]]:
    import onnx

    summary: dict = {"format": "onnx", "opsets": {}}
    graph = None
    for number, _wire, value in _fields(data, 0, len(data)):
        tick()
        if number == _ONNX_MODEL["ir_version"]:
            summary["ir_version"] = value
        elif number in (_ONNX_MODEL["producer_name"], _ONNX_MODEL["producer_version"]) and value:
            key = "producer" if number == _ONNX_MODEL["producer_name"] else "producer_version"
            summary[key] = bytes(data[value[0] : value[1]][:200]).decode("utf-8", "replace")
        elif number == _ONNX_MODEL["opset_import"] and value:
            opset = onnx.OperatorSetIdProto.FromString(bytes(data[value[0] : value[1]]))
            if len(summary["opsets"]) < ONNX_MAX_LISTED:
                summary["opsets"][opset.domain[:100] or "ai.onnx"] = opset.version
        elif number == _ONNX_MODEL["graph"] and value:
            graph = value
    if "ir_version" not in summary or graph is None:
        raise Rejected("not an ONNX model (no IR version or no graph)")
    return summary, graph


def _onnx_graph(data, graph: tuple[int, int]) -> dict:
    nodes = params = 0
    initializers, external = set(), False
    inputs, outputs = [], []
    for number, _wire, value in _fields(data, graph[0], graph[1]):
        tick()
        if number == _ONNX_GRAPH["node"]:
            nodes += 1
        elif number == _ONNX_GRAPH["initializer"]:
            count, outside = _onnx_tensor_elements(data, *value)
            params += count
            external = external or outside
            initializers.add(_onnx_tensor_name(data, value))
        elif number == _ONNX_GRAPH["input"] and len(inputs) < ONNX_MAX_LISTED:
            inputs.append(_onnx_value_info(data, value))
        elif number == _ONNX_GRAPH["output"] and len(outputs) < ONNX_MAX_LISTED:
            outputs.append(_onnx_value_info(data, value))
    return {
        # Before IR version 4 initializers were also listed as graph inputs: they are weights, not inputs.
        "inputs": [entry for entry in inputs if entry["name"] not in initializers],
        "outputs": outputs,
        "nodes": nodes,
        "initializers": len(initializers),
        "parameters": params,
        "external_data": external,
    }


def _onnx_tensor_name(data, span: tuple[int, int]) -> str:
    for number, wire, value in _fields(data, *span):
        if number == 8 and wire == 2:  # TensorProto.name
            return bytes(data[value[0] : value[1]][:200]).decode("utf-8", "replace")
    return ""


# --- pickles ------------------------------------------------------------------------------------

_TORCH_MEMBER = re.compile(
    r"[^/]+/(data\.pkl|byteorder|version|\.format_version|\.storage_alignment|data/\d+|"
    r"\.data/serialization_id|\.data/version)"
)


def inspect_pickle(local_file: Content) -> Report:
    with local_file.open("rb") as handle:
        is_zip = handle.read(4) == b"PK\x03\x04"
    try:
        if is_zip:
            container, imports = _scan_torch_zip(local_file)
        else:
            container, imports = _scan_pickle_file(local_file)
    except pickle_safety.UnsafePickle as exc:
        raise Rejected(f"unsafe pickle: {exc}. Convert the weights to .safetensors.") from None
    return Report(summary={"format": "pickle", "container": container, "imports": sorted(imports)[:100]})


def _refuse(scan: pickle_safety.Scan, where: str) -> None:
    if scan.refused:
        names = sorted(scan.refused)
        raise pickle_safety.UnsafePickle(
            f"{where} would import {', '.join(names[:10])}{' and more' if len(names) > 10 else ''} when loaded, "
            "which is not on the allow-list of tensor and array types"
        )


def _scan_pickle_file(local_file: Content) -> tuple[str, set[str]]:
    """A file of pickles: a plain one, several in a row, or torch's legacy format (five pickles, then raw
    storage bytes, which are never unpickled)."""
    size, imports, count = local_file.stat().st_size, set(), 0
    container = "pickle"
    with local_file.open("rb") as raw:
        handle = io.BytesIO(raw.read()) if size <= pickle_safety.IN_MEMORY else raw
        while handle.tell() < size and not (container == "pytorch-legacy" and count == 5):
            scan = pickle_safety.scan(handle, "the pickle" if count == 0 else f"pickle #{count + 1}", tick)
            _refuse(scan, "the pickle" if count == 0 else f"pickle #{count + 1}")
            if count == 0 and scan.first_value == pickle_safety.TORCH_LEGACY_MAGIC:
                container = "pytorch-legacy"
            imports |= scan.imports
            count += 1
    if container == "pytorch-legacy" and count < 5:
        raise pickle_safety.UnsafePickle("the legacy PyTorch file ends before its five pickles")
    return container, imports


def _scan_torch_zip(local_file: Content) -> tuple[str, set[str]]:
    """A PyTorch zip checkpoint: one top folder with data.pkl, tensor data and small records, nothing else
    (TorchScript code or other content is not a weights file)."""
    with local_file.open("rb") as handle, _open_zip(handle) as archive:
        entries = archive.infolist()
        names = [info.filename for info in entries]
        if strays := [n for n in names if not _TORCH_MEMBER.fullmatch(n)]:
            raise Rejected(
                f"the archive entry {strays[0]!r} is not part of a PyTorch weights file "
                "(only data.pkl, tensor data and version records are accepted)"
            )
        if len({n.split("/", 1)[0] for n in names}) != 1 or not any(n.endswith("/data.pkl") for n in names):
            raise Rejected("not a PyTorch checkpoint: it needs exactly one top folder holding data.pkl")
        budget = _ZipBudget.from_settings()
        _check_entries(archive, entries, local_file.stat().st_size, budget)
        _read_entries(archive, entries, budget, depth=0, nest=False)  # CRCs; tensor bytes are not archives
        pickle_name = next(n for n in names if n.endswith("/data.pkl"))
        if archive.getinfo(pickle_name).file_size <= pickle_safety.IN_MEMORY:
            scan = pickle_safety.scan(io.BytesIO(archive.read(pickle_name)), pickle_name, tick)
        else:
            with archive.open(pickle_name) as member:
                scan = pickle_safety.scan(member, pickle_name, tick)
        _refuse(scan, pickle_name)
    return "pytorch-zip", scan.imports


_NPY_PLAIN = re.compile(r"[<>|=]?(b1|[iu][1248]|f[248]|f16|c(8|16|32)|[SUV]\d+|[Mm]8(\[\w+\])?)")


def inspect_npy(local_file: Content) -> Report:
    """A NumPy .npy array: plain dtypes are raw bytes of the declared size; anything else is what numpy
    loads with pickle (allow_pickle=True), scanned like any pickle."""
    size = local_file.stat().st_size
    with local_file.open("rb") as handle:
        head = handle.read(12)
        major = head[6] if len(head) > 6 else 0
        if head[:6] != b"\x93NUMPY" or major not in (1, 2, 3):
            raise Rejected("not a .npy file this hub can read (versions 1 to 3)")
        length_format, start = ("<H", 10) if major == 1 else ("<I", 12)
        (header_len,) = struct.unpack(length_format, head[8:start])
        if header_len > NPY_MAX_HEADER:
            raise Rejected(f"the .npy header is {header_len} bytes; at most {NPY_MAX_HEADER} are accepted")
        handle.seek(start)
        descr, shape = _npy_header(handle.read(header_len), "utf-8" if major == 3 else "latin-1")
        data_start = start + header_len
        if isinstance(descr, str) and _NPY_PLAIN.fullmatch(descr):
            itemsize = int(re.sub(r"\D", "", descr.split("[")[0]) or 1) * (4 if "U" in descr else 1)
            if descr.lstrip("<>|=")[0] in "Mm":
                itemsize = 8
            if _element_count(list(shape), size) * itemsize != size - data_start:
                raise Rejected("the .npy data does not have the size its shape and dtype give")
            return Report(summary={"format": "npy", "dtype": descr, "shape": list(shape)})
        try:
            scan = pickle_safety.scan(handle, "the .npy object array", tick)
            _refuse(scan, "the .npy object array")
        except pickle_safety.UnsafePickle as exc:
            raise Rejected(f"unsafe pickle: {exc}. Save plain numeric arrays instead.") from None
        if handle.tell() != size:
            raise Rejected("the .npy file has bytes after its object array")
    return Report(
        summary={"format": "npy", "dtype": "object", "shape": list(shape), "imports": sorted(scan.imports)[:100]}
    )


def _npy_header(raw: bytes, encoding: str) -> tuple[object, tuple]:
    try:
        header = ast.literal_eval(raw.decode(encoding))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
        raise Rejected("the .npy header is not a Python literal") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise Rejected("the .npy header must have exactly descr, fortran_order and shape")
    shape = header["shape"]
    if not isinstance(shape, tuple) or len(shape) > 64 or not all(_is_int(d) and d >= 0 for d in shape):
        raise Rejected("the .npy shape is not a tuple of at most 64 non-negative integers")
    return header["descr"], shape


# --- zip archives -------------------------------------------------------------------------------


@dataclass
class _ZipBudget:
    """What all the archives of one upload, nested ones included, may still expand to."""

    bytes_left: int
    entries_left: int

    @classmethod
    def from_settings(cls) -> _ZipBudget:
        return cls(settings.OMH_ZIP_MAX_TOTAL_BYTES, settings.OMH_ZIP_MAX_ENTRIES)


def _open_zip(path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, NotImplementedError) as exc:
        raise Rejected(f"not a readable zip archive: {exc}") from None


def inspect_zip(local_file: Content) -> Report:
    budget = _ZipBudget.from_settings()
    with local_file.open("rb") as handle:
        entries = _inspect_archive(handle, budget, depth=0, where="")
    return Report(
        summary={
            "format": "zip",
            "entries": entries,
            "uncompressed_bytes": settings.OMH_ZIP_MAX_TOTAL_BYTES - budget.bytes_left,
        }
    )


def _inspect_archive(source, budget: _ZipBudget, depth: int, where: str) -> int:
    with _open_zip(source) as archive:
        entries = archive.infolist()
        archive.fp.seek(0, 2)
        _check_entries(archive, entries, archive.fp.tell(), budget, where)
        _read_entries(archive, entries, budget, depth, where)
    return len(entries)


def _check_entries(
    archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], size: int, budget: _ZipBudget, where: str = ""
) -> None:
    """Decide on the central directory alone: names, kinds of entry, methods, sizes."""
    max_ratio = settings.OMH_ZIP_MAX_RATIO
    budget.entries_left -= len(entries)
    if budget.entries_left < 0:
        raise Rejected(f"the archive has more than {settings.OMH_ZIP_MAX_ENTRIES} entries")
    seen: set[str] = set()
    total = compressed = 0
    for info in entries:
        _check_entry(info, f"the archive entry {where + info.filename!r}", seen)
        total += info.file_size
        compressed += info.compress_size
        if info.compress_size and info.file_size / info.compress_size > max_ratio:
            raise Rejected(
                f"the archive entry {where + info.filename!r} expands "
                f"{info.file_size // info.compress_size}-fold (zip bomb?)"
            )
    budget.bytes_left -= total
    if budget.bytes_left < 0:
        raise Rejected(f"the archive expands to more than {settings.OMH_ZIP_MAX_TOTAL_BYTES} bytes")
    if compressed and total / compressed > max_ratio:
        raise Rejected("the archive expands too much for its size (zip bomb?)")
    if compressed > size:
        raise Rejected("the archive's entries overlap (they claim more bytes than the archive has)")


def _check_entry(info: zipfile.ZipInfo, label: str, seen: set[str]) -> None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise Rejected(f"{label} would be written outside the archive's folder")
    if bad := refused_characters(name):
        raise Rejected(f"{label} has control or invisible characters in its name ({', '.join(bad)})")
    if name in seen:
        raise Rejected(f"{label} appears twice")
    seen.add(name)
    if info.flag_bits & 0x1:
        raise Rejected(f"{label} is encrypted")
    if info.compress_type not in ZIP_METHODS:
        raise Rejected(
            f"{label} uses compression method {info.compress_type}; accepted: " + ", ".join(ZIP_METHODS.values())
        )
    mode = info.external_attr >> 16
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise Rejected(f"{label} is {'a symbolic link' if stat.S_ISLNK(mode) else 'not a regular file'}")


def _read_entries(
    archive: zipfile.ZipFile,
    entries: list[zipfile.ZipInfo],
    budget: _ZipBudget,
    depth: int,
    where: str = "",
    nest: bool = True,
) -> None:
    """Stream every member once: checks CRCs and real sizes, and inspects archives nested inside."""
    for info in entries:
        if info.is_dir():
            continue
        label = f"the archive entry {where + info.filename!r}"
        try:
            copy = _stream_member(archive, info, label, nest)
        except Rejected:
            raise
        except Exception as exc:  # zipfile, zlib, bz2 and lzma each fail in their own way
            raise Rejected(f"{label} is damaged: {exc}") from None
        if copy is not None:
            with copy:
                if depth >= ZIP_MAX_DEPTH:
                    raise Rejected(f"{label} is an archive nested more than {ZIP_MAX_DEPTH} levels deep")
                copy.seek(0)
                _inspect_archive(copy, budget, depth + 1, f"{where}{info.filename}/")


def _stream_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, nest: bool):
    """Read one member to its end (zipfile checks the CRC there); return a copy of it when it is itself
    a zip archive (and nest is set), else None."""
    copy, seen = None, 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(1 << 20):
                tick()
                if seen == 0 and nest and chunk[:4] == b"PK\x03\x04":
                    copy = tempfile.TemporaryFile(dir=settings.OMH_STAGING_DIR)
                seen += len(chunk)
                if seen > info.file_size:
                    raise Rejected(f"{label} is larger than it declares")
                if copy is not None:
                    copy.write(chunk)
    except BaseException:
        if copy is not None:
            copy.close()
        raise
    return copy


# --- tabular profiling ------------------------------------------------------------------------

MAX_EXAMPLES = 5
MAX_EXAMPLE_CHARS = 200
MAX_COLUMNS = 10_000


class ColumnProfile:
    def __init__(self, name: str):
        self.name, self.count, self.nulls = name, 0, 0
        self.numeric = True
        self.integer = True
        self.minimum = self.maximum = None
        self.total = 0.0
        self.examples: list = []
        self.sample: list[str] = []  # string values for the PII guess (catalog.profiling.guess_pii)
        self.types: set[str] = set()

    def add(self, value) -> None:
        self.count += 1
        if value is None or value == "":
            self.nulls += 1
            return
        if isinstance(value, str) and "\x00" in value:
            raise Rejected(f"column {self.name[:100]!r} holds a NUL character")
        if isinstance(value, str) and len(self.sample) < 200:
            self.sample.append(value)
        if len(self.examples) < MAX_EXAMPLES:
            example = (
                value[:MAX_EXAMPLE_CHARS]
                if isinstance(value, str)
                else value
                if isinstance(value, (int, float, bool))
                else json.dumps(value)[:100]
            )
            if example not in self.examples:
                self.examples.append(example)
        if isinstance(value, bool):
            self.types.add("boolean")
            self.numeric = False
            return
        number = value if isinstance(value, (int, float)) else _as_number(value)
        if number is None:
            self.numeric = False
            self.types.add(type(value).__name__)
            return
        try:
            self.integer = self.integer and float(number).is_integer()
        except OverflowError:
            raise Rejected(
                f"column {self.name[:100]!r} holds a number too large to profile ({len(str(number))} digits)"
            ) from None
        self.minimum = number if self.minimum is None else min(self.minimum, number)
        self.maximum = number if self.maximum is None else max(self.maximum, number)
        self.total += number

    def column(self, position: int) -> dict:
        values = self.count - self.nulls
        numeric = self.numeric and values > 0
        stats = {"count": self.count, "nulls": self.nulls}
        if numeric:
            mean = self.total / values
            stats.update(min=self.minimum, max=self.maximum, mean=mean if math.isfinite(mean) else None)
        original = (
            ("integer" if self.integer else "float")
            if numeric
            else ("boolean" if self.types == {"boolean"} else "string")
        )
        interpreted = "numerical" if numeric else ("boolean" if original == "boolean" else "text")
        from catalog.profiling import guess_pii

        if pii := guess_pii(self.name, self.sample):
            stats["pii_guess"] = pii
        return {
            "name": self.name[:255] or f"column_{position}",
            "position": position,
            "data_type_original": original,
            "data_type_interpreted": interpreted,
            "is_nullable": self.nulls > 0,
            "is_pii": pii is not None,
            "example_values": self.examples,
            "stats": stats,
        }


def _as_number(text):
    if not isinstance(text, str):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _table(kind: str, rows: int, profiles: list[ColumnProfile]) -> Report:
    columns = [p.column(i) for i, p in enumerate(profiles, start=1)]
    return Report(
        summary={"format": kind, "rows": rows, "columns": len(columns)},
        table={"format": kind, "row_count": rows, "columns": columns},
    )


def jsonl_rows(local_file: Content):
    with open(local_file, encoding="utf-8") as handle:  # UTF-8 checked by check_text
        for number, line in enumerate(handle, start=1):
            if number % 1024 == 0:
                tick()
            if line.strip():
                yield parse_json(line, f"line {number}")


def profile_records(local_file: Content, kind: str, records) -> Report:
    profiles: dict[str, ColumnProfile] = {}
    rows = 0
    for record in records:
        tick()
        rows += 1
        if not isinstance(record, dict):
            continue
        for key, value in record.items():
            if key not in profiles:
                if len(profiles) >= MAX_COLUMNS:
                    raise Rejected(f"the records have more than {MAX_COLUMNS} different keys")
                profiles[key] = ColumnProfile(str(key))
                profiles[key].count, profiles[key].nulls = rows - 1, rows - 1  # absent so far
            profiles[key].add(value)
        for key, profile in profiles.items():
            if key not in record:
                profile.add(None)
    return _table(kind, rows, list(profiles.values()))


def profile_json(local_file: Content) -> Report:
    if local_file.stat().st_size > settings.OMH_JSON_PROFILE_MAX_BYTES:
        return Report(summary={"format": "json", "profiled": False, "why": "too large to profile"})
    data = parse_json(local_file.read_bytes(), "the file")
    if isinstance(data, list):
        return profile_records(local_file, "json", data)
    return Report(summary={"format": "json", "type": type(data).__name__})
