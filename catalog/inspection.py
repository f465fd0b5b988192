"""What an uploaded file is, and whether it is safe to keep: checks by extension and content.

``detect_kind`` runs while the request is handled (a few bytes from the start and end of the file);
``inspect`` runs in the worker: safetensors header (no tensors loaded), pickle scan (never
unpickled), zip archive limits, and tabular profiling of dataset files.
"""

from __future__ import annotations

import csv
import json
import math
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings

MODEL_KINDS = {"safetensors", "pt", "pth", "ckpt", "bin", "onnx", "gguf", "json", "txt", "md"}
DATASET_KINDS = {"csv", "tsv", "json", "jsonl", "parquet", "txt", "zip", "md"}
PICKLE_KINDS = {"pt", "pth", "ckpt", "bin"}
CONTENT_TYPES = {
    "safetensors": "application/octet-stream", "pt": "application/octet-stream", "pth": "application/octet-stream",
    "ckpt": "application/octet-stream", "bin": "application/octet-stream", "onnx": "application/octet-stream",
    "gguf": "application/octet-stream", "json": "application/json", "jsonl": "application/jsonl",
    "txt": "text/plain; charset=utf-8", "md": "text/markdown; charset=utf-8", "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8", "parquet": "application/vnd.apache.parquet",
    "zip": "application/zip",
}
SAFETENSORS_MAX_HEADER = 100 * 1024 * 1024
SAFETENSORS_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}


class Rejected(Exception):
    """The file may not be kept; the message says why, for the uploader."""


@dataclass
class Report:
    summary: dict = field(default_factory=dict)
    parameter_count: int | None = None
    table: dict | None = None  # {"format", "row_count", "columns": [...]} for dataset files


def extension(path: str) -> str:
    return PurePosixPath(path).suffix.lower().lstrip(".")


def _head_tail(path: Path, size: int, n: int = 65536) -> tuple[bytes, bytes]:
    with open(path, "rb") as handle:
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


