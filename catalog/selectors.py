"""Read-side queries of the catalogue. Lists start from visible_to(user); the detail querysets carry a
page's joins and are narrowed by ``.named(ref, user=...)``, which decides access."""

import dataclasses
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import QueryDict

from accounts.models import User
from catalog import filters
from catalog.keyset import Keyset
from catalog.models.base import readable_name
from catalog.models import (
    Dataset,
    Domain,
    EvaluationResult,
    Family,
    Like,
    Media,
    MLModel,
    ModelDataset,
    ModelLineage,
    Task,
    TrainingType,
)
from licensing.models import LicenseCategory


def catalogue_counts(user) -> dict[str, int]:
    return {
        "models": MLModel.objects.visible_to(user).count(),
        "datasets": Dataset.objects.visible_to(user).count(),
    }


def recently_updated_models(user, limit: int = 8) -> QuerySet[MLModel]:
    return MLModel.objects.visible_to(user).select_related("owner", "license").order_by("-updated_at", "-id")[:limit]


def most_downloaded_models(user, limit: int = 8) -> QuerySet[MLModel]:
    return MLModel.objects.visible_to(user).select_related("owner", "license").order_by("-downloads", "-id")[:limit]


def recently_updated_datasets(user, limit: int = 8) -> QuerySet[Dataset]:
    return Dataset.objects.visible_to(user).select_related("owner", "license").order_by("-updated_at", "-id")[:limit]


def model_detail_queryset() -> QuerySet[MLModel]:
    """A model page's joins; access comes after it (``.named(ref, user=...)`` or ``.visible_to``)."""
    authors = Prefetch("authors", queryset=User.objects.only("username"))  # shown by name
    return MLModel.objects.select_related("owner", "license", "transformer", "cnn", "rnn").prefetch_related(
        "media", "tasks", authors, "cnn__modules"
    )


def _shown(relation: str) -> tuple[str, ...]:
    """What a page or a reference shows of the asset at the other end of ``relation``: its id and
    ``owner/name`` (str, get_absolute_url); its card, search vector and the owner's row stay unread."""
    return (f"{relation}__name", f"{relation}__owner__username")


# The other end of a model's lineage edges and dataset links, as far as the user may see it. The visible
# set is narrowed to the asset's own neighbours inside the subquery: SQLite evaluates ``IN (subquery)`` as a
# list, and the whole public catalogue made that list (70-220 ms per query at 100,000 models).


def visible_bases(model: MLModel, user) -> QuerySet[ModelLineage]:
    bases = MLModel.objects.visible_to(user).filter(pk__in=model.base_edges.values("base_id"))
    return model.base_edges.filter(base__in=bases).select_related("base__owner")


def visible_derivatives(model: MLModel, user) -> QuerySet[ModelLineage]:
    derivatives = MLModel.objects.visible_to(user).filter(pk__in=model.derivative_edges.values("model_id"))
    return model.derivative_edges.filter(model__in=derivatives).select_related("model__owner")


def visible_edges(model_id: int, user) -> QuerySet[ModelLineage]:
    """The model's lineage edges both ways whose other end ``user`` may see, in the edges' order."""
    visible = MLModel.objects.visible_to(user)
    bases = visible.filter(pk__in=ModelLineage.objects.filter(model_id=model_id).values("base_id"))
    derivatives = visible.filter(pk__in=ModelLineage.objects.filter(base_id=model_id).values("model_id"))
    edges = Q(model_id=model_id, base__in=bases) | Q(base_id=model_id, model__in=derivatives)
    return ModelLineage.objects.filter(edges)


def visible_lineage(model: MLModel, user) -> tuple[list[ModelLineage], list[ModelLineage]]:
    """(visible_bases, visible_derivatives) of the model in one query, each in the edges' order."""
    edges = visible_edges(model.pk, user).select_related("model__owner", "base__owner")
    edges = list(edges.only("model_id", "base_id", "relation", "created_at", *_shown("model"), *_shown("base")))
    return [e for e in edges if e.model_id == model.pk], [e for e in edges if e.base_id == model.pk]


