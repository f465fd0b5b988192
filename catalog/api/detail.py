"""The model and dataset details (``GET /api/v1/{models,datasets}/{owner}/{name}/`` and ``.../{id}/``) read as
rows of values.

``MLModelSerializer`` and ``DatasetSerializer`` describe the representations (their fields, the order, the
schema) and write them after a create or an update; a read builds the same bytes without model instances,
one statement per concern: the asset with its owner, licence, architecture details and head of main; its
media, tasks, domains and authors; the visible lineage both ways and the visible dataset links (a model);
the described files, their columns, the relationships and their column pairs, the visible models using it
(a dataset); the files at the head only when there is a commit, the CNN modules only for a CNN. Every
statement is compiled once per process and visibility shape and prepared on PostgreSQL (catalog.statements).
Django's generic path (instances, prefetches, a related manager per relation, each query built, compiled and
planned anew) cost a model detail ~15 ms of CPU and ~5 ms of planning at 1M models. test_api_detail_lean
compares the outputs with the serializers' on every shape of asset and reader.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.db.models import FilteredRelation, Q, Value
from django.http import Http404
from rest_framework import serializers

from catalog import selectors
from catalog.api import serializers as s
from catalog.models import (
    CNNModule,
    Commit,
    Dataset,
    DatasetFile,
    DatasetRelationship,
    DatasetRelationshipColumnLink,
    FileColumn,
    MLModel,
    Ref,
)
from catalog.statements import Statement

SLUG_RELATIONS = {
    "media": "mediatype_id",
    "tasks": "task__slug",
    "domains": "domain__slug",
    "authors": "user__username",
}


@cache
def _plan(serializer_class) -> tuple[tuple[str, str, object], ...]:
    """(name, how, detail) per readable field of a serializer, in its order: "value" (detail: the values key
    and DRF's own field converter, none for a slug), "many" (a relation shown by slugs) or "part" (a method
    field or a nested serializer, built by the caller)."""
    plan = []
    for field in serializer_class()._readable_fields:
        name, source = field.field_name, "__".join(field.source_attrs)
        if isinstance(field, serializers.ManyRelatedField):
            plan.append((name, "many", None))
        elif isinstance(field, serializers.SerializerMethodField | serializers.BaseSerializer):
            plan.append((name, "part", None))
        elif isinstance(field, serializers.SlugRelatedField):
            plan.append((name, "value", (f"{source}__{field.slug_field}", None)))
        elif isinstance(field, serializers.RelatedField):
            raise TypeError(f"{serializer_class.__name__}.{name}: {type(field).__name__} has no lean reading")
        else:
            plan.append((name, "value", (source, field.to_representation)))
    return tuple(plan)


def _keys(serializer_class) -> list[str]:
    return [detail[0] for _, how, detail in _plan(serializer_class) if how == "value"]


def _represent(serializer_class, row: dict, many: dict, parts: dict[str, Callable]) -> dict:
    data = {}
    for name, how, detail in _plan(serializer_class):
        if how == "value":
            value = row[detail[0]]
            data[name] = value if value is None or detail[1] is None else detail[1](value)
        else:
            data[name] = many[name] if how == "many" else parts[name]()
    return data


def _row(assets, columns: tuple[str, ...]):
    main = FilteredRelation("refs", condition=Q(refs__name=Ref.MAIN))
    head = ("main__commit__oid", "main__commit__number", "main__commit_id")
    return assets.annotate(main=main).order_by().values_list(*columns, *head)[:1]


def _lookups(asset_model, columns: Callable[[], tuple[str, ...]]) -> tuple[Statement, Statement]:
    """The asset's row by id and by owner/name."""
    return (
        Statement(lambda user, pk: _row(asset_model.objects.visible_to(user).filter(pk=pk), columns())),
        Statement(
            lambda user, owner, name: _row(asset_model.objects.visible_to(user).with_name(f"{owner}/{name}"), columns())
        ),
    )


def _found(lookups: tuple[Statement, Statement], columns: tuple[str, ...], user, pk, owner: str, name: str) -> dict:
    by_id, by_name = lookups
    if pk is not None:
        found = by_id.rows(user, pk=pk)
    else:
        found = by_name.rows(user, owner=owner, name=name) if owner and name else []
    if not found:
        raise Http404("No asset matches the given query.")
    return dict(zip((*columns, "main__commit__oid", "main__commit__number", "main__commit_id"), found[0], strict=True))


