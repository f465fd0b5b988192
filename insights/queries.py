"""What every statistic starts from: the assets the viewer may see, the ones they may not (as SQL
for raw queries), and the PostgreSQL session settings of the analytics queries."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet

from catalog.models import Dataset, MLModel, Visibility, sees_everything

TOP_N = 10  # rows of the "top" statistics


@contextmanager
def analytics_session():
    """On PostgreSQL: enough work_mem for the hash joins and aggregates to stay in memory, and no JIT
    (compiling costs more than it saves on queries of a second). SET LOCAL ends with the transaction."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)", [settings.INSIGHTS_WORK_MEM]
        )
        yield


@contextmanager
def planner(*, nested_loops_only: bool):
    """For the recursive CTE: each step should probe the (base_id, model_id) index for the few rows
    of the frontier; the planner, misjudging the work table's size, may instead rescan the whole
    lineage table with a merge or hash join at every step."""
    if connection.vendor != "postgresql" or not nested_loops_only:
        yield
        return
    switch = "SELECT set_config('enable_mergejoin', %s, true), set_config('enable_hashjoin', %s, true)"
    with connection.cursor() as cursor:
        cursor.execute(switch, ["off", "off"])
        try:
            yield
        finally:
            cursor.execute(switch, ["on", "on"])


def visible_models(user) -> QuerySet[MLModel]:
    return MLModel.objects.visible_to(user).order_by()


def visible_datasets(user) -> QuerySet[Dataset]:
    return Dataset.objects.visible_to(user).order_by()


def hidden_of(queryset: QuerySet, user) -> QuerySet | None:
    """The assets of this kind the viewer may NOT see, or None when they see everything.

    Public assets are visible to everyone (visible_to's contract), so the hidden ones are the
    private ones outside visible_to: usually a small set, cheaper to exclude than to hash every
    visible id.
    """
    if sees_everything(user):
        return None
    model = queryset.model
    private = model.objects.order_by().filter(visibility=Visibility.PRIVATE)
    return private.exclude(pk__in=model.objects.visible_to(user).filter(visibility=Visibility.PRIVATE).values("pk"))


def hidden_cte(user) -> tuple[str, list, Callable[[str], str]]:
    """For a recursive query: the hidden models as a CTE computed once, and the test "column is visible"."""
    hidden = hidden_of(visible_models(user), user)
    if hidden is None:
        return "", [], lambda column: "1 = 1"
    sql, params = hidden.values("id").query.sql_with_params()
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
    cte = f"hidden(id) AS {materialized} ({sql}),"
    return cte, list(params), lambda column: f"{column} NOT IN (SELECT id FROM hidden)"


def in_visible(column: str, queryset: QuerySet, user) -> tuple[str, list]:
    """SQL condition "column is a visible id" (an anti-join on the hidden ids), TRUE for staff."""
    hidden = hidden_of(queryset, user)
    if hidden is None:
        return "1 = 1", []
    # NOT IN keeps it a hashed subplan, built once: as an anti-join the planner may pick a nested
    # loop into the models table, one heap visit per row.
    sql, params = hidden.values("id").query.sql_with_params()
    return f"{column} NOT IN ({sql})", list(params)


def fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
