"""The model detail (``GET /api/v1/models/{owner}/{name}/`` and ``.../by-id/{id}/``) read as rows of values.

``MLModelSerializer`` describes the representation (its fields, their order, the schema) and writes it
after a create or an update; a read builds the same bytes without model instances: the model with its
owner, licence, architecture details and head of main in one statement, its media, tasks and authors in
one, the visible lineage both ways in one, the visible dataset links in one, and the files at the head
(only when there is a commit) and the CNN modules (only for a CNN) in one each. The statements are
compiled once per process and visibility shape (catalog.statements). Django's generic path (instances,
prefetches, a related manager per relation, a DRF field per value, each query built and compiled anew)
cost a detail about 15 ms of CPU; test_request_cost compares the two outputs on every shape of model.
"""

from __future__ import annotations

from functools import cache

from django.db.models import FilteredRelation, Q, Value
from django.http import Http404
from rest_framework import serializers

from catalog import selectors
from catalog.api import serializers as s
from catalog.models import CNNModule, Commit, MLModel, Ref
from catalog.statements import Statement

MISSING = f"No {MLModel._meta.object_name} matches the given query."  # get_object_or_404's words
RELATIONS = ("media", "tasks", "authors")


@cache
def _plan() -> tuple[tuple[str, str, object], ...]:
    """(name, how, detail) per readable field of MLModelSerializer, in its order. ``how`` is "value" (detail:
    (values key, converter or None)), "many" (a slug relation: media, tasks, authors) or "part" (a method
    field: architecture_details, bases, derivatives, datasets, files, sha). A field of another kind is a
    programming error: the representation would silently differ."""
    plan = []
    for field in s.MLModelSerializer()._readable_fields:
        name = field.field_name
        if isinstance(field, serializers.ManyRelatedField) and name in RELATIONS:
            plan.append((name, "many", None))
        elif isinstance(field, serializers.SerializerMethodField):
            plan.append((name, "part", None))
        elif isinstance(field, serializers.SlugRelatedField):
            plan.append((name, "value", ("__".join([*field.source_attrs, field.slug_field]), None)))
        elif isinstance(field, serializers.DateField | serializers.DateTimeField):
            plan.append((name, "value", ("__".join(field.source_attrs), field.to_representation)))
        elif isinstance(field, serializers.ChoiceField) and all(isinstance(key, str) for key in field.choices):
            plan.append((name, "value", ("__".join(field.source_attrs), None)))
        elif isinstance(field, serializers.CharField | serializers.IntegerField):
            convert = str if isinstance(field, serializers.CharField) else int
            plan.append((name, "value", ("__".join(field.source_attrs), convert)))
        else:
            raise TypeError(f"MLModelSerializer.{name}: {type(field).__name__} has no lean reading")
    return tuple(plan)


@cache
def _columns() -> tuple[str, ...]:
    scalars = [detail[0] for _, how, detail in _plan() if how == "value"]
    architecture = [
        f"{family}__{column}" for family, fields in s.ARCHITECTURE_FIELDS.items() for column in ["pk", *fields]
    ]
    return (*dict.fromkeys(["id", *scalars, "architecture_family", *architecture]), "main__commit__oid",
            "main__commit__number", "main__commit_id")  # fmt: skip


def _row(models):
    main = FilteredRelation("refs", condition=Q(refs__name=Ref.MAIN))
    return models.annotate(main=main).order_by().values_list(*_columns())[:1]


ROW_BY_ID = Statement(lambda user, pk: _row(MLModel.objects.visible_to(user).filter(pk=pk)))
ROW_BY_NAME = Statement(lambda user, owner, name: _row(MLModel.objects.visible_to(user).with_name(f"{owner}/{name}")))


def _slugs_query(user, pk):
    """Media, tasks and authors, each in its vocabulary's order (slug, slug, username)."""
    media, tasks, authors = (getattr(MLModel, name).through.objects.filter(mlmodel_id=pk) for name in RELATIONS)
    return (
        media.annotate(relation=Value(0))
        .values_list("relation", "mediatype_id")
        .union(
            tasks.annotate(relation=Value(1)).values_list("relation", "task__slug"),
            authors.annotate(relation=Value(2)).values_list("relation", "user__username"),
            all=True,
        )
        .order_by("relation", "mediatype_id")
    )


SLUGS = Statement(_slugs_query, visible=False)
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
    if pk is not None:
        found = ROW_BY_ID.rows(user, pk=pk)
    else:
        found = ROW_BY_NAME.rows(user, owner=owner, name=name) if owner and name else []
    if not found:
        raise Http404(MISSING)
    row = dict(zip(_columns(), found[0], strict=True))
    pk = row["id"]
    many = {name: [] for name in RELATIONS}
    for relation, slug in SLUGS.rows(user, pk=pk):
        many[RELATIONS[relation]].append(slug)
    bases, derivatives = _lineage(pk, user)
    parts = {
        "architecture_details": lambda: _architecture(row, user),
        "bases": lambda: bases,
        "derivatives": lambda: derivatives,
        "datasets": lambda: _datasets(pk, user),
        "files": lambda: _files(row, pk),
        "sha": lambda: row["main__commit__oid"],
    }
    data = {}
    for name, how, detail in _plan():
        if how == "value":
            value = row[detail[0]]
            data[name] = value if value is None or detail[1] is None else detail[1](value)
        else:
            data[name] = many[name] if how == "many" else parts[name]()
    return data


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
            bases.append({"model": {"id": base_id, "owner": base_owner, "name": base_name}, "relation": relation})
        else:
            other = {"id": model_id, "owner": model_owner, "name": model_name}
            derivatives.append({"model": other, "relation": relation})
    return bases, derivatives


def _datasets(pk: int, user) -> list:
    return [
        {"id": link, "dataset": {"id": dataset, "owner": owner, "name": name}, "role": role}
        for link, dataset, owner, name, role in DATASET_LINKS.rows(user, pk=pk)
    ]


def _files(row: dict, pk: int) -> list:
    if row["main__commit_id"] is None:
        return []
    number, oid = row["main__commit__number"], row["main__commit__oid"]
    return s.files_of(None, Commit(pk=row["main__commit_id"], model_id=pk, number=number, oid=oid))
