"""Datasets from Croissant documents (``load_croissant``): one document, one transaction.

The dataset is written by ``catalog.services.save_dataset`` as the importing user (owner of what it
creates, audited, edit permission checked on an existing one), its file records, columns and
relationships by the records loader (``RecordLoader.load_dataset_files``). Nothing is downloaded: a
file's content URL is kept as its path (or, for another hub's download URL, the path it names).
Re-importing a document gives the same rows. Bad input raises ``CroissantError`` naming the
document and the Croissant property, and leaves nothing written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.urls import Resolver404, resolve

from accounts import audit
from catalog import services
from catalog.croissant.exporting import CITATION_HEADING, EXTENSION_FIELDS, camel
from catalog.croissant.parsing import (
    CONTEXT_EXTENSION,
    RAI_TEXT_FIELDS,
    _croissant_file,
    as_list,
    media_of,
    parse_files,
    text_value,
)
from catalog.models import Dataset, Task
from catalog.records import LoadReport, RecordError, RecordLoader

NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
DOWNLOAD_ROUTES = {"file-download", "datasets-file-download", "models-file-download"}
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


class CroissantError(Exception):
    """Bad input: says which document and which Croissant property."""

    def __init__(self, source: str, prop: str | None, message: str):
        self.source, self.prop, self.message = source, prop, message
        super().__init__(f"{source}: {prop}: {message}" if prop else f"{source}: {message}")


@dataclass
class ImportResult:
    source: str
    dataset: str  # owner/name
    created: bool
    report: LoadReport

    def summary(self) -> str:
        made = "created" if self.created else "updated"
        counts = ", ".join(
            f"{sum(c[k] for c in (self.report.created, self.report.updated))} {k}"
            for k in ("dataset files", "columns", "relationships")
        )
        return f"{self.source}: {made} {self.dataset} ({counts})"


def read_document(path: Path) -> dict:
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise CroissantError(str(path), None, f"larger than {MAX_DOCUMENT_BYTES // 2**20} MiB")
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CroissantError(str(path), None, "no such file") from None
    except json.JSONDecodeError as exc:
        raise CroissantError(str(path), None, f"malformed JSON at line {exc.lineno}: {exc.msg}") from None
    except UnicodeDecodeError:
        raise CroissantError(str(path), None, "not UTF-8 text") from None
    if not isinstance(doc, dict) or "sc:Dataset" not in as_list(doc.get("@type")):
        raise CroissantError(str(path), "@type", "not a Croissant document (a JSON object of @type sc:Dataset)")
    return doc


def dataset_name(doc: dict, fallback: str) -> str:
    """The hub name: the Croissant name with characters a name may not hold replaced by '-'."""
    raw = text_value(doc.get("name")) or fallback
    name = NAME_CHARS.sub("-", raw).lstrip("-._")[:200]
    return name or NAME_CHARS.sub("-", fallback)


def hub_path(url: str) -> str | None:
    """The repository path a hub download URL (this hub's or another OpenModelHub's) names."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.path:
        return None
    try:
        match = resolve(unquote(parsed.path))
    except Resolver404:
        return None
    return match.kwargs.get("path") if match.url_name in DOWNLOAD_ROUTES else None


class _Reader:
    def __init__(self, doc: dict, source: str):
        self.doc, self.source = doc, source

    def fail(self, prop: str | None, message: str):
        raise CroissantError(self.source, prop, message)

    def card(self) -> str:
        description = self.doc.get("description")
        if isinstance(description, dict):  # a 1.1 language map: English, else the first language
            description = description.get("en", next(iter(description.values()), ""))
        card = "\n\n".join(str(d).strip() for d in as_list(description) if d is not None)
        card = "" if card == "None" else card
        cite = str(self.doc.get("citeAs") or "").strip()
        if cite and cite != "None":
            card = f"{card}\n\n{CITATION_HEADING}\n\n```\n{cite}\n```"
        return card.strip()

    def scalars(self) -> dict[str, Any]:
        doc, data = self.doc, {}
        for term, attr in RAI_TEXT_FIELDS.items():
            if f"rai:{term}" in doc:
                data[attr] = text_value(doc[f"rai:{term}"])
        for attr in EXTENSION_FIELDS:
            key = f"{CONTEXT_EXTENSION}:{camel(attr)}"
            if key in doc:
                value = doc[key]
                if not isinstance(value, str | int | float | bool) and value is not None:
                    self.fail(key, "must be a text, a number or true/false")
                data[attr] = value
        url = text_value(doc.get("url"))
        if _is_url(url) and "documentation_link" not in data:
            data.update(documentation_link=url, external_documentation_available=True, availability="online")
        year = re.match(r"^\s*(\d{4})", str(doc.get("datePublished") or ""))
        if year and "year" not in data:
            data["year"] = int(year.group(1))
        data.setdefault("metadata_provided_with_dataset", True)
        return data

    def licence(self) -> dict:
        from licensing.services import resolve_license

        declared = " AND ".join(t for t in (text_value(x) for x in as_list(self.doc.get("license"))) if t)
        if declared.lower() == "none":
            declared = ""
        return {"license_declared": declared[:200], "license": resolve_license(declared)}

    def tasks(self) -> list[Task]:
        keywords = [str(k).strip().lower() for k in as_list(self.doc.get("keywords")) if isinstance(k, str)]
        return list(Task.objects.filter(slug__in=keywords))

    def files(self) -> tuple[list[dict], list[dict], int]:
        try:
            parsed = parse_files(self.doc)
        except (AttributeError, TypeError) as exc:
            self.fail("distribution", f"malformed distribution or record set: {exc}")
        checksums = _checksums(self.doc)
        renamed = {}
        for f in parsed.files:
            f.update(checksums.get(f["path"], {}))
            path = hub_path(f["path"]) if "://" in f["path"] else None
            if path:
                renamed[f["path"]] = path
                f["path"] = path
        relationships = parsed.relationships + parsed.containment
        for r in relationships:
            r["from_file"] = renamed.get(r["from_file"], r["from_file"])
            r["to_file"] = renamed.get(r["to_file"], r["to_file"])
        return parsed.files, relationships, parsed.col_count


