"""Reading a Croissant document (JSON-LD, 1.0 or 1.1) into the project's dataset records.

Pure Python (no Django): the demo builder (fixtures/demo/croissant.py) and ``load_croissant``
(catalog.croissant.importing) share this one reading of distributions, record sets, fields, keys and
references. A ``cr:FileObject`` or ``cr:FileSet`` becomes a file record (its path: the content URL,
or the FileSet's ``includes`` pattern), a field that reads a column of a file becomes that file's
column, a ``references`` between columns of two files becomes a foreign-key relationship, and a file
``containedIn`` an archive a ``derived`` relationship to the archive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CONTEXT_EXTENSION = "omh"  # the JSON-LD prefix of the hub's own terms (ethics flags)
EXTENSION_IRI = "https://openmodelhub.org/ns/croissant#"
CONTAINED_IN = "Croissant containedIn"  # how a containment relationship's description starts
INLINE_ROLE, INLINE_SUFFIX = "inline_records", " (inline records)"  # a record set's data kept in the metadata

MIME_FORMAT = {
    "text/csv": "csv",
    "application/json": "json",
    "application/jsonlines": "jsonl",
    "application/x-parquet": "parquet",
    "application/zip": "zip",
    "application/x-tar": "tar",
    "image/jpeg": "jpeg",
    "audio/mpeg": "mp3",
    "text/tab-separated-values": "tsv",
    "git+https": "git",
    "text/plain": "arff",
}
CONTAINER_MIME = ("application/zip", "application/x-tar", "git+https")

# The Responsible-AI (rai:) texts and the dataset fields that hold them, both ways.
RAI_TEXT_FIELDS = {
    "dataBiases": "representativity_description",
    "dataLimitations": "data_errors_description",
    "dataCollection": "sources",
    "dataUseCases": "objective",
    "dataCollectionMissingData": "missing_values_description",
    "dataImputationProtocol": "missing_values_handling_method",
}


def norm(s) -> str:
    return re.sub(r"\s+", " ", str(s or "")).strip()


def clip(text: str, n: int) -> str:
    text = norm(text)
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def as_list(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def ref_id(x):
    if isinstance(x, dict):
        return x.get("@id")
    if isinstance(x, list) and x:
        return ref_id(x[0])
    return x


def interpret(dtypes, is_key, is_ref, enum, name):
    d = " ".join(dtypes).lower()
    if is_key or is_ref or re.search(r"(^|[_/])(id|uuid)$", name.lower()):
        return "identifier"
    if enum:
        return "categorical"
    if "integer" in d or "float" in d or "number" in d:
        return "numerical"
    if "boolean" in d:
        return "categorical"
    if "date" in d or "time" in d:
        return "datetime"
    if "imageobject" in d:
        return "image"
    if "audioobject" in d:
        return "audio"
    if "url" in d:
        return "url"
    if "text" in d:
        return "text"
    return "other"


def iter_fields(d):
    for rs in as_list(d.get("recordSet")):
        yield from as_list(rs.get("field"))


def text_value(value) -> str:
    """A text property: a string, a list of strings (joined), or a 1.1 language map (English first)."""
    if isinstance(value, dict) and "@id" not in value:
        value = value.get("en", next(iter(value.values()), ""))
    if isinstance(value, list):
        return "; ".join(text_value(v) for v in value)
    text = norm(value)
    return "" if text == "None" else text


KEYWORD_MEDIA = {"image": "image", "text": "text", "tabular": "tabular", "video": "video", "audio": "audio"}


def _format_media(fmt: str, tables: bool) -> str | None:
    if fmt.startswith("image/"):
        return "image"
    if fmt.startswith("audio/"):
        return "audio"
    if fmt in ("text/csv", "text/tab-separated-values") and tables:
        return "tabular"
    return None


def _data_type_media(dt: str) -> str | None:
    return {"sc:ImageObject": "image", "sc:AudioObject": "audio"}.get(dt)


def media_of(d: dict, *, tables: bool = True) -> list[str]:
    """Media from the encoding formats, keywords and field data types (``tables``: CSV/TSV are tabular)."""
    formats = [fmt for x in as_list(d.get("distribution")) for fmt in as_list(x.get("encodingFormat"))]
    found = [_format_media(str(fmt), tables) for fmt in formats]
    found += [KEYWORD_MEDIA.get(str(kw).lower()) for kw in as_list(d.get("keywords"))]
    found += [_data_type_media(dt) for fld in iter_fields(d) for dt in as_list(fld.get("dataType"))]
    media = {m for m in found if m}
    if not media:
        media.add("text" if any("sc:Text" in as_list(fl.get("dataType")) for fl in iter_fields(d)) else "other")
    return sorted(media)


def _file_description(x: dict, fid: str) -> str:
    if norm(x.get("description")):
        return clip(norm(x.get("description")), 500)
    kind = "FileSet" if x.get("@type") == "cr:FileSet" else "FileObject"
    inside = ""
    if x.get("containedIn"):
        inside = f" inside `{', '.join(ref_id(c) for c in as_list(x.get('containedIn')))}`"
    return clip(f"Croissant {kind} `{fid}`" + inside, 500)


def _croissant_file(x: dict, used_paths: set) -> tuple[str, dict]:
    """A distribution's file record (and its id); ``used_paths`` keeps the paths unique."""
    fid = x.get("@id") or x.get("name")
    if x.get("@type") == "cr:FileSet":
        path = ", ".join(as_list(x.get("includes"))) or fid
    else:
        path = norm(x.get("contentUrl")) or fid
    if path in used_paths:
        path = f"{path}#{fid}"
    used_paths.add(path)
    fmts = [f for f in as_list(x.get("encodingFormat")) if not str(f).startswith("http")]
    mime = fmts[0] if fmts else ""
    container = mime in CONTAINER_MIME
    rec = {
        "path": path,
        "logical_role": "repository" if mime == "git+https" else ("archive" if container else "data"),
        "format": MIME_FORMAT.get(mime, mime.split("/")[-1]),
        "mime_type": "" if mime == "git+https" else mime,
        "description": _file_description(x, fid),
        "columns": [],
    }
    size = re.fullmatch(r"\s*(\d+)\s*B\s*", str(x.get("contentSize") or ""))
    if size:
        rec["size_bytes"] = int(size.group(1))
    return fid, rec


