"""``/api/models`` and ``/api/datasets``: the Hub's list parameters over the catalogue's visible_to
querysets, paginated by the catalogue's keyset cursors (``Link: <…>; rel="next"``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from accounts.models import User
from catalog import search
from catalog.keyset import InvalidCursor, Keyset
from catalog.models import Dataset, MLModel, ModelDataset
from hfhub.errors import bad_request

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
SORTS = {
    "downloads": "downloads",
    "likes": "likes",
    "createdAt": "created_at",
    "created_at": "created_at",
    "lastModified": "updated_at",
    "last_modified": "updated_at",
    "trendingScore": "downloads",
    "id": "name",
}
TRUE = {"1", "true", "True"}


@dataclass
class ListQuery:
    search: str
    author: str
    filters: list[str]
    ordering: list
    limit: int
    full: bool
    card_data: bool


def parse(params) -> ListQuery:
    sort = params.get("sort") or "lastModified"
    if sort not in SORTS:
        raise bad_request(f"sort must be one of {', '.join(SORTS)}")
    direction = params.get("direction") or "-1"
    if direction not in ("-1", "1"):
        raise bad_request("direction must be -1 or 1")
    limit = params.get("limit") or str(DEFAULT_LIMIT)
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= MAX_LIMIT):
        raise bad_request(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    key = F(SORTS[sort])
    descending = direction == "-1"
    ordering = [key.desc(nulls_last=True), F("id").desc()] if descending else [key.asc(nulls_last=True), F("id").asc()]
    filters = [value for value in params.getlist("filter") if value]
    if any(len(value) > 300 for value in filters) or len(filters) > 20:
        raise bad_request("too many or too long filters")
    return ListQuery(
        search=(params.get("search") or "").strip()[:200],
        author=(params.get("author") or "").strip(),
        filters=filters,
        ordering=ordering,
        limit=int(limit),
        full=params.get("full") in TRUE,
        card_data=params.get("cardData") in TRUE,
    )


RARE = 2000  # a substring with more matches is common: the sort-index walk finds a page within ~10,000 rows


def _matching(model_cls, text: str) -> tuple[Q, QuerySet]:
    """The condition, and the matching ids as a query the trigram indexes serve (catalog migration 0011)."""
    condition = search.id_condition(model_cls, text)  # the catalogue's id matching (catalog.search)
    if "/" in text:  # "owner/na": owners ending in "owner" with names starting with "na"
        return condition, model_cls.objects.filter(condition).order_by().values("pk")
    users = User.objects.filter(username__icontains=text).values("pk")
    by_name = model_cls.objects.filter(name__icontains=text).order_by().values("pk")
    by_owner = model_cls.objects.filter(owner__in=users).order_by().values("pk")
    return condition, by_name.union(by_owner, all=True)  # streams under LIMIT


def matching_id(queryset: QuerySet, text: str) -> QuerySet:
    """Substring of ``owner/name``, as the Hub's search.

    PostgreSQL estimates ``LIKE '%text%'`` at a fixed share of the rows, so left alone it walks the sort
    index filtering every row: seconds for a rare substring at 1,000,000 models. The candidates are listed
    from the trigram indexes first; only a substring too common to list is left to that walk."""
    condition, ids = _matching(queryset.model, text)
    if connection.vendor != "postgresql" or len(text) < 3:  # no trigram in it: common by nature
        return queryset.filter(condition)
    candidates = {row["pk"] for row in ids[: RARE + 1]}
    return queryset.filter(pk__in=candidates) if len(candidates) <= RARE else queryset.filter(condition)


def tagged(queryset: QuerySet, tag: str, user) -> QuerySet:
    """A Hub filter value: ``license:<id>``, ``dataset:<owner/name>`` (among the datasets ``user`` may see:
    a hidden dataset filters like a missing one), a task slug, a library or a card tag."""
    model_cls = queryset.model
    if tag.startswith("license:"):
        value = tag.partition(":")[2]
        return queryset.filter(
            Q(license__key__iexact=value) | Q(license__spdx_id__iexact=value) | Q(license_declared__iexact=value)
        )
    if tag.startswith("dataset:") and model_cls is MLModel:
        datasets = Dataset.objects.visible_to(user).with_name(tag.partition(":")[2])
        links = ModelDataset.objects.filter(model=OuterRef("pk"), dataset__in=datasets)
        return queryset.filter(Exists(links))
    through = model_cls.tasks.through
    column = f"{model_cls._meta.model_name}_id"
    in_tasks = Exists(through.objects.filter(**{column: OuterRef("pk"), "task__slug": tag}))
    return queryset.filter(in_tasks | card_mentions(tag))


def card_mentions(tag: str) -> Q:
    """The card's tags or library (hfhub.RepoCard)."""
    if connection.vendor == "postgresql":
        return Q(hub_card__data__tags__contains=[tag]) | Q(hub_card__data__library_name=tag)
    return Q(hub_card__data__tags__icontains=f'"{tag}"') | Q(hub_card__data__library_name=tag)


def page(queryset: QuerySet, query: ListQuery, cursor: str | None, user):
    if query.search:
        queryset = matching_id(queryset, query.search)
    if query.author:
        queryset = queryset.filter(owner__username=query.author)
    for tag in query.filters:
        queryset = tagged(queryset, tag, user)
    try:
        return Keyset(query.ordering).page(queryset, cursor, query.limit)
    except InvalidCursor as exc:
        raise bad_request(str(exc)) from None