def detect_kind(path: str, local_file: Path, asset_type: str) -> str:
    """The file's kind if its extension is allowed for the asset type and its content matches."""
    kind = extension(path)
    allowed = MODEL_KINDS if asset_type == "model" else DATASET_KINDS
    if kind not in allowed:
        raise Rejected(f"'.{kind}' files are not accepted for {asset_type}s; allowed: "
                       + ", ".join(f".{k}" for k in sorted(allowed)))
    size = local_file.stat().st_size
    head, tail = _head_tail(local_file, size)
    stripped = head.lstrip()
    ok = {
        "safetensors": lambda: size >= 10 and 2 <= struct.unpack("<Q", head[:8])[0] <= min(size - 8, SAFETENSORS_MAX_HEADER)
        and head[8:9] == b"{",
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


def inspect(local_file: Path, kind: str, asset_type: str) -> Report:
    if kind == "safetensors":
        return inspect_safetensors(local_file)
    if kind in PICKLE_KINDS:
        return inspect_pickle(local_file)
    if kind == "zip":
        return inspect_zip(local_file)
    if asset_type == "dataset" and kind in ("csv", "tsv"):
        return profile_delimited(local_file, "\t" if kind == "tsv" else ",", kind)
    if asset_type == "dataset" and kind == "jsonl":
        return profile_records(local_file, kind, _jsonl_rows(local_file))
    if asset_type == "dataset" and kind == "json":
        return profile_json(local_file)
    if asset_type == "dataset" and kind == "parquet":
        return profile_parquet(local_file)
    return Report()


def inspect_safetensors(local_file: Path) -> Report:
    size = local_file.stat().st_size
    with open(local_file, "rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8))
        if header_len > min(size - 8, SAFETENSORS_MAX_HEADER):
            raise Rejected("safetensors header length is larger than the file")
        try:
            header = json.loads(handle.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Rejected(f"safetensors header is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise Rejected("safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    data_size, dtypes, params, spans = size - 8 - header_len, {}, 0, []
    for name, info in header.items():
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise Rejected(f"safetensors tensor {name!r} lacks dtype, shape or data_offsets") from None
        if dtype not in SAFETENSORS_DTYPE_BYTES or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise Rejected(f"safetensors tensor {name!r} has an invalid dtype or shape")
        count = math.prod(shape)
        if not (0 <= begin <= end <= data_size) or end - begin != count * SAFETENSORS_DTYPE_BYTES[dtype]:
            raise Rejected(f"safetensors tensor {name!r} has data offsets that do not match its shape")
        spans.append((begin, end))
        dtypes[dtype] = dtypes.get(dtype, 0) + 1
        params += count
    spans.sort()
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
        raise Rejected("safetensors tensors overlap")
    return Report(
        summary={"format": "safetensors", "tensors": len(header), "dtypes": dtypes, "parameters": params,
                 "metadata": {str(k): str(v)[:200] for k, v in list(metadata.items())[:50]}},
        parameter_count=params,
    )


def inspect_pickle(local_file: Path) -> Report:
    from picklescan.scanner import scan_file_path

    result = scan_file_path(str(local_file))
    findings = sorted({f"{g.module}.{g.name}" for g in result.globals if getattr(g.safety, "value", "") == "dangerous"})
    if result.scan_err:
        raise Rejected("the file could not be scanned as a pickle (or PyTorch) file, so it cannot be shown to be safe")
    if result.issues_count or findings:
        raise Rejected("unsafe pickle: it would import " + ", ".join(findings or ["unsafe globals"])
                       + " when loaded. Convert the weights to .safetensors.")
    imports = sorted({f"{g.module}.{g.name}" for g in result.globals})
    return Report(summary={"format": "pickle", "imports": imports[:100], "scanned_files": result.scanned_files})


def inspect_zip(local_file: Path) -> Report:
    max_total = settings.OMH_ZIP_MAX_TOTAL_BYTES
    max_ratio = settings.OMH_ZIP_MAX_RATIO
    max_entries = settings.OMH_ZIP_MAX_ENTRIES
    try:
        archive = zipfile.ZipFile(local_file)
    except zipfile.BadZipFile as exc:
        raise Rejected(f"not a readable zip archive: {exc}") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > max_entries:
            raise Rejected(f"the archive has {len(entries)} entries; at most {max_entries} are accepted")
        total = compressed = 0
        for info in entries:
            name = info.filename
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
                raise Rejected(f"the archive entry {name!r} would be written outside the archive's folder")
            total += info.file_size
            compressed += info.compress_size
            if info.compress_size and info.file_size / info.compress_size > max_ratio:
                raise Rejected(f"the archive entry {name!r} expands {info.file_size // info.compress_size}-fold (zip bomb?)")
        if total > max_total:
            raise Rejected(f"the archive expands to {total} bytes; at most {max_total} are accepted")
        if compressed and total / compressed > max_ratio:
            raise Rejected("the archive expands too much for its size (zip bomb?)")
        # Stream every member once so a member whose real size disagrees with its header is caught.
        for info in entries:
            seen = 0
            with archive.open(info) as member:
                while chunk := member.read(1 << 20):
                    seen += len(chunk)
                    if seen > info.file_size:
                        raise Rejected(f"the archive entry {info.filename!r} is larger than it declares")
    return Report(summary={"format": "zip", "entries": len(entries), "uncompressed_bytes": total})


# --- tabular profiling ------------------------------------------------------------------------

MAX_EXAMPLES = 5


class ColumnProfile:
    def __init__(self, name: str):
        self.name, self.count, self.nulls = name, 0, 0
        self.numeric = True
        self.integer = True
        self.minimum = self.maximum = None
        self.total = 0.0
        self.examples: list = []
        self.types: set[str] = set()

    def add(self, value) -> None:
        self.count += 1
        if value is None or value == "":
            self.nulls += 1
            return
        if len(self.examples) < MAX_EXAMPLES and value not in self.examples:
            self.examples.append(value if isinstance(value, (str, int, float, bool)) else json.dumps(value)[:100])
        if isinstance(value, bool):
            self.types.add("boolean")
            self.numeric = False
            return
        number = value if isinstance(value, (int, float)) else _as_number(value)
        if number is None:
            self.numeric = False
            self.types.add(type(value).__name__)
            return
        self.integer = self.integer and float(number).is_integer()
        self.minimum = number if self.minimum is None else min(self.minimum, number)
        self.maximum = number if self.maximum is None else max(self.maximum, number)
        self.total += number

    def column(self, position: int) -> dict:
        values = self.count - self.nulls
        numeric = self.numeric and values > 0
        stats = {"count": self.count, "nulls": self.nulls}
        if numeric:
            stats.update(min=self.minimum, max=self.maximum, mean=self.total / values)
        original = ("integer" if self.integer else "float") if numeric else ("boolean" if self.types == {"boolean"} else "string")
        interpreted = "numerical" if numeric else ("boolean" if original == "boolean" else "text")
        return {
            "name": self.name[:255] or f"column_{position}", "position": position, "data_type_original": original,
            "data_type_interpreted": interpreted, "is_nullable": self.nulls > 0, "example_values": self.examples,
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
    return Report(summary={"format": kind, "rows": rows, "columns": len(columns)},
                  table={"format": kind, "row_count": rows, "columns": columns})


def profile_delimited(local_file: Path, delimiter: str, kind: str) -> Report:
    with open(local_file, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return _table(kind, 0, [])
        profiles = [ColumnProfile(name.strip()) for name in header]
        rows = 0
        for row in reader:
            if not row:
                continue
            rows += 1
            for profile, value in zip(profiles, row):
                profile.add(value)
            for profile in profiles[len(row):]:
                profile.add(None)
    _dedupe_names(profiles)
    return _table(kind, rows, profiles)


def _dedupe_names(profiles: list[ColumnProfile]) -> None:
    seen: dict[str, int] = {}
    for profile in profiles:
        seen[profile.name] = seen.get(profile.name, 0) + 1
        if seen[profile.name] > 1:
            profile.name = f"{profile.name}_{seen[profile.name]}"


def _jsonl_rows(local_file: Path):
    with open(local_file, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise Rejected(f"line {number} is not valid JSON: {exc.msg}") from None


def profile_records(local_file: Path, kind: str, records) -> Report:
    profiles: dict[str, ColumnProfile] = {}
    rows = 0
    for record in records:
        rows += 1
        if not isinstance(record, dict):
            continue
        for key, value in record.items():
            if key not in profiles:
                profiles[key] = ColumnProfile(str(key))
                profiles[key].count, profiles[key].nulls = rows - 1, rows - 1  # absent so far
            profiles[key].add(value)
        for key, profile in profiles.items():
            if key not in record:
                profile.add(None)
    return _table(kind, rows, list(profiles.values()))


def profile_json(local_file: Path) -> Report:
    if local_file.stat().st_size > settings.OMH_JSON_PROFILE_MAX_BYTES:
        return Report(summary={"format": "json", "profiled": False, "why": "too large to profile"})
    try:
        with open(local_file, encoding="utf-8") as handle:
            data = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected(f"not valid JSON: {exc}") from None
    if isinstance(data, list):
        return profile_records(local_file, "json", data)
    return Report(summary={"format": "json", "type": type(data).__name__})


def profile_parquet(local_file: Path) -> Report:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(local_file)
    except Exception as exc:  # pyarrow raises several kinds for corrupt files
        raise Rejected(f"not a readable Parquet file: {exc}") from None
    meta = parquet.metadata
    columns = []
    for i, column in enumerate(parquet.schema_arrow, start=1):
        stats: dict = {}
        nulls = 0
        for g in range(meta.num_row_groups):
            col = meta.row_group(g).column(i - 1)
            if col.statistics is not None and col.statistics.has_null_count:
                nulls += col.statistics.null_count
        stats["nulls"] = nulls
        type_name = str(column.type)
        interpreted = "numerical" if any(t in type_name for t in ("int", "float", "double", "decimal")) else (
            "boolean" if type_name == "bool" else "datetime" if "timestamp" in type_name or "date" in type_name else "text")
        columns.append({"name": column.name, "position": i, "data_type_original": type_name,
                        "data_type_interpreted": interpreted, "is_nullable": column.nullable, "example_values": [],
                        "stats": stats})
    return Report(summary={"format": "parquet", "rows": meta.num_rows, "columns": len(columns)},
                  table={"format": "parquet", "row_count": meta.num_rows, "columns": columns})