def _field_id(fld: dict) -> str:
    return fld.get("@id") or fld.get("name")


def _reference_target(ref) -> str | None:
    return ref_id(ref.get("field") if isinstance(ref, dict) else ref)


class _Columns:
    """The columns of a document's files, read from its record sets' fields."""

    def __init__(self, d: dict, files: list[dict], by_id: dict[str, dict]):
        self.files = files
        self.by_id = by_id
        self.record_sets = as_list(d.get("recordSet"))
        self.field_loc: dict[str, tuple[str, str]] = {}  # field @id -> (file path, column name)
        self.rs_summary: list[str] = []
        self.col_count = 0
        self.referenced = {
            _reference_target(ref)
            for rs in self.record_sets
            for fld in as_list(rs.get("field"))
            for ref in as_list(fld.get("references"))
        }

    def read(self) -> None:
        for rs in self.record_sets:
            rs_id = rs.get("@id") or rs.get("name")
            keys = {ref_id(k) for k in as_list(rs.get("key"))}
            keys |= {f"{rs_id}/{k}" for k in list(keys) if k and "/" not in k}
            enum = rs.get("dataType") == "sc:Enumeration" or "enumerations/" in str(rs_id)
            fields = as_list(rs.get("field"))
            self.rs_summary.append(f"{rs_id} ({len(fields)} field{'s' if len(fields) != 1 else ''})")
            for fld in fields:
                self.add(rs, rs_id, fld, keys, enum)

    def add(self, rs: dict, rs_id: str, fld: dict, keys: set, enum: bool) -> None:
        fid = _field_id(fld)
        located = self.locate(rs, rs_id, fld, fid)
        if located is None:
            return  # derived from other fields (joins) - not a file column
        frec, col = located
        if not any(c["name"] == col for c in frec["columns"]):
            frec["columns"].append(self.column(fld, fid, col, keys, enum, as_list(rs.get("data"))))
            self.col_count += 1
        self.field_loc[fid] = (frec["path"], col)

    def locate(self, rs: dict, rs_id: str, fld: dict, fid: str) -> tuple[dict, str] | None:
        """The file record and column name a field reads, or None for a derived field."""
        src = fld.get("source") or {}
        target = ref_id(src.get("fileObject")) or ref_id(src.get("fileSet"))
        ext = src.get("extract") or {}
        if target in self.by_id:
            col = (
                ext.get("column")
                or (re.sub(r"^\$\[\*\]\.?", "", ext.get("jsonPath")) if ext.get("jsonPath") else None)
                or ext.get("fileProperty")
                or fid.split("/")[-1]
            )
            return self.by_id[target], col
        inline = as_list(rs.get("data"))
        if inline and not src:
            return self.inline_file(rs, rs_id, inline), fid.split("/")[-1]
        return None

    def inline_file(self, rs: dict, rs_id: str, inline: list) -> dict:
        """The pseudo-file of records embedded in the metadata, added once per record set."""
        vpath = f"{rs_id}{INLINE_SUFFIX}"
        if vpath not in self.by_id:
            self.by_id[vpath] = {
                "path": vpath,
                "logical_role": INLINE_ROLE,
                "format": "json",
                "mime_type": "application/json",
                "row_count": len(inline),
                "description": clip(
                    f"Records embedded in the Croissant metadata (record set `{rs_id}`). "
                    + norm(rs.get("description")),
                    500,
                ),
                "columns": [],
            }
            self.files.append(self.by_id[vpath])
        return self.by_id[vpath]

    def column(self, fld: dict, fid: str, col: str, keys: set, enum: bool, inline: list) -> dict:
        dtypes = [str(t) for t in as_list(fld.get("dataType"))]
        examples = [clip(str(row[fid]), 80) for row in inline[:3] if isinstance(row, dict) and fid in row]
        return {
            "name": col,
            "data_type_original": ", ".join(dtypes),
            "data_type_interpreted": interpret(
                dtypes, fid in keys, fid in self.referenced or bool(fld.get("references")), enum, col
            ),
            "description": clip(norm(fld.get("description")), 500),
            "is_primary_key_component": fid in keys,
            "example_values": examples,
            "stats": {},
        }

    def relationships(self) -> list[dict]:
        """Foreign keys between columns of different files, once each."""
        relationships = []
        seen = set()
        for fld in (fld for rs in self.record_sets for fld in as_list(rs.get("field"))):
            fid = _field_id(fld)
            for ref in as_list(fld.get("references")):
                target = _reference_target(ref)
                link = self.link(fid, target)
                if link is None or link in seen:
                    continue
                seen.add(link)
                ff, tf, fc, tc = link
                relationships.append(
                    {
                        "from_file": ff,
                        "to_file": tf,
                        "relationship_type": "foreign_key",
                        "description": f"Croissant field `{fid}` references `{target}`",
                        "column_links": [{"from_column": fc, "to_column": tc}],
                    }
                )
        return relationships

    def link(self, fid: str, target: str | None) -> tuple[str, str, str, str] | None:
        """(from file, to file, from column, to column) when both fields are columns of different files."""
        if fid not in self.field_loc or target not in self.field_loc:
            return None
        (ff, fc), (tf, tc) = self.field_loc[fid], self.field_loc[target]
        return None if ff == tf else (ff, tf, fc, tc)


