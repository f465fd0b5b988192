"""Tabular profiling of dataset files, streamed with pyarrow: CSV, TSV, JSON Lines and Parquet.

The file is read in record batches (pyarrow's multi-threaded CSV and JSON readers, Parquet row groups),
so memory stays flat whatever the file's size. Per column: the Arrow type (booleans and timestamps
included), count and nulls, min/max/mean for numbers (min/max for times), a distinct-count estimate
(a k-minimum-values sketch: exact below ``DISTINCT_K`` distinct values, about 2 % off above), a
MinHash sketch of its values (``ValueSketch``: what union/join search in ``catalog.discovery.data`` compares),
up to five examples and a PII guess from the column's name and a sample of its values (e-mail, phone,
IBAN, IP address) that sets the column's PII flag for the curator to confirm. ``apply_profile`` fills
the dataset's own summary (instances, features, missing values) where the curator left it empty.

Checks kept from the hand-written profiler it replaces: every loop calls ``inspection.tick`` (the
``OMH_INSPECTION_SECONDS`` budget), fields past ``FIELD_LIMIT`` characters, NUL characters and numbers
too large for a double are refused, at most ``MAX_COLUMNS`` columns. A JSON Lines file whose rows
change a field's type (which Arrow's reader refuses) is profiled by the record profiler in
``catalog.inspection`` instead.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from catalog import inspection
from catalog.inspection import Rejected, Report, tick

STREAMED_KINDS = {"csv", "tsv", "jsonl", "parquet"}
BLOCK_SIZE = 2 << 20  # bytes of text per CSV/JSON batch (a row must fit in one); 8 MiB took 50 % more memory
FIELD_LIMIT = 131072  # characters in one field, as Python's csv module allowed (csv.field_size_limit())
MAX_COLUMNS = inspection.MAX_COLUMNS
MAX_EXAMPLES = inspection.MAX_EXAMPLES
MAX_EXAMPLE_CHARS = inspection.MAX_EXAMPLE_CHARS
DISTINCT_K = 2048  # sketch size of the distinct estimate
PII_SAMPLE = 200  # non-null values per column looked at for the PII guess
PII_SHARE = 0.6  # share of the sample that must look like one kind of PII

# --- PII guess ----------------------------------------------------------------------------------

_PII_NAMES = [
    ("email", re.compile(r"(^|_)(e_?mail|mail|email_address)(_|$)")),
    ("phone", re.compile(r"(^|_)(phone|telephone|tel|mobile|cell|fax|msisdn)(_|$)")),
    ("iban", re.compile(r"(^|_)(iban|bank_account)(_|$)")),
    ("ip", re.compile(r"(^|_)(ip|ipv4|ipv6|ip_address|ip_addr|client_ip|remote_addr)(_|$)")),
]
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[A-Za-z]{2,63}")
_PHONE = re.compile(r"\+?[0-9 ().\-/]{7,24}")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def normal_name(name: str) -> str:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)  # camelCase -> camel_case
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def _is_phone(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    return bool(_PHONE.fullmatch(text)) and 7 <= digits <= 15 and (text.startswith("+") or not text.isdigit())


def _is_iban(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not _IBAN.fullmatch(compact):
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1  # ISO 13616 check digits


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


_PII_VALUES = [("email", _EMAIL.fullmatch), ("iban", _is_iban), ("ip", _is_ip), ("phone", _is_phone)]


def guess_pii(name: str, sample: list[str]) -> dict | None:
    """{"kind", "evidence", "share"} when the column looks like e-mail addresses, phone numbers, IBANs or
    IP addresses by its values (at least PII_SHARE of the sample) or, failing values, by its name."""
    values = [v.strip() for v in sample if isinstance(v, str) and v.strip()]
    if len(values) >= 3:
        for kind, check in _PII_VALUES:
            share = sum(1 for v in values if check(v)) / len(values)
            if share >= PII_SHARE:
                return {"kind": kind, "evidence": "values", "share": round(share, 3)}
    normal = normal_name(name)
    for kind, pattern in _PII_NAMES:
        if pattern.search(normal):
            return {"kind": kind, "evidence": "name", "share": None}
    return None


# --- distinct estimate --------------------------------------------------------------------------


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads any 64-bit input over all 64 bits."""
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint64(30))
        h = h * np.uint64(0xBF58476D1CE4E5B9)
        h = h ^ (h >> np.uint64(27))
        h = h * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def _hash_strings(array: pa.Array) -> np.ndarray:
    """64-bit hashes of the (distinct, non-null) values of a string or binary array: XXH3 of the bytes,
    the same in every process (value sketches of different files are compared), and faster than
    Python's own hash of the strings."""
    if pa.types.is_string(array.type):
        array = array.cast(pa.binary())
    elif pa.types.is_large_string(array.type):
        array = array.cast(pa.large_binary())
    return np.fromiter(map(xxhash.xxh3_64_intdigest, array.to_pylist()), dtype=np.uint64, count=len(array))