def _slugs_query(asset_model, relations: tuple[str, ...], pk: int):
    """The asset's slugs of each relation, each in its vocabulary's order (slug; username for authors)."""
    owner = f"{asset_model._meta.model_name}_id"
    parts = [
        getattr(asset_model, relation).through.objects.filter(**{owner: pk})
        .annotate(relation=Value(i))
        .values_list("relation", SLUG_RELATIONS[relation])
        for i, relation in enumerate(relations)
    ]  # fmt: skip
    return parts[0].union(*parts[1:], all=True).order_by("relation", SLUG_RELATIONS[relations[0]])


def _slugs(statement: Statement, relations: tuple[str, ...], user, pk: int) -> dict[str, list[str]]:
    found = {relation: [] for relation in relations}
    for relation, slug in statement.rows(user, pk=pk):
        found[relations[relation]].append(slug)
    return found


def _files(row: dict, field: str, pk: int) -> list:
    if row["main__commit_id"] is None:
        return []
    number, oid = row["main__commit__number"], row["main__commit__oid"]
    return s.files_of(None, Commit(pk=row["main__commit_id"], number=number, oid=oid, **{field: pk}))


def _ref(pk: int, owner: str, name: str) -> dict:
    return {"id": pk, "owner": owner, "name": name}


# --- models --------------------------------------------------------------------------------------------


@cache
def _model_columns() -> tuple[str, ...]:
    architecture = [f"{family}__{c}" for family, fields in s.ARCHITECTURE_FIELDS.items() for c in ["pk", *fields]]
    return tuple(dict.fromkeys(["id", *_keys(s.MLModelSerializer), "architecture_family", *architecture]))


MODEL_RELATIONS = ("media", "tasks", "authors")
MODEL = _lookups(MLModel, _model_columns)
MODEL_SLUGS = Statement(lambda user, pk: _slugs_query(MLModel, MODEL_RELATIONS, pk), visible=False)
EDGE_COLUMNS = ("model_id", "model__owner__username", "model__name", "base_id", "base__owner__username", "base__name")
EDGES = Statement(lambda user, pk: selectors.visible_edges(pk, user).values_list(*EDGE_COLUMNS, "relation"))
DATASET_LINKS = Statement(
    lambda user, pk: selectors.visible_dataset_links_of(pk, user).values_list(
        "id", "dataset_id", "dataset__owner__username", "dataset__name", "role"
    )
)
CNN_MODULES = Statement(
    lambda user, pk: CNNModule.objects.filter(cnn_id=pk).order_by("position").values_list("conv_size", "pooling_type"),
    visible=False,
)


def model_detail(user, *, pk: int | None = None, owner: str = "", name: str = "") -> dict:
    """The representation of the model ``user`` may see, by id or ``owner`` and ``name``; Http404 otherwise."""
    row = _found(MODEL, _model_columns(), user, pk, owner, name)
    pk = row["id"]
    bases, derivatives = _lineage(pk, user)
    parts = {
        "architecture_details": lambda: _architecture(row, user),
        "bases": lambda: bases,
        "derivatives": lambda: derivatives,
        "datasets": lambda: [
            {"id": link, "dataset": _ref(dataset, owner, name), "role": role}
            for link, dataset, owner, name, role in DATASET_LINKS.rows(user, pk=pk)
        ],
        "files": lambda: _files(row, "model_id", pk),
        "sha": lambda: row["main__commit__oid"],
    }
    return _represent(s.MLModelSerializer, row, _slugs(MODEL_SLUGS, MODEL_RELATIONS, user, pk), parts)


def _architecture(row: dict, user) -> dict:
    family = row["architecture_family"]
    data = {"family": family}
    fields = s.ARCHITECTURE_FIELDS.get(family)
    if fields is None or row[f"{family}__pk"] is None:
        return data
    data.update({column: row[f"{family}__{column}"] for column in fields})
    if family == "cnn":
        modules = CNN_MODULES.rows(user, pk=row["id"])
        data["modules"] = [{"conv_size": size, "pooling_type": pooling} for size, pooling in modules]
    return data


