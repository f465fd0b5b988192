"""A dataset as a Croissant 1.1 document (JSON-LD), with the Responsible-AI (RAI 1.0) texts.

- the dataset's files -> ``cr:FileObject`` (a file the hub stores: its download URL, SHA-256 and
  size at the head of ``main``; a file described by metadata only: its recorded location) or
  ``cr:FileSet`` (a path that is a glob pattern); ``containedIn`` from containment relationships;
- each file's columns -> one ``cr:RecordSet`` of ``cr:Field``\\ s (types as Croissant data types,
  primary-key columns as the record set's ``key``), foreign keys -> ``references``;
- the ethics texts -> ``rai:`` properties, the ethics flags and other EXAI fields without a
  Croissant term -> ``omh:`` properties (the hub's namespace), so an import restores them.

Callers pass a dataset the requester may see (``Dataset.objects.named``); nothing here checks access.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from django.db.models import Prefetch
from django.urls import reverse

from catalog import revisions
from catalog.croissant.parsing import (
    CONTAINED_IN,
    CONTEXT_EXTENSION,
    EXTENSION_IRI,
    INLINE_ROLE,
    INLINE_SUFFIX,
    MIME_FORMAT,
    RAI_TEXT_FIELDS,
)
from catalog.models import Dataset, DatasetFile, DatasetRelationship, FileColumn

CROISSANT_1_1 = "http://mlcommons.org/croissant/1.1"
RAI_1_0 = "http://mlcommons.org/croissant/RAI/1.0"
CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "wd": "https://www.wikidata.org/wiki/",  # semantic types such as wd:Q3985153 (the examples use them)
    CONTEXT_EXTENSION: EXTENSION_IRI,
}

# EXAI fields with no Croissant or RAI term: written as omh:<camelCase> and read back by the importer.
EXTENSION_FIELDS = tuple(
    f
    for f in (*Dataset.IDENTIFICATION_FIELDS, *Dataset.TECHNICAL_FIELDS, *Dataset.ETHICS_FLAGS)
    if f not in RAI_TEXT_FIELDS.values()
)
CITATION_HEADING = "## Citation"
GLOB = re.compile(r"[*?\[]")
CURIE = re.compile(r"^(sc|cr|wd|https?):\S+$")  # a type written as a Croissant, schema.org, Wikidata or full IRI

# Croissant data types for the hub's column types: the recorded type when it is already a Croissant
# or schema.org type, else from the profiler's type name, else from the interpreted kind.
TYPE_PATTERNS = [
    (re.compile(r"^(u?int|integer|long|short)"), "sc:Integer"),
    (re.compile(r"^(float|double|decimal|number|halffloat)"), "sc:Float"),
    (re.compile(r"^bool"), "sc:Boolean"),
    (re.compile(r"^(timestamp|datetime)"), "sc:DateTime"),
    (re.compile(r"^date"), "sc:Date"),
    (re.compile(r"^(string|large_string|utf8|text|str)"), "sc:Text"),
]
INTERPRETED_TYPES = {
    "numerical": "sc:Float",
    "boolean": "sc:Boolean",
    "datetime": "sc:DateTime",
    "image": "sc:ImageObject",
    "audio": "sc:AudioObject",
    "url": "sc:URL",
}


def node_id(text: str) -> str:
    """A JSON-LD @id for a path or name: Croissant tools refuse whitespace in ids, even escaped."""
    return re.sub(r"\s", "_", text)


def record_set_id(dfile: DatasetFile) -> str:
    """A file's record set: ``PATH#records``; inline records keep their record set's own id."""
    if dfile.logical_role == INLINE_ROLE:
        return node_id(dfile.path.removesuffix(INLINE_SUFFIX))
    return node_id(f"{dfile.path}#records")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def data_types(column: FileColumn) -> list[str]:
    recorded = [t.strip() for t in column.data_type_original.split(",") if t.strip()]
    if recorded and all(CURIE.match(t) for t in recorded):
        return recorded
    original = column.data_type_original.strip().lower()
    for pattern, croissant_type in TYPE_PATTERNS:
        if pattern.match(original):
            return [croissant_type]
    return [INTERPRETED_TYPES.get(column.data_type_interpreted, "sc:Text")]


def split_card(card: str) -> tuple[str, str]:
    """(description, citation): a trailing "## Citation" section with a fenced block is the citeAs."""
    head, sep, tail = card.rpartition(CITATION_HEADING)
    match = re.fullmatch(r"\s*```[^\n]*\n(.*?)\n```\s*", tail, re.S) if sep else None
    if match is None:
        return card.strip(), ""
    return head.strip(), match.group(1).strip()


class _Exporter:
    def __init__(self, dataset: Dataset, base_url: str):
        self.dataset = dataset
        self.base_url = base_url.rstrip("/")
        self.files = list(
            DatasetFile.objects.filter(dataset=dataset)
            .order_by("path")
            .prefetch_related(Prefetch("columns", queryset=FileColumn.objects.order_by("position")))
        )
        self.stored = revisions.files_at(revisions.head(dataset))  # path -> the version at the head of main
        self.relationships = list(
            DatasetRelationship.objects.filter(dataset=dataset)
            .select_related("from_file", "to_file")
            .prefetch_related("column_links__from_column", "column_links__to_column__dataset_file")
        )
        self.containers = {
            r.from_file.path: r.to_file.path
            for r in self.relationships
            if r.relationship_type == DatasetRelationship.Type.DERIVED and r.description.startswith(CONTAINED_IN)
        }

    def absolute(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def download_url(self, path: str) -> str:
        owner, name = self.dataset.owner.username, self.dataset.name
        url = reverse("api:datasets-file-download", kwargs={"owner": owner, "name": name, "path": "P"})
        return self.absolute(url[:-1] + quote(path))

    # --- the document ---------------------------------------------------------------------------

    def document(self) -> dict:
        d = self.dataset
        description, citation = split_card(d.card)
        doc = {
            "@context": CONTEXT,
            "@type": "sc:Dataset",
            "conformsTo": [CROISSANT_1_1, RAI_1_0],
            "name": d.name,
            "description": description or d.name,
            "url": self.absolute(d.get_absolute_url()),
            "creator": [{"@type": "sc:Person", "name": u.username} for u in [d.owner, *d.authors.all()]],
            "dateModified": d.updated_at.date().isoformat(),
            "datePublished": d.created_at.date().isoformat(),
            "keywords": sorted({m.slug for m in d.media.all()} | {t.slug for t in d.tasks.all()}),
        }
        if d.year:
            doc["temporalCoverage"] = str(d.year)
        if citation:
            doc["citeAs"] = citation
        licence = self.licence()
        if licence:
            doc["license"] = licence
        doc.update(self.responsible_ai())
        doc["distribution"] = [self.file_node(path, dfile) for path, dfile in self.all_files()]
        doc["recordSet"] = [rs for dfile in self.files if dfile.columns.all() for rs in [self.record_set(dfile)]]
        return doc

    def licence(self) -> str:
        d = self.dataset
        if d.license_declared:
            return d.license_declared
        if d.license is None:
            return ""
        if d.license.url:
            return d.license.url
        return f"https://spdx.org/licenses/{d.license.spdx_id}.html" if d.license.spdx_id else d.license.name

    def responsible_ai(self) -> dict:
        d = self.dataset
        out = {f"rai:{term}": getattr(d, attr) for term, attr in RAI_TEXT_FIELDS.items() if getattr(d, attr)}
        sensitive = self.personal_data_statement()
        if sensitive:
            out["rai:personalSensitiveInformation"] = sensitive
        for attr in EXTENSION_FIELDS:
            value = getattr(d, attr)
            if value is not None and value != "":
                out[f"{CONTEXT_EXTENSION}:{camel(attr)}"] = value
        return out

    def personal_data_statement(self) -> str:
        pii = [f"{f.path}: {c.name}" for f in self.files for c in f.columns.all() if c.is_pii]
        parts = []
        if pii:
            parts.append("Columns flagged as personal data: " + ", ".join(pii) + ".")
        anonymised = self.dataset.anonymization_applied
        if anonymised is not None:
            parts.append("Anonymisation applied." if anonymised else "No anonymisation applied.")
        return " ".join(parts)

    # --- files ----------------------------------------------------------------------------------

    def all_files(self) -> list[tuple[str, DatasetFile | None]]:
        """The described files, then the stored files no description names."""
        described = [(f.path, f) for f in self.files if f.logical_role != INLINE_ROLE]  # those are record sets
        names = {f.path for f in self.files}
        return described + [(path, None) for path in self.stored if path not in names]

    def file_node(self, path: str, dfile: DatasetFile | None) -> dict:
        version = self.stored.get(path)
        mime = (dfile.mime_type if dfile else "") or (version.content_type if version else "")
        if not mime and dfile and dfile.format:
            mime = next((m for m, f in MIME_FORMAT.items() if f == dfile.format), "")
        node = {"@id": node_id(path), "name": path.rsplit("/", 1)[-1] or path}
        if dfile and dfile.description:
            node["description"] = dfile.description
        if version is None and GLOB.search(path):
            node.update({"@type": "cr:FileSet", "includes": path.split(", ")})
        else:
            node["@type"] = "cr:FileObject"
            node.update(self.location(path, version, dfile))
        node["encodingFormat"] = mime or "application/octet-stream"
        if path in self.containers:
            node["containedIn"] = {"@id": node_id(self.containers[path])}
        return node

    def location(self, path: str, version, dfile: DatasetFile | None) -> dict:
        if version is not None:  # stored by the hub: its download URL and the checksum of what it serves
            return {"contentUrl": self.download_url(path), "sha256": version.sha256, "contentSize": f"{version.size} B"}
        where = {"contentUrl": path if "://" in path or path in self.containers else self.download_url(path)}
        if dfile and dfile.size_bytes is not None:
            where["contentSize"] = f"{dfile.size_bytes} B"
        for key in ("sha256", "md5"):  # as the metadata gave them
            if dfile and getattr(dfile, key):
                where[key] = getattr(dfile, key)
        return where

    # --- record sets ----------------------------------------------------------------------------

    def record_set(self, dfile: DatasetFile) -> dict:
        columns = list(dfile.columns.all())
        inline = dfile.logical_role == INLINE_ROLE
        rs_id = record_set_id(dfile)
        fields = [self.field(rs_id, dfile, c, inline) for c in columns]
        rs = {"@type": "cr:RecordSet", "@id": rs_id, "name": rs_id, "field": fields}
        keys = [{"@id": node_id(f"{rs_id}/{c.name}")} for c in columns if c.is_primary_key_component]
        if keys:
            rs["key"] = keys
        if inline:  # records kept in the metadata: the hub has the example rows
            depth = min((len(c.example_values or []) for c in columns), default=0)
            rs["data"] = [{node_id(f"{rs_id}/{c.name}"): c.example_values[i] for c in columns} for i in range(depth)]
        return rs

    def field(self, rs_id: str, dfile: DatasetFile, column: FileColumn, inline: bool) -> dict:
        node = {
            "@type": "cr:Field",
            "@id": node_id(f"{rs_id}/{column.name}"),
            "name": column.name,
            "dataType": data_types(column),
        }
        if column.description:
            node["description"] = column.description
        if not inline:
            kind = "fileSet" if GLOB.search(dfile.path) and dfile.path not in self.stored else "fileObject"
            node["source"] = {kind: {"@id": node_id(dfile.path)}, "extract": {"column": column.name}}
        refs = [self.target(link) for link in self.links_from(column)]
        if refs:
            node["references"] = refs[0] if len(refs) == 1 else refs
        return node

    def links_from(self, column: FileColumn):
        for r in self.relationships:
            for link in r.column_links.all():
                if link.from_column_id == column.pk:
                    yield link

    @staticmethod
    def target(link) -> dict:
        return {"field": {"@id": node_id(f"{record_set_id(link.to_column.dataset_file)}/{link.to_column.name}")}}


def export_dataset(dataset: Dataset, *, base_url: str) -> dict:
    """The Croissant 1.1 document of ``dataset``; URLs are absolute on ``base_url`` (scheme and host)."""
    return _Exporter(dataset, base_url).document()