def _hash_values(array: pa.Array) -> np.ndarray | None:
    """64-bit hashes of the values of a non-null array; None for types without a distinct count."""
    try:
        return _hash_typed(array)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, TypeError, ValueError):
        return None  # e.g. intervals: no distinct count rather than no profile


def _hash_typed(array: pa.Array) -> np.ndarray | None:
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind):
        return _hash_strings(array)
    if pa.types.is_large_binary(kind):
        return _hash_strings(array)
    if pa.types.is_boolean(kind):
        return _mix(np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.uint64) + np.uint64(7))
    if pa.types.is_floating(kind):
        values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
        return _mix((values + 0.0).view(np.uint64))  # + 0.0 makes -0.0 and 0.0 one value
    if pa.types.is_integer(kind) or pa.types.is_temporal(kind):
        if pa.types.is_temporal(kind):
            array = array.cast(pa.int64()) if kind.bit_width == 64 else array.cast(pa.int32()).cast(pa.int64())
        return _mix(np.asarray(array.to_numpy(zero_copy_only=False)).astype(np.int64).view(np.uint64))
    return _hash_strings(pc.cast(array, pa.string())) if pa.types.is_decimal(kind) else None


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy 2's hash-based np.unique is ~15x slower on 64-bit hashes)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


class DistinctSketch:
    """The DISTINCT_K smallest distinct hashes seen (k minimum values): exact while fewer values were
    seen, else (k - 1) / (k-th smallest hash / 2**64) estimates the number of distinct values."""

    def __init__(self):
        self.smallest = np.zeros(0, dtype=np.uint64)
        self.usable = True

    def add(self, hashes: np.ndarray | None) -> None:
        """Take the hashes of a batch of values (duplicates allowed)."""
        if hashes is None:
            self.usable = False
        if not self.usable or len(hashes) == 0:
            return
        if len(self.smallest) == DISTINCT_K:
            hashes = hashes[hashes < self.smallest[-1]]  # once full, most of a batch stops here
        if len(hashes) > 2 * DISTINCT_K:
            hashes = _sorted_unique(hashes)
            if len(hashes) > 2 * DISTINCT_K:  # distinct now: only the smallest can stay
                hashes = np.partition(hashes, DISTINCT_K)[: DISTINCT_K + 1]
        self.smallest = _sorted_unique(np.concatenate([self.smallest, hashes]))[:DISTINCT_K]

    def result(self) -> dict | None:
        if not self.usable:
            return None
        if len(self.smallest) < DISTINCT_K:
            return {"distinct": int(len(self.smallest)), "distinct_exact": True}
        estimate = (DISTINCT_K - 1) / (float(self.smallest[-1]) / 2.0**64)
        return {"distinct": int(round(estimate)), "distinct_exact": False}


VALUE_SKETCH_BINS = 128  # one-permutation MinHash: the smallest hash in each of 128 ranges of the hash space
_BIN_SHIFT = np.uint64(64 - 7)  # the top 7 bits of a hash choose its bin
_EMPTY_BIN = np.uint32(0xFFFFFFFF)