@dataclass
class ParsedFiles:
    files: list[dict]
    relationships: list[dict]  # foreign keys between columns
    containment: list[dict] = field(default_factory=list)  # a file -> the archive it is contained in
    col_count: int = 0
    rs_summary: str = ""


def parse_files(d: dict) -> ParsedFiles:
    by_id: dict[str, dict] = {}
    files: list[dict] = []
    used_paths: set = set()
    distribution = as_list(d.get("distribution"))
    for x in distribution:
        fid, rec = _croissant_file(x, used_paths)
        by_id[fid] = rec
        files.append(rec)
    columns = _Columns(d, files, by_id)
    columns.read()
    relationships = columns.relationships()
    for f in files:
        if not f["columns"]:
            del f["columns"]
    containment = []
    for x in distribution:
        fid = x.get("@id") or x.get("name")
        for container in as_list(x.get("containedIn")):
            target = by_id.get(ref_id(container))
            if target is not None and target is not by_id[fid]:
                containment.append(
                    {
                        "from_file": by_id[fid]["path"],
                        "to_file": target["path"],
                        "relationship_type": "derived",
                        "description": f"{CONTAINED_IN} `{ref_id(container)}`",
                    }
                )
    return ParsedFiles(files, relationships, containment, columns.col_count, ", ".join(columns.rs_summary))


def croissant_files(d):
    """(files, foreign-key relationships, column count, record-set summary), as the demo builder reads them."""
    parsed = parse_files(d)
    return parsed.files, parsed.relationships, parsed.col_count, parsed.rs_summary