def visible_dataset_links_of(model_id: int, user) -> QuerySet[ModelDataset]:
    """The model's dataset links whose dataset ``user`` may see, in the links' order."""
    links = ModelDataset.objects.filter(model_id=model_id)
    return links.filter(dataset__in=Dataset.objects.visible_to(user).filter(pk__in=links.values("dataset_id")))


def visible_dataset_links(model: MLModel, user) -> QuerySet[ModelDataset]:
    links = visible_dataset_links_of(model.pk, user).select_related("dataset__owner")
    return links.only("model_id", "dataset_id", "role", *_shown("dataset"))


def visible_model_links_of(dataset_id: int, user) -> QuerySet[ModelDataset]:
    """The dataset's links to models ``user`` may see, in the links' order."""
    links = ModelDataset.objects.filter(dataset_id=dataset_id)
    return links.filter(model__in=MLModel.objects.visible_to(user).filter(pk__in=links.values("model_id")))


def visible_model_links(dataset: Dataset, user) -> QuerySet[ModelDataset]:
    return visible_model_links_of(dataset.pk, user).select_related("model__owner")


def dataset_detail_queryset() -> QuerySet[Dataset]:
    return Dataset.objects.select_related("owner", "license").prefetch_related(
        "media", "tasks", "domains", "authors", "files__columns"
    )


# --- lists: facets and keyset pages (the HTML lists; the API has its own paginator class) -------

FACET_LIMIT = 12  # values shown per facet (the selected ones are always shown)


@dataclass(frozen=True)
class FacetSpec:
    param: str  # the FilterSet parameter it narrows
    title: str
    field: str = ""  # a column of the asset: GROUP BY it
    m2m: str = ""  # or an M2M relation: GROUP BY the through table's column
    labels: dict = dataclasses.field(default_factory=dict)


MODEL_FACETS = [
    FacetSpec("architecture", "Architecture", field="architecture_family", labels=dict(Family.choices)),
    FacetSpec("training_type", "Training", field="training_type", labels=dict(TrainingType.choices)),
    FacetSpec("media", "Media", m2m="media", labels=dict(Media.choices)),
    FacetSpec("task", "Tasks", m2m="tasks"),
    FacetSpec("license_category", "Licence category", field="license__category", labels=dict(LicenseCategory.choices)),
]
DATASET_FACETS = [
    FacetSpec("media", "Media", m2m="media", labels=dict(Media.choices)),
    FacetSpec("task", "Tasks", m2m="tasks"),
    FacetSpec("domain", "Domains", m2m="domains"),
    FacetSpec("license_category", "Licence category", field="license__category", labels=dict(LicenseCategory.choices)),
]
M2M_TARGETS = {"media": ("mediatype_id", None), "tasks": ("task_id", Task), "domains": ("domain_id", Domain)}


def _count_by(spec: FacetSpec, queryset) -> list[tuple[str, str, int]]:
    ids = queryset.order_by().values("pk")
    if spec.field:
        # The filters join only single-valued relations (EXISTS for the many-valued ones), so the rows
        # are grouped where they are; a DISTINCT queryset is narrowed by id first. Grouping through
        # "id IN (the filtered ids)" read the table twice (0.6 s instead of 0.15 s at 1M models).
        rows = queryset.model.objects.filter(pk__in=ids) if queryset.query.distinct else queryset.order_by()
        grouped = (
            rows.exclude(**{f"{spec.field}__isnull": True})
            .exclude(**{spec.field: ""})
            .values_list(spec.field)
            .annotate(n=Count("pk"))
            .order_by("-n", spec.field)
        )
        return [(value, spec.labels.get(value, value), n) for value, n in grouped]
    column, target = M2M_TARGETS[spec.m2m]
    through = getattr(queryset.model, spec.m2m).through
    owner_column = f"{queryset.model._meta.model_name}_id"
    grouped = list(
        through.objects.filter(**{f"{owner_column}__in": ids})
        .values_list(column)
        .annotate(n=Count("pk"))
        .order_by("-n", column)
    )
    if target is None:
        return [(value, spec.labels.get(value, value), n) for value, n in grouped]
    labels = {
        pk: (slug, name)
        for pk, slug, name in target.objects.filter(pk__in=[pk for pk, _ in grouped]).values_list("pk", "slug", "name")
    }
    return [(labels[pk][0], readable_name(*labels[pk]), n) for pk, n in grouped]


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None
    total: int
    is_first: bool