class ValueSketch:
    """A one-permutation MinHash of a column's distinct values (Li, Owen and Zhang 2012): the hash space is
    cut into VALUE_SKETCH_BINS ranges and each keeps its smallest hash. Two columns' sketches estimate the
    Jaccard similarity of their value sets (``catalog.discovery.data.SketchMatrix``); kept as 32 bits per bin (the
    bits after the bin number), 512 bytes a column."""

    def __init__(self):
        self.minimum = np.full(VALUE_SKETCH_BINS, np.iinfo(np.uint64).max, dtype=np.uint64)

    def add(self, hashes: np.ndarray) -> None:
        if len(hashes):
            np.minimum.at(self.minimum, (hashes >> _BIN_SHIFT).astype(np.intp), hashes)

    def to_bytes(self) -> bytes | None:
        """The stored form (little-endian uint32 per bin, 0xFFFFFFFF for an empty one); None when empty."""
        empty = self.minimum == np.iinfo(np.uint64).max
        if empty.all():
            return None
        kept = ((self.minimum << np.uint64(7)) >> np.uint64(32)).astype(np.uint32)
        kept[kept == _EMPTY_BIN] = _EMPTY_BIN - np.uint32(1)  # a real value never reads as an empty bin
        kept[empty] = _EMPTY_BIN
        return kept.astype("<u4").tobytes()


# --- per-column accumulation --------------------------------------------------------------------