def _lineage(pk: int, user) -> tuple[list, list]:
    bases, derivatives = [], []
    for model_id, model_owner, model_name, base_id, base_owner, base_name, relation in EDGES.rows(user, pk=pk):
        if model_id == pk:  # an edge from this model: the other end is its base
            bases.append({"model": _ref(base_id, base_owner, base_name), "relation": relation})
        else:
            derivatives.append({"model": _ref(model_id, model_owner, model_name), "relation": relation})
    return bases, derivatives


# --- datasets ------------------------------------------------------------------------------------------


@cache
def _dataset_columns() -> tuple[str, ...]:
    return tuple(dict.fromkeys(["id", *_keys(s.DatasetSerializer)]))


DATASET_RELATIONS = ("media", "tasks", "domains", "authors")
DATASET = _lookups(Dataset, _dataset_columns)
DATASET_SLUGS = Statement(lambda user, pk: _slugs_query(Dataset, DATASET_RELATIONS, pk), visible=False)
DESCRIBED = Statement(
    lambda user, pk: DatasetFile.objects.filter(dataset_id=pk).values_list("id", *_keys(s.DatasetFileSerializer)),
    visible=False,
)
COLUMNS = Statement(
    lambda user, pk: FileColumn.objects.filter(dataset_file__dataset_id=pk).values_list(
        "dataset_file_id", *_keys(s.FileColumnSerializer)
    ),
    visible=False,
)
RELATIONSHIPS = Statement(
    lambda user, pk: DatasetRelationship.objects.filter(dataset_id=pk).values_list(
        "id", *_keys(s.RelationshipSerializer)
    ),
    visible=False,
)
COLUMN_PAIRS = Statement(
    lambda user, pk: DatasetRelationshipColumnLink.objects.filter(relationship__dataset_id=pk).values_list(
        "relationship_id", "from_column__name", "to_column__name", "link_order"
    ),
    visible=False,
)
MODEL_LINKS = Statement(
    lambda user, pk: selectors.visible_model_links_of(pk, user).values_list(
        "model_id", "model__owner__username", "model__name", "role"
    )
)


def dataset_detail(user, *, pk: int | None = None, owner: str = "", name: str = "") -> dict:
    """The representation of the dataset ``user`` may see, by id or ``owner`` and ``name``; Http404 otherwise."""
    row = _found(DATASET, _dataset_columns(), user, pk, owner, name)
    pk = row["id"]
    parts = {
        "described_files": lambda: _described(user, pk),
        "relationships": lambda: _relationships(user, pk),
        "models": lambda: [
            {"model": _ref(model, owner, name), "role": role}
            for model, owner, name, role in MODEL_LINKS.rows(user, pk=pk)
        ],
        "files": lambda: _files(row, "dataset_id", pk),
        "sha": lambda: row["main__commit__oid"],
    }
    return _represent(s.DatasetSerializer, row, _slugs(DATASET_SLUGS, DATASET_RELATIONS, user, pk), parts)


def _described(user, pk: int) -> list:
    files = DESCRIBED.rows(user, pk=pk)
    if not files:
        return []
    columns: dict[int, list] = {}
    keys = _keys(s.FileColumnSerializer)
    for file_id, *values in COLUMNS.rows(user, pk=pk):
        columns.setdefault(file_id, []).append(
            _represent(s.FileColumnSerializer, dict(zip(keys, values, strict=True)), {}, {})
        )
    return _with_children(s.DatasetFileSerializer, files, "columns", columns)


def _relationships(user, pk: int) -> list:
    relationships = RELATIONSHIPS.rows(user, pk=pk)
    if not relationships:
        return []
    pairs: dict[int, list] = {}
    for relationship, source, target, order in COLUMN_PAIRS.rows(user, pk=pk):
        pairs.setdefault(relationship, []).append({"from_column": source, "to_column": target, "order": order})
    return _with_children(s.RelationshipSerializer, relationships, "column_links", pairs)


def _with_children(serializer, rows, field: str, children: dict[int, list]) -> list:
    """Rows of ``(id, *the serializer's values)`` represented, each with its ``children`` (by id) as ``field``."""
    keys = _keys(serializer)
    return [
        _represent(serializer, dict(zip(keys, values, strict=True)), {}, {field: lambda i=pk: children.get(i, [])})
        for pk, *values in rows
    ]
