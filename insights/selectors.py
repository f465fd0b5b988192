"""Statistics over the catalogue, always over what the viewer may see.

Every number is computed by the database (aggregates, GROUP BY, a recursive CTE for lineage
depth, ``percentile_cont`` on PostgreSQL with an ORDER BY/OFFSET fallback elsewhere); Python only
shapes the result. Each statistic is a table (``columns`` + ``rows``) so that the chart, the HTML
table, the JSON API and the CSV download all show the same numbers.

Results are cached per visibility scope for ``INSIGHTS_CACHE_SECONDS``, under keys that change with
who may see what (``catalog.cache_scopes``): a visibility change, a revocation or an expiry shows in
the next request.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import Avg, Case, Count, Max, Min, Q, QuerySet, StdDev, Value, When
from django.db.models.functions import ExtractYear, TruncMonth

from accounts.models import Affiliation, User
from catalog import cache_scopes
from catalog.models import Dataset, MLModel, ModelLineage, Task, Visibility, is_member, sees_everything

logger = logging.getLogger(__name__)

CACHE_PREFIX = "insights:v1"
TOP_N = 10
MAX_LINEAGE_DEPTH = 100
# Temporary tables of lineage_deepest: per connection, dropped after use.
START_TABLE, DEPTH_TABLE, HIDDEN_TABLE = "omh_lineage_start", "omh_lineage_depth", "omh_lineage_hidden"
BOUND_BATCH = 500
PARAMETER_EDGES = [0] + [m * 10**e for e in range(0, 14) for m in (1, 3)]  # 0, 1, 3, 10, 30 ... 3e13
SIZE_EDGES = [0] + [10**e for e in range(0, 13)]  # 0, 1, 10, 100 ... 1e12


# --------------------------------------------------------------------------------------------
# Scopes and caching
# --------------------------------------------------------------------------------------------


def scope_of(user) -> str:
    """Viewers who see the same assets share a scope (shown with each statistic; the cache key adds the
    visibility generation and a user's active grants: catalog.cache_scopes)."""
    if not is_member(user):
        return "public"
    if sees_everything(user):
        return "all"
    return f"user-{user.pk}"  # own assets and grants differ from one user to the next


def is_staff_viewer(user) -> bool:
    return sees_everything(user)


def cache_seconds() -> int:
    return settings.INSIGHTS_CACHE_SECONDS


def invalidate() -> None:
    """Drop every cached statistic (all scopes, and the API's facet counts) at once, e.g. after a
    bulk import."""
    cache_scopes.bump_generation(on_commit=False)


@contextmanager
def _analytics_session():
    """On PostgreSQL: enough work_mem for the hash joins and aggregates to stay in memory, and no JIT
    (compiling costs more than it saves on queries of a second). SET LOCAL ends with the transaction."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)",
                       [settings.INSIGHTS_WORK_MEM])
        yield


@contextmanager
def _planner(*, nested_loops_only: bool):
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


def compute(stat: Stat, user) -> dict:
    with _analytics_session():
        return _payload(stat, stat.compute(user), scope_of(user))


def _prefix(user) -> str:
    """The viewer's cache scope in the current visibility generation: a change of visibility, a
    deletion, a grant, a revocation or an expiry shows in the next request (catalog.cache_scopes)."""
    return f"{CACHE_PREFIX}:{cache_scopes.generation()}:{cache_scopes.cache_scope(user)}"


def _key(prefix: str, name: str) -> str:
    return f"{prefix}:{name}"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _models(user) -> QuerySet[MLModel]:
    return MLModel.objects.visible_to(user).order_by()


def _datasets(user) -> QuerySet[Dataset]:
    return Dataset.objects.visible_to(user).order_by()


def _hidden(queryset: QuerySet, user) -> QuerySet | None:
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


def _hidden_cte(user) -> tuple[str, list, Callable[[str], str]]:
    """For a recursive query: the hidden models as a CTE computed once, and the test "column is visible"."""
    hidden = _hidden(_models(user), user)
    if hidden is None:
        return "", [], lambda column: "1 = 1"
    sql, params = hidden.values("id").query.sql_with_params()
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
    cte = f"hidden(id) AS {materialized} ({sql}),"
    return cte, list(params), lambda column: f"{column} NOT IN (SELECT id FROM hidden)"


def _in_visible(column: str, queryset: QuerySet, user) -> tuple[str, list]:
    """SQL condition "column is a visible id" (an anti-join on the hidden ids), TRUE for staff."""
    hidden = _hidden(queryset, user)
    if hidden is None:
        return "1 = 1", []
    # NOT IN keeps it a hashed subplan, built once: as an anti-join the planner may pick a nested
    # loop into the models table, one heap visit per row.
    sql, params = hidden.values("id").query.sql_with_params()
    return f"{column} NOT IN ({sql})", list(params)


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _share(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0


def _num(value) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    value = float(value)
    return round(value, 2) if math.isfinite(value) else None


def _percentiles(queryset: QuerySet, field: str, fractions: tuple[float, ...]) -> list[float | None]:
    """percentile_cont on PostgreSQL; elsewhere the same interpolation from ORDER BY ... OFFSET."""
    values = queryset.filter(**{f"{field}__isnull": False}).order_by()
    if connection.vendor == "postgresql":
        sql, params = values.values(field).query.sql_with_params()
        array = ", ".join(str(f) for f in fractions)
        rows = _fetch(f"SELECT percentile_cont(ARRAY[{array}]) WITHIN GROUP (ORDER BY v) FROM ({sql}) AS s(v)", params)
        return [None if v is None else float(v) for v in (rows[0][0] or [None] * len(fractions))]
    n = values.count()
    result = []
    for fraction in fractions:
        if not n:
            result.append(None)
            continue
        position = fraction * (n - 1)
        low = math.floor(position)
        pair = list(values.order_by(field).values_list(field, flat=True)[low : low + 2])
        upper = pair[1] if len(pair) > 1 else pair[0]
        result.append(pair[0] + (upper - pair[0]) * (position - low))
    return result


def _summary(queryset: QuerySet, field: str, measure: str) -> dict:
    # NULLs filtered explicitly: SQLite's STDDEV_SAMP (a Python aggregate in Django) does not skip them.
    known = queryset.filter(**{f"{field}__isnull": False})
    agg = known.aggregate(count=Count(field), min=Min(field), max=Max(field), mean=Avg(field))
    # A sample standard deviation needs two values (SQLite's Python aggregate raises on one).
    agg["stddev"] = known.aggregate(s=StdDev(field, sample=True))["s"] if agg["count"] >= 2 else None
    p25, median, p75 = _percentiles(queryset, field, (0.25, 0.5, 0.75))
    return {
        "measure": measure, "count": agg["count"], "min": agg["min"], "max": agg["max"], "mean": _num(agg["mean"]),
        "stddev": _num(agg["stddev"]), "p25": _num(p25), "median": _num(median), "p75": _num(p75),
    }


def _short(n: float) -> str:
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:g}{unit}"
    return f"{n:g}"


def _histogram(queryset: QuerySet, field: str, edges: list[int]) -> list[dict]:
    """Counts per bin [edges[i], edges[i+1]) computed with one CASE ... GROUP BY; empty bins between filled."""
    bins = Case(
        *[When(**{f"{field}__lt": edge, "then": Value(i)}) for i, edge in enumerate(edges[1:])],
        default=Value(len(edges) - 1),
    )
    counts = dict(
        queryset.filter(**{f"{field}__isnull": False}).annotate(bin=bins).values("bin")
        .annotate(n=Count("id")).values_list("bin", "n")
    )
    if not counts:
        return []
    rows = []
    for i in range(min(counts), max(counts) + 1):
        low = edges[i]
        high = edges[i + 1] if i + 1 < len(edges) else None
        label = f"{_short(low)}–{_short(high)}" if high else f"≥ {_short(low)}"
        rows.append({"bin": label, "from": low, "to": high, "count": counts.get(i, 0)})
    return rows


def _counted(pairs, total: int, label: str, names: dict | None = None) -> list[dict]:
    rows = [{label: (names or {}).get(key, key), "count": n, "share": _share(n, total)} for key, n in pairs]
    return sorted(rows, key=lambda r: (-r["count"], str(r[label])))


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def models_by_media(user) -> dict:
    visible = _models(user)
    total = visible.count()
    # One LEFT JOIN pass over the through table: models without media land in the NULL group.
    pairs = [(media or "none", n) for media, n in visible.values("media").annotate(n=Count("id")).order_by()
             .values_list("media", "n")]
    return {"rows": _counted(pairs, total, "media"), "total": total,
            "note": "A model with several media counts once for each; shares are of all visible models."}


def _group(queryset: QuerySet, field: str, label: str, empty: str) -> dict:
    total = queryset.count()
    pairs = [(key or empty, n) for key, n in
             queryset.values(field).annotate(n=Count("id")).order_by().values_list(field, "n")]
    return {"rows": _counted(pairs, total, label), "total": total}


def models_by_family(user) -> dict:
    return _group(_models(user), "architecture_family", "family", "other")


def models_by_training_type(user) -> dict:
    return _group(_models(user), "training_type", "training_type", "unspecified")


def models_by_license_category(user) -> dict:
    return _group(_models(user), "license__category", "category", "none")


def _media_task_matrix(model, fk: str, user, visible: QuerySet) -> dict:
    media_table = model.media.through._meta.db_table
    task_table = model.tasks.through._meta.db_table
    condition, params = _in_visible(f"m.{fk}", visible, user)
    sql = f"""
        SELECT m.mediatype_id, t.slug, COUNT(*)
        FROM {media_table} m
        JOIN {task_table} mt ON mt.{fk} = m.{fk}
        JOIN {Task._meta.db_table} t ON t.id = mt.task_id
        WHERE {condition}
        GROUP BY m.mediatype_id, t.slug
    """
    rows = [{"media": media, "task": task, "count": n} for media, task, n in _fetch(sql, params)]
    rows.sort(key=lambda r: (r["media"], r["task"]))
    return {
        "rows": rows,
        "media": sorted({r["media"] for r in rows}),
        "tasks": sorted({r["task"] for r in rows}),
    }


def models_media_task(user) -> dict:
    return _media_task_matrix(MLModel, "mlmodel_id", user, _models(user))


def model_parameters(user) -> dict:
    return {"rows": [_summary(_models(user), "parameter_count", "parameters")]}


def model_parameter_histogram(user) -> dict:
    return {"rows": _histogram(_models(user), "parameter_count", PARAMETER_EDGES), "scale": "log"}


def models_per_month(user) -> dict:
    monthly_sql, params = (
        _models(user).annotate(month=TruncMonth("created_at")).values("month").annotate(n=Count("id")).order_by()
        .query.sql_with_params()
    )
    sql = f"SELECT month, n, SUM(n) OVER (ORDER BY month) FROM ({monthly_sql}) AS monthly ORDER BY month"
    rows = [{"month": _month(m), "count": n, "cumulative": int(c)} for m, n, c in _fetch(sql, list(params))]
    return {"rows": rows}


def _month(value) -> str:
    return value.strftime("%Y-%m") if hasattr(value, "strftime") else str(value)[:7]


def most_downloaded_models(user) -> dict:
    top = _models(user).order_by("-downloads", "-id").values_list("owner__username", "name", "downloads", "likes")
    return {"rows": [{"model": f"{o}/{n}", "downloads": d, "likes": likes} for o, n, d, likes in top[:TOP_N]]}


def _visible_edges(user) -> QuerySet[ModelLineage]:
    edges = ModelLineage.objects.order_by()
    hidden = _hidden(_models(user), user)
    if hidden is not None:
        ids = hidden.values("id")
        edges = edges.exclude(model__in=ids).exclude(base__in=ids)
    return edges


def lineage_relations(user) -> dict:
    grouped = _visible_edges(user).values("relation").annotate(n=Count("id")).order_by()
    pairs = list(grouped.values_list("relation", "n"))
    total = sum(n for _, n in pairs)
    return {"rows": _counted(pairs, total, "relation"), "total": total}


def lineage_deepest(user) -> dict:
    """The longest derivation chains (root -> ... -> model) among visible models, by a recursive CTE.

    A chain stops at a model the viewer may not see. (id, depth) pairs are deduplicated by UNION,
    so the work stays bounded on graphs with merges; depth is capped at MAX_LINEAGE_DEPTH.
    """
    # Most derived models are leaves one step from a root. Starting from the depth-1 models that
    # have derivatives gives every depth >= 2 exactly (all but the last model of a chain have one),
    # with a fraction of the work; the full start is needed only when fewer than TOP_N go deeper.
    top = _deepest(user, skip_first_level_leaves=True)
    if len(top) < TOP_N:
        top = _deepest(user, skip_first_level_leaves=False)
    paths = _longest_paths([leaf for leaf, _ in top], user)
    ids = {i for path in paths.values() for i in path}
    names = {
        pk: f"{o}/{n}" for pk, o, n in MLModel.objects.filter(pk__in=ids).values_list("id", "owner__username", "name")
    }
    rows = []
    for leaf, depth in top:
        path = paths.get(leaf, [leaf])
        rows.append({"model": names.get(leaf, leaf), "depth": depth, "root": names.get(path[0], path[0]),
                     "chain": " → ".join(str(names.get(i, i)) for i in path)})
    return {"rows": rows}


def _deepest(user, *, skip_first_level_leaves: bool) -> list[tuple[int, int]]:
    """The TOP_N (model id, depth) with the longest visible chains, deepest first, then by id.

    First the depth of every model over the whole lineage graph (``_full_depths``), which for staff is
    the answer. For other viewers it is an upper bound of their depth (hidden models only cut
    chains), so the candidates are taken in order of it and their visible depth computed by short
    upward walks, until the next candidate's bound is below the TOP_N-th depth found: exact, and
    usually a few hundred walks instead of a second walk over the whole graph with a visibility test
    at every step. Should the bound prune badly, the direct walk is the fallback.
    """
    minimum = 2 if skip_first_level_leaves else 1
    with connection.cursor() as cursor:
        try:
            _full_depths(cursor, skip_first_level_leaves=skip_first_level_leaves)
            hidden = _hidden(_models(user), user)
            if hidden is None:
                cursor.execute(f"SELECT id, depth FROM {DEPTH_TABLE} WHERE depth >= %s ORDER BY depth DESC, id "
                               f"LIMIT {TOP_N}", [minimum])
                return cursor.fetchall()
            sql, params = hidden.values("id").query.sql_with_params()
            cursor.execute(f"CREATE TEMPORARY TABLE {HIDDEN_TABLE} (id BIGINT PRIMARY KEY)")
            cursor.execute(f"INSERT INTO {HIDDEN_TABLE} (id) {sql}", params)
            bounded = _bounded_deepest(cursor, minimum)
            if bounded is not None:
                return bounded
        finally:
            try:
                for name in (START_TABLE, DEPTH_TABLE, HIDDEN_TABLE):
                    cursor.execute(f"DROP TABLE IF EXISTS {name}")
            except DatabaseError:  # a failed statement aborted the transaction: its rollback drops them
                pass
    return _deepest_direct(user, skip_first_level_leaves=skip_first_level_leaves)


def _full_depths(cursor, *, skip_first_level_leaves: bool) -> None:
    """DEPTH_TABLE(id, depth): the longest chain ending at each model over the whole lineage graph (all
    models of depth >= 2, plus depth 1 unless skipped). Two statements: the start set (the first step
    of every chain) by hash joins into a temporary table, then the walk down from it by index probes
    only (the planner, misjudging the work table's size, would otherwise rescan the lineage table with
    a hash or merge join at every step)."""
    table = ModelLineage._meta.db_table
    has_derivative = ""
    if skip_first_level_leaves:  # leaves one step from a root have depth 1: not needed for depth >= 2
        has_derivative = f"AND EXISTS (SELECT 1 FROM {table} d WHERE d.base_id = e.model_id)"
    for name in (START_TABLE, DEPTH_TABLE, HIDDEN_TABLE):
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"""
        CREATE TEMPORARY TABLE {START_TABLE} AS
        SELECT DISTINCT e.model_id AS id FROM {table} e
        WHERE NOT EXISTS (SELECT 1 FROM {table} p WHERE p.model_id = e.base_id) {has_derivative}
    """)
    with _planner(nested_loops_only=True):
        cursor.execute(f"""
            CREATE TEMPORARY TABLE {DEPTH_TABLE} AS
            WITH RECURSIVE chain(id, depth) AS (
                SELECT id, 1 FROM {START_TABLE}
                UNION
                SELECT e.model_id, c.depth + 1 FROM chain c JOIN {table} e ON e.base_id = c.id
                WHERE c.depth < {MAX_LINEAGE_DEPTH}
            )
            SELECT id, MAX(depth) AS depth FROM chain GROUP BY id
        """)


def _bounded_deepest(cursor, minimum: int) -> list[tuple[int, int]] | None:
    """Branch and bound over DEPTH_TABLE (upper bounds) with HIDDEN_TABLE (ids the viewer may not see).
    None when more than INSIGHTS_LINEAGE_MAX_CANDIDATES (20,000) candidates would be needed."""
    table = ModelLineage._meta.db_table
    best: list[tuple[int, int]] = []  # (id, visible depth), deepest first, then by id
    examined = 0
    while True:
        cursor.execute(f"SELECT id, depth FROM {DEPTH_TABLE} ORDER BY depth DESC, id LIMIT {BOUND_BATCH} "
                       f"OFFSET {examined}")
        batch = cursor.fetchall()
        if not batch or (len(best) >= TOP_N and batch[0][1] < best[TOP_N - 1][1]):
            return best
        if examined >= settings.INSIGHTS_LINEAGE_MAX_CANDIDATES:
            return None
        examined += len(batch)
        marks = ", ".join(["%s"] * len(batch))
        with _planner(nested_loops_only=True):
            cursor.execute(f"""
                WITH RECURSIVE up(leaf, node, d) AS (
                    SELECT DISTINCT c.model_id, c.model_id, 0 FROM {table} c
                    WHERE c.model_id IN ({marks})
                      AND NOT EXISTS (SELECT 1 FROM {HIDDEN_TABLE} h WHERE h.id = c.model_id)
                    UNION
                    SELECT up.leaf, e.base_id, up.d + 1 FROM up JOIN {table} e ON e.model_id = up.node
                    WHERE up.d < {MAX_LINEAGE_DEPTH}
                      AND NOT EXISTS (SELECT 1 FROM {HIDDEN_TABLE} h WHERE h.id = e.base_id)
                )
                SELECT leaf, MAX(d) FROM up GROUP BY leaf HAVING MAX(d) >= %s
            """, [*(pk for pk, _ in batch), minimum])
        best = sorted([*best, *cursor.fetchall()], key=lambda row: (-row[1], row[0]))[:TOP_N]


def _deepest_direct(user, *, skip_first_level_leaves: bool) -> list[tuple[int, int]]:
    """The same answer by one walk over the visible graph (the fallback, and the tests' reference)."""
    table = ModelLineage._meta.db_table
    hidden_cte, params, visible = _hidden_cte(user)
    model_ok, base_ok, parent_ok = visible("e.model_id"), visible("e.base_id"), visible("p.base_id")
    # Any derivative, visible or not: a superset of the start needed, and one index probe.
    has_derivative = ""
    if skip_first_level_leaves:
        has_derivative = f"AND EXISTS (SELECT 1 FROM {table} d WHERE d.base_id = e.model_id)"
    minimum = 2 if skip_first_level_leaves else 1
    sql = f"""
        WITH RECURSIVE {hidden_cte}
        chain(id, depth) AS (
            SELECT e.model_id, 1 FROM {table} e
            WHERE {model_ok} AND {base_ok} {has_derivative}
              AND NOT EXISTS (SELECT 1 FROM {table} p WHERE p.model_id = e.base_id AND {parent_ok})
            UNION
            SELECT e.model_id, c.depth + 1 FROM chain c JOIN {table} e ON e.base_id = c.id
            WHERE {model_ok} AND c.depth < {MAX_LINEAGE_DEPTH}
        )
        SELECT id, MAX(depth) AS depth FROM chain GROUP BY id HAVING MAX(depth) >= {minimum}
        ORDER BY depth DESC, id LIMIT {TOP_N}
    """
    with _planner(nested_loops_only=True):
        return _fetch(sql, list(params))


def _longest_paths(leaves: list[int], user) -> dict[int, list[int]]:
    """One longest root -> leaf path per leaf, from the leaves' visible ancestor edges (one CTE, index walks)."""
    if not leaves:
        return {}
    table = ModelLineage._meta.db_table
    hidden_cte, params, visible = _hidden_cte(user)
    base_ok = visible("e.base_id")
    marks = ", ".join(["%s"] * len(leaves))
    sql = f"""
        WITH RECURSIVE {hidden_cte}
        up(leaf, model_id, base_id) AS (
            SELECT e.model_id, e.model_id, e.base_id FROM {table} e WHERE e.model_id IN ({marks}) AND {base_ok}
            UNION
            SELECT up.leaf, e.model_id, e.base_id FROM up JOIN {table} e ON e.model_id = up.base_id WHERE {base_ok}
        )
        SELECT leaf, model_id, base_id FROM up
    """
    graphs: dict[int, dict[int, list[int]]] = {}
    with _planner(nested_loops_only=True):  # a hash join rescanned the lineage table at every step (1 s)
        edges = _fetch(sql, [*params, *leaves])
    for leaf, model_id, base_id in edges:
        graphs.setdefault(leaf, {}).setdefault(model_id, []).append(base_id)
    return {leaf: _longest_path(leaf, graphs.get(leaf, {})) for leaf in leaves}


def _longest_path(leaf: int, bases: dict[int, list[int]]) -> list[int]:
    best: dict[int, list[int]] = {}
    stack = [leaf]
    while stack:  # iterative post-order: chains can be deeper than Python's recursion limit
        node = stack[-1]
        pending = [b for b in bases.get(node, []) if b not in best]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        candidates = [best[b] for b in sorted(bases.get(node, []))]
        best[node] = (max(candidates, key=len) if candidates else []) + [node]
    return best[leaf]


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


def datasets_media_task(user) -> dict:
    return _media_task_matrix(Dataset, "dataset_id", user, _datasets(user))


def dataset_sizes(user) -> dict:
    visible = _datasets(user)
    return {"rows": [_summary(visible, "instances_number", "instances"),
                     _summary(visible, "features_number", "features")]}


def dataset_size_histogram(user) -> dict:
    return {"rows": _histogram(_datasets(user), "instances_number", SIZE_EDGES), "scale": "log"}


def dataset_ethics(user) -> dict:
    flags = Dataset.ETHICS_FLAGS
    aggregates = {"total": Count("id")}
    for flag in flags:
        aggregates[f"{flag}__yes"] = Count("id", filter=Q(**{flag: True}))
        aggregates[f"{flag}__no"] = Count("id", filter=Q(**{flag: False}))
    agg = _datasets(user).aggregate(**aggregates)
    total = agg["total"]
    rows = []
    for flag in flags:
        yes, no = agg[f"{flag}__yes"], agg[f"{flag}__no"]
        rows.append({"criterion": flag, "yes": yes, "no": no, "unknown": total - yes - no,
                     "share_yes": _share(yes, total)})
    return {"rows": rows, "total": total}


def dataset_domains(user) -> dict:
    visible = _datasets(user)
    total = visible.count()
    through = Dataset.domains.through.objects.all()
    if not sees_everything(user):
        through = through.filter(dataset__in=visible.values("id"))
    pairs = through.values("domain__slug").annotate(n=Count("id")).order_by().values_list("domain__slug", "n")
    return {"rows": _counted(pairs, total, "domain"), "total": total}


def datasets_per_year(user) -> dict:
    visible = _datasets(user)
    published = dict(visible.filter(year__isnull=False).values("year").annotate(n=Count("id")).values_list("year", "n"))
    added = dict(
        visible.annotate(y=ExtractYear("created_at")).values("y").annotate(n=Count("id")).values_list("y", "n")
    )
    years = sorted(set(published) | set(added))
    rows = [{"year": y, "published": published.get(y, 0), "added": added.get(y, 0)} for y in years]
    return {"rows": rows, "note": "published: the dataset's own year; added: the year it entered the hub."}


# --------------------------------------------------------------------------------------------
# Users and licences
# --------------------------------------------------------------------------------------------


def users_per_affiliation(user) -> dict:
    pairs = list(
        Affiliation.objects.annotate(n=Count("members")).order_by().values_list("name", "n")
    )
    without = User.objects.filter(affiliations__isnull=True).count()
    if without:
        pairs.append(("(no affiliation)", without))
    total = User.objects.count()
    return {"rows": _counted(pairs, total, "affiliation"), "total": total}


def top_uploaders(user) -> dict:
    """Owners ranked by the number of assets the viewer may see (models + datasets)."""
    m_sql, m_params = _models(user).values("owner_id").annotate(n=Count("id")).order_by().query.sql_with_params()
    d_sql, d_params = _datasets(user).values("owner_id").annotate(n=Count("id")).order_by().query.sql_with_params()
    sql = f"""
        SELECT owner_id, SUM(m) AS models, SUM(d) AS datasets, SUM(m) + SUM(d) AS total FROM (
            SELECT owner_id, n AS m, 0 AS d FROM ({m_sql}) AS mm
            UNION ALL
            SELECT owner_id, 0 AS m, n AS d FROM ({d_sql}) AS dd
        ) AS counts GROUP BY owner_id ORDER BY total DESC, owner_id LIMIT {TOP_N}
    """
    top = _fetch(sql, [*m_params, *d_params])
    names = dict(User.objects.filter(pk__in=[r[0] for r in top]).values_list("id", "username"))
    return {"rows": [{"user": names.get(o, o), "models": int(m), "datasets": int(d), "total": int(t)}
                     for o, m, d, t in top]}


def _license_statistics() -> Callable | None:
    try:
        from licensing.selectors import license_statistics
    except ImportError:
        return None
    return license_statistics


def licenses(user) -> dict:
    """The licensing app's numbers, as a table of categories (models and datasets) plus a summary.

    Its own structure is kept under "data"; an unknown structure gives an empty table.
    """
    function = _license_statistics()
    if function is None:
        return {"rows": [], "available": False}
    data = function(user)
    rows: list[dict] = []
    summary: list[dict] = []
    if isinstance(data, dict) and isinstance(data.get("models"), dict):
        labels = data.get("category_labels") or {}
        by_model = data["models"].get("by_category") or {}
        by_dataset = (data.get("datasets") or {}).get("by_category") or {}
        for category in sorted(set(by_model) | set(by_dataset), key=lambda c: (-by_model.get(c, 0), c)):
            rows.append({"category": category, "label": str(labels.get(category, category)),
                         "models": by_model.get(category, 0), "datasets": by_dataset.get(category, 0)})
        for key, label in (("without_license_share", "Share of assets without a licence"),
                           ("models_analysed", "Models analysed for compliance"),
                           ("models_with_violations", "Models with licence violations")):
            if key in data:
                summary.append({"label": label, "key": key, "value": data[key]})
    return {"rows": rows, "summary": summary, "data": data, "available": True}


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    name: str
    title: str
    section: str
    chart: str  # pie | bar | heatmap | histogram | line | table
    columns: tuple[str, ...]
    compute: Callable[[Any], dict]
    staff_only: bool = False
    chart_x: str = ""  # label column
    chart_y: tuple[str, ...] = ("count",)  # value column(s)

    def available(self) -> bool:
        return self.name != "licenses" or _license_statistics() is not None


STATS: dict[str, Stat] = {s.name: s for s in [
    Stat("models_by_media", "Models by media type", "models", "pie", ("media", "count", "share"), models_by_media,
         chart_x="media"),
    Stat("models_by_family", "Models by architecture family", "models", "pie", ("family", "count", "share"),
         models_by_family, chart_x="family"),
    Stat("models_by_training_type", "Models by training type", "models", "pie", ("training_type", "count", "share"),
         models_by_training_type, chart_x="training_type"),
    Stat("models_by_license_category", "Models by licence category", "models", "bar", ("category", "count", "share"),
         models_by_license_category, chart_x="category"),
    Stat("models_media_task", "Models: media type × task", "models", "heatmap", ("media", "task", "count"),
         models_media_task),
    Stat("model_parameters", "Model parameter counts", "models", "table",
         ("measure", "count", "min", "max", "mean", "stddev", "p25", "median", "p75"), model_parameters),
    Stat("model_parameter_histogram", "Parameter count histogram (log scale)", "models", "histogram",
         ("bin", "from", "to", "count"), model_parameter_histogram, chart_x="bin"),
    Stat("models_per_month", "Models added per month", "models", "line", ("month", "count", "cumulative"),
         models_per_month, chart_x="month", chart_y=("count", "cumulative")),
    Stat("most_downloaded_models", "Most downloaded models", "models", "bar", ("model", "downloads", "likes"),
         most_downloaded_models, chart_x="model", chart_y=("downloads",)),
    Stat("lineage_relations", "Lineage relations", "models", "bar", ("relation", "count", "share"),
         lineage_relations, chart_x="relation"),
    Stat("lineage_deepest", "Deepest lineage chains", "models", "bar", ("model", "depth", "root", "chain"),
         lineage_deepest, chart_x="model", chart_y=("depth",)),
    Stat("datasets_media_task", "Datasets: media type × task", "datasets", "heatmap", ("media", "task", "count"),
         datasets_media_task),
    Stat("dataset_sizes", "Dataset sizes", "datasets", "table",
         ("measure", "count", "min", "max", "mean", "stddev", "p25", "median", "p75"), dataset_sizes),
    Stat("dataset_size_histogram", "Dataset instances histogram (log scale)", "datasets", "histogram",
         ("bin", "from", "to", "count"), dataset_size_histogram, chart_x="bin"),
    Stat("dataset_ethics", "Datasets meeting each ethics criterion", "datasets", "bar",
         ("criterion", "yes", "no", "unknown", "share_yes"), dataset_ethics, chart_x="criterion",
         chart_y=("yes", "no", "unknown")),
    Stat("dataset_domains", "Datasets by domain", "datasets", "bar", ("domain", "count", "share"), dataset_domains,
         chart_x="domain"),
    Stat("datasets_per_year", "Datasets per year", "datasets", "line", ("year", "published", "added"),
         datasets_per_year, chart_x="year", chart_y=("published", "added")),
    Stat("users_per_affiliation", "Users per affiliation", "users", "bar", ("affiliation", "count", "share"),
         users_per_affiliation, staff_only=True, chart_x="affiliation"),
    Stat("top_uploaders", "Most active uploaders", "users", "bar", ("user", "models", "datasets", "total"),
         top_uploaders, chart_x="user", chart_y=("models", "datasets")),
    Stat("licenses", "Licence categories and compliance", "licences", "bar",
         ("category", "label", "models", "datasets"), licenses, chart_x="label", chart_y=("models", "datasets")),
]}


def stats_for(user) -> list[Stat]:
    return [s for s in STATS.values() if s.available() and (not s.staff_only or is_staff_viewer(user))]


def _payload(stat: Stat, result: dict, scope: str) -> dict:
    return {"name": stat.name, "title": stat.title, "section": stat.section, "chart": stat.chart,
            "columns": list(stat.columns), "scope": scope, **result}


def statistic(name: str, user, *, use_cache: bool = True, prefix: str | None = None) -> dict:
    """One statistic for this viewer, from the cache when fresh. Raises KeyError for unknown names.
    ``prefix``: the viewer's ``_prefix``, when the caller has it already."""
    stat = STATS[name]
    key = _key(prefix or _prefix(user), name)
    if use_cache:
        cached = cache.get(key)
        if cached is not None:
            return cached
    payload = compute(stat, user)
    cache.set(key, payload, cache_seconds())
    return payload


def all_statistics(user) -> list[dict]:
    """Every statistic this viewer may see, fetched from the cache in one round trip."""
    stats = stats_for(user)
    prefix = _prefix(user)
    keys = {_key(prefix, s.name): s for s in stats}
    cached = cache.get_many(list(keys))
    result = []
    for key, stat in keys.items():
        payload = cached.get(key)
        if payload is None:
            payload = compute(stat, user)
            cache.set(key, payload, cache_seconds())
        result.append(payload)
    return result


def cached_fragment(user, name: str, render: Callable[[], Any]) -> Any:
    """A rendered piece of page for the viewer's scope, cached like the statistics it shows."""
    key = _key(_prefix(user), f"fragment:{name}")
    value = cache.get(key)
    if value is None:
        value = render()
        cache.set(key, value, cache_seconds())
    return value


def warm_shared_scopes() -> dict[str, float]:
    """Compute every statistic of the two shared scopes ("all" for staff, "public") into the cache.

    Per-user scopes are left to their first request. Returns the seconds spent per scope.
    """
    from django.contrib.auth.models import AnonymousUser

    staff = User(username="insights-warmer", role=User.Role.ADMIN, is_active=True)  # never saved
    spent = {}
    for user in (staff, AnonymousUser()):
        started = time.perf_counter()
        prefix = _prefix(user)
        for stat in stats_for(user):
            cache.set(_key(prefix, stat.name), compute(stat, user), cache_seconds())
        spent[scope_of(user)] = time.perf_counter() - started
    return spent


def chart_config(name: str, rows: list[dict]) -> dict:
    """What static/insights/charts.js needs to draw one statistic."""
    stat = STATS[name]
    return {"chart": stat.chart, "x": stat.chart_x, "y": list(stat.chart_y), "title": stat.title, "rows": rows}


HOME_STATS = ("models_by_media", "models_by_family", "models_by_license_category", "dataset_domains")


def home_summary(user) -> dict:
    """The public summary for the home page: counts and a few shares over what the viewer may see."""
    prefix = _prefix(user)
    key = _key(prefix, "home_counts")
    counts = cache.get(key)
    if counts is None:
        counts = {"models": _models(user).count(), "datasets": _datasets(user).count()}
        cache.set(key, counts, cache_seconds())
    charts, chart_data = [], {}
    for name in HOME_STATS:
        payload = statistic(name, user, prefix=prefix)
        label = STATS[name].chart_x
        charts.append({"name": name, "title": payload["title"],
                       "rows": [{"label": r[label], "value": r["count"]} for r in payload["rows"]]})
        chart_data[name] = chart_config(name, payload["rows"])
    return {"counts": counts, "charts": charts, "chart_data": chart_data}