def _plain(value):
    """A JSON-storable form of one Arrow value (examples, min, max)."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value[:MAX_EXAMPLE_CHARS].hex()
    if isinstance(value, str):
        return value[:MAX_EXAMPLE_CHARS]
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return inspection.json.dumps(value, default=str)[:100]


def interpreted_type(kind: pa.DataType) -> str:
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "numerical"
    if pa.types.is_temporal(kind):
        return "datetime"
    return "text"


@dataclass
class _Column:
    name: str
    kind: pa.DataType
    count: int = 0
    nulls: int = 0
    minimum: object = None
    maximum: object = None
    total: float = 0.0
    examples: list = field(default_factory=list)
    sample: list = field(default_factory=list)
    sketch: DistinctSketch = field(default_factory=DistinctSketch)
    values: ValueSketch = field(default_factory=ValueSketch)
    mostly_distinct: bool | None = None

    def add(self, array: pa.Array, format_name: str) -> None:
        self.count += len(array)
        self.nulls += array.null_count
        if array.null_count == len(array):
            return
        kind = array.type
        textual = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        if textual:
            self._check_text(array, format_name)
        if pa.types.is_floating(kind) and pc.any(pc.is_inf(array)).as_py():
            raise Rejected(self._infinite(format_name))
        self._extremes(array)
        values = array.drop_null()
        if pa.types.is_nested(kind) or pa.types.is_dictionary(kind):
            self.sketch.usable = False  # no distinct count for structs, lists and maps; examples only
        else:
            self._sketch(values)
        if len(self.examples) < MAX_EXAMPLES:
            for value in values.slice(0, 64).to_pylist():
                example = _plain(value)
                if example not in self.examples and len(self.examples) < MAX_EXAMPLES:
                    self.examples.append(example)
        if textual and len(self.sample) < PII_SAMPLE:
            self.sample.extend(array.drop_null().slice(0, PII_SAMPLE - len(self.sample)).to_pylist())

    def _extremes(self, array: pa.Array) -> None:
        """min and max of numbers, times and booleans; the sum of numbers (for the mean)."""
        kind = array.type
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        if numeric or pa.types.is_temporal(kind) or pa.types.is_boolean(kind):
            extremes = pc.min_max(array)
            self._extend(extremes["min"].as_py(), extremes["max"].as_py())
        if numeric:
            self.total += pc.sum(pc.cast(array, pa.float64())).as_py() or 0.0

    def _sketch(self, values: pa.Array) -> None:
        """Hash a batch into the distinct sketch: a column of few values through Arrow's unique values
        first, one of mostly distinct values (ids, names, e-mail addresses) directly, as its first
        batch showed."""
        if self.mostly_distinct:
            self._add_hashes(_hash_values(values))
            return
        unique = pc.unique(values)
        self._add_hashes(_hash_values(unique))
        if self.mostly_distinct is None and len(values) >= 1024:
            self.mostly_distinct = len(unique) > len(values) // 2

    def _add_hashes(self, hashes: np.ndarray | None) -> None:
        if hashes is not None and self.sketch.usable:
            self.values.add(hashes)
        self.sketch.add(hashes)

    def _check_text(self, array: pa.Array, format_name: str) -> None:
        if (pc.max(pc.binary_length(array)).as_py() or 0) <= FIELD_LIMIT:  # bytes: at least the characters
            longest = 0
        else:
            longest = pc.max(pc.utf8_length(array)).as_py() or 0
        if longest > FIELD_LIMIT:
            raise Rejected(f"column {self.name[:100]!r} has a field larger than field limit ({FIELD_LIMIT} characters)")
        # CSV and TSV are text without NUL bytes (inspection.check_text); JSON escapes and Parquet can hold one.
        if format_name not in ("csv", "tsv") and pc.any(pc.match_substring(array, "\x00")).as_py():
            raise Rejected(f"column {self.name[:100]!r} holds a NUL character")

    def _infinite(self, format_name: str) -> str:
        what = f"column {self.name[:100]!r} holds a number too large to profile (it overflows a double)"
        return f"the file is not valid JSON for profiling: {what}" if format_name == "jsonl" else what

    def _extend(self, low, high) -> None:
        self.minimum = low if self.minimum is None else min(self.minimum, low)
        self.maximum = high if self.maximum is None else max(self.maximum, high)

    def column(self, position: int) -> dict:
        values = self.count - self.nulls
        stats: dict = {"count": self.count, "nulls": self.nulls}
        if self.minimum is not None:
            stats.update(min=_plain(self.minimum), max=_plain(self.maximum))
        if interpreted_type(self.kind) == "numerical" and values:
            stats["mean"] = self.total / values
        if distinct := self.sketch.result():
            stats.update(distinct)
        pii = guess_pii(self.name, self.sample)
        if pii:
            stats["pii_guess"] = pii
        return {
            "name": self.name[:255] or f"column_{position}",
            "position": position,
            "data_type_original": str(self.kind)[:100],
            "data_type_interpreted": interpreted_type(self.kind),
            "is_nullable": self.nulls > 0,
            "is_pii": pii is not None,
            "example_values": self.examples,
            "stats": stats,
            "value_sketch": self.values.to_bytes() if self.sketch.usable else None,
        }


# --- readers ------------------------------------------------------------------------------------


class _RetryWithTypes(Exception):
    def __init__(self, column: str):
        self.column = column


def _csv_batches(local_file: Path, delimiter: str, as_text: set[str], counter: list[int]):
    import pyarrow.csv as pcsv

    def invalid_row(row) -> str:
        counter[0] += 1
        return "skip"  # a row with too few or too many cells is counted and left out

    reader = pcsv.open_csv(
        local_file,
        read_options=pcsv.ReadOptions(block_size=BLOCK_SIZE),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=invalid_row),
        convert_options=pcsv.ConvertOptions(
            strings_can_be_null=True, column_types={name: pa.string() for name in as_text}
        ),
    )
    return reader


_CONVERSION = re.compile(r"In CSV column #(\d+): .*CSV conversion error")


def _stream(local_file: Path, kind: str, as_text: set[str], invalid: list[int]):
    """(schema, iterator of record batches) for the file."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            # Column chunks read through a 1 MiB buffer: pre-buffering whole row groups made the resident
            # set grow with the file (bench/README.md, "Profiling").
            parquet = pq.ParquetFile(local_file, pre_buffer=False, buffer_size=1 << 20)
        except Exception as exc:  # pyarrow raises several kinds for corrupt files
            raise Rejected(f"not a readable Parquet file: {exc}") from None
        if len(parquet.schema_arrow) > MAX_COLUMNS:
            raise Rejected(f"the file has more than {MAX_COLUMNS} columns")
        return parquet.schema_arrow, parquet.iter_batches(batch_size=65536), parquet.metadata.num_rows
    if kind == "jsonl":
        import pyarrow.json as pj

        reader = pj.open_json(local_file, read_options=pj.ReadOptions(block_size=BLOCK_SIZE))
        return reader.schema, reader, None
    reader = _csv_batches(local_file, "\t" if kind == "tsv" else ",", as_text, invalid)
    return reader.schema, reader, None


def profile(local_file: Path, kind: str) -> Report:
    """A Report with the table profile of a CSV, TSV, JSON Lines or Parquet file, or Rejected."""
    as_text: set[str] = set()
    while True:
        try:
            return _profile(local_file, kind, as_text)
        except _RetryWithTypes as retry:
            # Arrow infers a CSV column's type from the first block; a later value that does not fit
            # (a word in a column of numbers) means the column is text: profile again with it as text.
            as_text.add(retry.column)
        except pa.ArrowInvalid as exc:
            if kind == "jsonl" and "changed from" in str(exc):
                return inspection.profile_records(local_file, kind, inspection.jsonl_rows(local_file))
            where = "not valid JSON" if kind == "jsonl" else "not a readable table"
            raise Rejected(f"the file is {where}: {str(exc)[:300]}") from None


