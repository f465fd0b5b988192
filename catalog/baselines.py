"""Loading records again without undoing curators' work.

A loader remembers, per record, the row it wrote and a fingerprint of each part of that row's
loaded values (``LoadedRecord``). On the next load each record falls in one of these cases:

- new: no row under its key and none loaded before -> created;
- unchanged: the row is as loaded and the input is the same -> not touched at all;
- changed input: the row is as loaded, the input changed -> written;
- kept: the row was edited, renamed or deleted since it was loaded, or was not written by a loader
  -> left as it is and reported; ``update=True`` (``--update``) overwrites it.

Fingerprints cover only what a loader writes (allow-lists), never counters or values the hub
derives (downloads, likes, timestamps, search vectors), so ordinary use of the hub is no edit. A
licence the declared string names (resolved later, when the knowledge base grows) is no edit
either; a licence the declared string does not name is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch

from catalog.models import CNNModule, Dataset, DatasetFile, LoadedRecord, MLModel

Kind = LoadedRecord.Kind
Resolver = Callable[[str], object]

MODEL_PARTS = [
    "name",
    "owner_id",
    "card",
    "visibility",
    "training_type",
    "parameter_count",
    "architecture_family",
    "architecture_name",
    "license_declared",
]
DETAIL_SKIP = {"model", "cnn", "created_at", "updated_at"}


def fingerprint(value) -> str:
    text = json.dumps(value, sort_keys=True, cls=DjangoJSONEncoder, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _parts(values: dict) -> dict[str, str]:
    return {name: fingerprint(value)[:16] for name, value in values.items()}


def _values(obj, names: Iterable[str]) -> dict:
    return {name: getattr(obj, name) for name in names}


def _concrete(obj) -> dict:
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if not f.primary_key and f.name not in DETAIL_SKIP
    }


def _license(asset, resolve: Resolver) -> int | None:
    """The licence as an edit would show: None when the declared string names it (or there is none)."""
    lic, declared = asset.license, asset.license_declared.strip()
    if lic is None:
        return None
    if declared and (declared.lower() in (lic.key.lower(), lic.spdx_id.lower()) or resolve(declared) == lic):
        return None
    return lic.pk


def _m2m(asset, *names: str) -> dict:
    return {name: sorted(obj.pk for obj in getattr(asset, name).all()) for name in names}


def model_states(pks: Iterable[int], resolve: Resolver) -> dict[int, dict[str, str]]:
    rows = (
        MLModel.objects.filter(pk__in=list(pks))
        .select_related("license", "transformer", "cnn", "rnn")
        .prefetch_related(
            "media",
            "tasks",
            "authors",
            "dataset_links",
            "base_edges",
            Prefetch("cnn__modules", queryset=CNNModule.objects.order_by("position")),
        )
    )
    return {
        model.pk: model_state(
            model,
            resolve,
            datasets=[(link.dataset_id, link.role) for link in model.dataset_links.all()],
            bases=[(edge.base_id, edge.relation) for edge in model.base_edges.all()],
        )
        for model in rows
    }


def model_state(model: MLModel, resolve: Resolver, *, datasets: Iterable, bases: Iterable) -> dict[str, str]:
    """The fingerprints of one model as read back (``model_states``) or as just written, its links and
    details in memory (catalog.bulk keeps them on a new row): the same values either way, since the
    writer's ``full_clean`` leaves each field as the database gives it back."""
    details = {}
    for family in ("transformer", "cnn", "rnn"):
        # the rows loaded with the model (select_related) or set on it by the writer: no query for the others
        part = getattr(model, family, None) if family in model._state.fields_cache else None
        if part is not None:
            details[family] = _concrete(part)
            if family == "cnn":
                details["modules"] = [_concrete(m) for m in part.modules.all()]
    return _parts(
        {
            **_values(model, MODEL_PARTS),
            "license": _license(model, resolve),
            "architecture": details,
            **_m2m(model, "media", "tasks", "authors"),
            "datasets": sorted(datasets),
            "bases": sorted(bases),
        }
    )


def dataset_states(pks: Iterable[int], resolve: Resolver) -> dict[int, dict[str, str]]:
    from catalog.records import COLUMN_KEYS, DATASET_SCALARS, FILE_KEYS

    scalars = ["name", "owner_id", "card", "visibility", "license_declared", *sorted(DATASET_SCALARS)]
    rows = (
        Dataset.objects.filter(pk__in=list(pks))
        .select_related("license")
        .prefetch_related(
            "media",
            "tasks",
            "authors",
            "domains",
            Prefetch("files", queryset=DatasetFile.objects.order_by("path")),
            "files__columns",
            "relationships__column_links__from_column",
            "relationships__column_links__to_column",
            "relationships__from_file",
            "relationships__to_file",
        )
    )
    states = {}
    for dataset in rows:
        files = [
            {
                **_values(f, sorted(FILE_KEYS - {"columns"})),
                "columns": [_values(c, sorted(COLUMN_KEYS)) for c in f.columns.all()],
            }
            for f in dataset.files.all()
        ]
        relationships = sorted(
            [
                r.from_file.path,
                r.to_file.path,
                r.relationship_type,
                r.description,
                [[link.from_column.name, link.to_column.name] for link in r.column_links.all()],
            ]
            for r in dataset.relationships.all()
        )
        states[dataset.pk] = _parts(
            {
                **_values(dataset, scalars),
                "license": _license(dataset, resolve),
                **_m2m(dataset, "media", "tasks", "authors", "domains"),
                "files": files,
                "relationships": relationships,
            }
        )
    return states