def _checksums(doc: dict) -> dict[str, dict]:
    """The sha256/md5 each FileObject states, by the path parse_files gives it (same walk, same paths).
    A value that is not a well-formed digest is left out rather than refused; a 32-digit "sha256" is an
    MD5 under the wrong name (published documents have them) and is kept as the MD5."""
    found, used = {}, set()
    for item in as_list(doc.get("distribution")):
        if not isinstance(item, dict):
            continue
        _, rec = _croissant_file(item, used)
        sums = {}
        for key in ("md5", "sha256"):
            value = item.get(key)
            value = value.strip().lower() if isinstance(value, str) else ""
            if re.fullmatch(r"[0-9a-f]{64}", value) and key == "sha256":
                sums["sha256"] = value
            elif re.fullmatch(r"[0-9a-f]{32}", value):
                sums.setdefault("md5", value)
        if sums:
            found[rec["path"]] = sums
    return found


def import_document(
    doc: dict, *, user, source: str, name: str | None = None, visibility: str | None = None, request=None
) -> ImportResult:
    """Create or update ``user``'s dataset described by ``doc`` (atomic)."""
    reader = _Reader(doc, source)
    name = name or dataset_name(doc, Path(source).stem)
    files, relationships, col_count = reader.files()
    data: dict[str, Any] = {"name": name, "card": reader.card(), **reader.licence(), **reader.scalars()}
    data.update(media=media_of(doc), tasks=reader.tasks())
    if col_count and "features_number" not in data:
        data["features_number"] = col_count
    existing = Dataset.objects.filter(owner=user, name=name).first()
    if existing is None and visibility:
        data["visibility"] = visibility
    report = LoadReport()
    try:
        with transaction.atomic():
            dataset = services.save_dataset(user=user, data=data, dataset=existing, request=request)
            RecordLoader(report).load_dataset_files(dataset, files, relationships, "distribution")
            audit.record(
                "dataset.croissant_import",
                actor=user,
                target=dataset,
                request=request,
                details={"name": dataset.full_name, "source": Path(source).name, "files": len(files)},
            )
    except ValidationError as exc:
        prop, message = _first_error(exc)
        raise CroissantError(source, prop, message) from None
    except RecordError as exc:
        raise CroissantError(
            source, exc.where + (f".{exc.field_name}" if exc.field_name else ""), exc.message
        ) from None
    except PermissionDenied as exc:
        raise CroissantError(source, None, f"{user.username}/{name}: {exc}") from None
    return ImportResult(source, dataset.full_name, existing is None, report)


def _is_url(text: str) -> bool:
    try:
        URLValidator(schemes=["http", "https"])(text)
    except ValidationError:
        return False
    return len(text) <= 500


def _first_error(exc: ValidationError) -> tuple[str | None, str]:
    """The Croissant property behind the first invalid dataset field, and its message."""
    if not hasattr(exc, "error_dict"):
        return None, " ".join(exc.messages)
    field_name, errors = next(iter(exc.error_dict.items()))
    terms = {attr: f"rai:{term}" for term, attr in RAI_TEXT_FIELDS.items()}
    terms.update({attr: f"{CONTEXT_EXTENSION}:{camel(attr)}" for attr in EXTENSION_FIELDS})
    terms.update(name="name", card="description", license_declared="license", documentation_link="url")
    prop = terms.get(field_name, field_name if field_name != "__all__" else None)
    return prop, " ".join(m for e in errors for m in e.messages)