def _profile(local_file: Path, kind: str, as_text: set[str]) -> Report:
    invalid = [0]
    try:
        schema, batches, _rows = _stream(local_file, kind, as_text, invalid)
    except pa.ArrowInvalid as exc:
        if kind in ("csv", "tsv") and "Empty CSV file" in str(exc):
            return _report(kind, 0, [], 0)
        raise
    if len(schema) > MAX_COLUMNS:
        raise Rejected(f"the file has {len(schema)} columns; at most {MAX_COLUMNS} are profiled")
    columns = [
        _Column(name.strip() if kind in ("csv", "tsv") else name, schema.field(name).type) for name in schema.names
    ]
    _dedupe(columns)
    rows = read = 0
    iterator = iter(batches)
    while True:
        tick()
        try:
            batch = next(iterator)
        except StopIteration:
            break
        except pa.ArrowInvalid as exc:
            match = _CONVERSION.search(str(exc))
            if match and kind in ("csv", "tsv"):
                raise _RetryWithTypes(schema.names[int(match.group(1))]) from None
            raise
        rows += batch.num_rows
        read += 1
        if read % 16 == 0:  # hand freed batches back to the system: the resident set stays flat
            pa.default_memory_pool().release_unused()
        if batch.schema != schema and kind == "jsonl":  # a field first seen in a later block
            raise pa.ArrowInvalid("JSON parse error: a field changed from absent to present (new column)")
        for column, array in zip(columns, batch.columns, strict=True):
            column.add(array, kind)
    return _report(kind, rows, columns, invalid[0])


def _dedupe(columns: list[_Column]) -> None:
    seen: dict[str, int] = {}
    for column in columns:
        seen[column.name] = seen.get(column.name, 0) + 1
        if seen[column.name] > 1:
            column.name = f"{column.name}_{seen[column.name]}"


def _report(kind: str, rows: int, columns: list[_Column], skipped: int) -> Report:
    described = [column.column(i) for i, column in enumerate(columns, start=1)]
    summary = {"format": kind, "rows": rows, "columns": len(described)}
    if skipped:
        summary["rows_skipped"] = skipped  # rows whose number of cells differs from the header's
    if pii := [c["name"] for c in described if c["is_pii"]]:
        summary["pii_columns"] = pii[:50]
    return Report(summary=summary, table={"format": kind, "row_count": rows, "columns": described})


# --- the dataset's own summary ------------------------------------------------------------------


def _aggregate(files) -> dict:
    """instances, features and missing values over the profiled files of a dataset."""
    instances = features = 0
    missing = False
    profiled = False
    for dataset_file in files:
        if dataset_file.row_count is None:
            continue
        columns = list(dataset_file.columns.all())
        if not columns:
            continue
        profiled = True
        instances += dataset_file.row_count
        features = max(features, len(columns))
        missing = missing or any((c.stats or {}).get("nulls") for c in columns)
    if not profiled:
        return {}
    return {"instances_number": instances, "features_number": features, "has_missing_values": missing}


def apply_profile(dataset, dataset_file, report: Report) -> list[str]:
    """Fill the dataset's instance count, feature count and missing-values flag from the profiles of its
    files, where the curator left them empty (or they still hold what the profiles gave before this
    file). Call after the file's DatasetFile and columns are written, inside the same transaction.
    Returns the names of the fields it set."""
    from catalog.models import Dataset

    if report.table is None:
        return []
    others = dataset.files.exclude(pk=dataset_file.pk).prefetch_related("columns")
    before = _aggregate(others)
    after = _aggregate(dataset.files.prefetch_related("columns"))
    current = Dataset.objects.select_for_update().filter(pk=dataset.pk).values(*after).first()
    if current is None:
        return []
    changed = {
        name: value
        for name, value in after.items()
        if current[name] is None or (name in before and current[name] == before[name] and value != current[name])
    }
    if changed:
        Dataset.objects.filter(pk=dataset.pk).update(**changed)
        for name, value in changed.items():
            setattr(dataset, name, value)
    return sorted(changed)