def license_state(lic) -> dict[str, str]:
    from licensing.knowledge import Entry

    return _parts(_values(lic, Entry.FIELDS))


def edited_parts(before: dict[str, str], now: dict[str, str]) -> list[str]:
    """Parts whose value changed; a part only one side knows (another hub version) is no edit."""
    return sorted(name for name in before.keys() & now.keys() if before[name] != now[name])


# --------------------------------------------------------------------------------------------
# Deciding, record by record
# --------------------------------------------------------------------------------------------

NEW, UNCHANGED, LOAD, KEEP = "new", "unchanged", "load", "keep"


@dataclass
class Decision:
    action: str  # NEW, UNCHANGED, LOAD or KEEP
    why: str = ""  # for a kept row: the edited parts, "renamed", "deleted" or "not loaded by this command"


def decide(
    *,
    baseline: LoadedRecord | None,
    object_id: int | None,
    state: dict | None,
    source: str,
    still_exists: bool,
    update: bool,
) -> Decision:
    """What a loader does with one record; ``object_id`` and ``state`` describe the row under its key now,
    ``still_exists`` whether the row the baseline names is still in the database."""
    if baseline is not None and baseline.object_id != object_id:
        if object_id is None:  # the loaded row left this key
            return Decision(LOAD if update else KEEP, "renamed" if still_exists else "deleted")
        baseline = None  # another row took the key since: not ours
    if object_id is None:
        return Decision(NEW)
    if baseline is None:
        return Decision(LOAD if update else KEEP, "not loaded by this command")
    edited = edited_parts(baseline.state, state or {})
    if edited:
        return Decision(LOAD if update else KEEP, "edited: " + ", ".join(edited))
    return Decision(UNCHANGED if source == baseline.source_hash else LOAD)


def baselines(kind: str, keys: Iterable[str]) -> dict[str, LoadedRecord]:
    keys, found = list(keys), {}
    for start in range(0, len(keys), 500):
        found.update((r.key, r) for r in LoadedRecord.objects.filter(kind=kind, key__in=keys[start : start + 500]))
    return found


def remember(kind: str, rows: dict[str, tuple[int, dict, str]]) -> None:
    """Store key -> (row id, state, source fingerprint) for rows a loader has just written."""
    LoadedRecord.objects.bulk_create(
        [
            LoadedRecord(kind=kind, key=key, object_id=pk, state=state, source_hash=source)
            for key, (pk, state, source) in rows.items()
        ],
        update_conflicts=True,
        unique_fields=["kind", "key"],
        update_fields=["object_id", "state", "source_hash", "loaded_at"],
        batch_size=500,
    )


@dataclass
class AssetPlan:
    """What ``load_records`` does with the models (or datasets) of one file."""

    kind: str
    skip: set[int] = field(default_factory=set)  # indexes of records left alone
    kept: list[str] = field(default_factory=list)  # "owner/name (why)"
    sources: dict[int, tuple[str, str]] = field(default_factory=dict)  # index -> (key, source fingerprint)


def _record_key(rec) -> str | None:
    if not isinstance(rec, dict) or not isinstance(rec.get("owner"), str) or not isinstance(rec.get("name"), str):
        return None  # malformed: the loader names the problem
    return f"{rec['owner']}/{rec['name'].strip()}"


def plan_assets(kind: str, records: list, *, update: bool, resolve: Resolver) -> AssetPlan:
    model_cls, states_of = (MLModel, model_states) if kind == Kind.MODEL else (Dataset, dataset_states)
    plan = AssetPlan(kind)
    for index, rec in enumerate(records):
        key = _record_key(rec)
        if key is not None:
            plan.sources[index] = (key, fingerprint(rec))
    keys = {key for key, _ in plan.sources.values()}
    names = sorted({key.partition("/")[2] for key in keys})
    rows = {}
    for start in range(0, len(names), 500):
        rows.update(
            (f"{owner}/{name}", pk)
            for pk, owner, name in model_cls.objects.filter(name__in=names[start : start + 500]).values_list(
                "pk", "owner__username", "name"
            )
        )
    rows = {key: pk for key, pk in rows.items() if key in keys}
    known = baselines(kind, keys)
    ours = [pk for key, pk in rows.items() if key in known and known[key].object_id == pk]
    states = states_of(ours, resolve)
    wanted = [b.object_id for key, b in known.items() if rows.get(key) != b.object_id]
    existing = set(model_cls.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    for index, (key, source) in plan.sources.items():
        baseline = known.get(key)
        decision = decide(
            baseline=baseline,
            object_id=rows.get(key),
            state=states.get(rows.get(key)),
            source=source,
            still_exists=baseline is not None and baseline.object_id in existing,
            update=update,
        )
        if decision.action in (UNCHANGED, KEEP):
            plan.skip.add(index)
        if decision.action == KEEP:
            plan.kept.append(f"{key} ({decision.why})")
    return plan


def remember_assets(
    plan: AssetPlan, loaded: dict[str, int], resolve: Resolver, known: dict[int, dict[str, str]] | None = None
) -> None:
    """Fingerprint the rows written from the records the plan did not skip (``loaded``: key -> row id).
    ``known``: row id -> state computed from what was written (``model_state``); the others are read back."""
    states_of = model_states if plan.kind == Kind.MODEL else dataset_states
    written = {
        key: (loaded[key], source)
        for index, (key, source) in plan.sources.items()
        if index not in plan.skip and key in loaded
    }
    states = dict(known or {})
    states |= states_of([pk for pk, _ in written.values() if pk not in states], resolve)
    remember(plan.kind, {key: (pk, states[pk], source) for key, (pk, source) in written.items()})