def keyset_page(queryset, ordering: list, cursor: str | None, size: int) -> Page:
    """One page in ``ordering`` after (or before) ``cursor``, with the API's cursors and (key, id)
    comparisons (catalog.keyset.Keyset): no OFFSET, fast at any depth.
    Raises InvalidCursor (a ValueError) on a cursor this list did not give out."""
    total = queryset.count()
    page = Keyset(ordering).page(queryset, cursor, size)
    return Page(
        rows=page.rows, next_cursor=page.next, previous_cursor=page.previous, total=total, is_first=page.at_start
    )


def list_queryset(model_cls, user) -> QuerySet:
    related = ("owner", "license", "compliance") if model_cls is MLModel else ("owner", "license")  # rows' verdicts
    return model_cls.objects.visible_to(user).select_related(*related).prefetch_related("tasks")


SORTS = {"models": filters.MODEL_SORTS, "datasets": filters.DATASET_SORTS}


def likes_asset(user, asset) -> bool:
    """Whether ``user`` likes ``asset`` (False for anonymous visitors)."""
    if not (user and user.is_authenticated):
        return False
    return Like.objects.filter(user=user, **{asset.kind: asset}).exists()


# --- evaluation results ----------------------------------------------------------------------------

MODEL_EVALUATIONS_SHOWN = 200  # a model page's table; the API pages through all of them
LEADERBOARD_PAGE = 25


def model_evaluations(model: MLModel, user) -> list:
    """The model's results the user may see (their dataset visible too), by dataset, split and metric."""
    return list(
        EvaluationResult.objects.visible_to(user)
        .filter(model=model)
        .select_related("dataset__owner")
        .order_by("dataset__owner__username", "dataset__name", "split", "metric")[:MODEL_EVALUATIONS_SHOWN]
    )


@dataclass
class Leaderboard:
    metrics: list[str]  # the metrics with a visible result on the dataset
    metric: str
    sort: str
    sorts: list[tuple[str, str]]
    page: Page | None = None
    error: str = ""


def leaderboard(dataset: Dataset, params: QueryDict, user) -> Leaderboard | None:
    """One metric's results on ``dataset`` (``?metric=``; top1 or the first metric by default), best first
    unless ``?sort=`` says otherwise, a keyset page at a time (``?cursor=``); None without any result.
    A bad sort or cursor leaves ``page`` None and says why in ``error``."""
    results = EvaluationResult.objects.visible_to(user).filter(dataset=dataset)
    metrics = list(results.order_by("metric").values_list("metric", flat=True).distinct())
    if not metrics:
        return None
    wanted = params.get("metric")
    metric = wanted if wanted in metrics else ("top1" if "top1" in metrics else metrics[0])
    rows = results.filter(metric=metric)
    higher = rows.values_list("higher_is_better", flat=True).first()
    sort = params.get("sort") or ("value" if higher else "-value")
    board = Leaderboard(metrics, metric, sort, list(filters.EVALUATION_SORT_LABELS.items()))
    if sort not in filters.EVALUATION_SORTS:
        board.error = f"Unknown sort {sort!r}: use one of {', '.join(filters.EVALUATION_SORTS)}."
        return board
    ordering = filters.ordering(sort, False, filters.EVALUATION_SORTS)
    try:
        board.page = keyset_page(rows.select_related("model__owner"), ordering, params.get("cursor"), LEADERBOARD_PAGE)
    except ValueError as exc:
        board.error = str(exc)
    return board
