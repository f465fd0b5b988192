"""Full-text search over names, cards, tasks and descriptions.

PostgreSQL: a weighted ``tsvector`` per asset (name A, card and description B, task and domain
names C), kept up to date by triggers (migration catalog 0004) and GIN-indexed; queries are
``websearch_to_tsquery`` in both the 'simple' and 'english' configurations, ranked by ``ts_rank``.
SQLite: a plain fallback (every word somewhere in name, card or tasks; a name match ranks first).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import (
    Case,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast

MAX_QUERY = 200


def apply(queryset: QuerySet, text: str) -> QuerySet:
    text = (text or "").strip()[:MAX_QUERY]
    if not text:
        return queryset
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank

        query = SearchQuery(text, config="simple", search_type="websearch") | SearchQuery(
            text, config="english", search_type="websearch"
        )
        # ts_rank is a real; as a double its exact value survives the round trip through a cursor.
        rank = Cast(SearchRank(F("search_vector"), query), FloatField())
        return queryset.filter(search_vector=query).annotate(rank=rank)
    return _fallback(queryset, text)


def _fallback(queryset: QuerySet, text: str) -> QuerySet:
    model = queryset.model
    through = model.tasks.through
    owner_column = f"{model._meta.model_name}_id"
    words = text.split()[:8]
    rank = Value(0.0, output_field=FloatField())
    for word in words:
        in_tasks = Exists(
            through.objects.filter(**{owner_column: OuterRef("pk")}).filter(
                Q(task__name__icontains=word) | Q(task__slug__icontains=word)
            )
        )
        text_fields = Q(card__icontains=word)
        if hasattr(model, "objective"):
            text_fields |= Q(objective__icontains=word)
        queryset = queryset.filter(Q(name__icontains=word) | text_fields | in_tasks)
        rank = rank + Case(When(name__icontains=word, then=Value(1.0)), default=Value(0.2), output_field=FloatField())
    return queryset.annotate(rank=rank)
