"""Lineage statistics: relations between visible models and the deepest visible derivation chains.

The depth of every model is found once over the whole graph by a recursive CTE (an upper bound of a
viewer's depth, since hidden models only cut chains), then candidates are checked by short upward
walks in branch-and-bound order; docs/insights.md explains the algorithm and its costs.
"""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, QuerySet

from catalog.models import MLModel, ModelLineage
from insights.counting import counted
from insights.queries import TOP_N, fetch, hidden_cte, hidden_of, planner, visible_models

MAX_LINEAGE_DEPTH = 100
# Temporary tables of lineage_deepest: per connection, dropped after use.
START_TABLE, DEPTH_TABLE, HIDDEN_TABLE = "omh_lineage_start", "omh_lineage_depth", "omh_lineage_hidden"
BOUND_BATCH = 500


def _visible_edges(user) -> QuerySet[ModelLineage]:
    edges = ModelLineage.objects.order_by()
    hidden = hidden_of(visible_models(user), user)
    if hidden is not None:
        ids = hidden.values("id")
        edges = edges.exclude(model__in=ids).exclude(base__in=ids)
    return edges


def lineage_relations(user) -> dict:
    grouped = _visible_edges(user).values("relation").annotate(n=Count("id")).order_by()
    pairs = list(grouped.values_list("relation", "n"))
    total = sum(n for _, n in pairs)
    return {"rows": counted(pairs, total, "relation"), "total": total}


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
        rows.append(
            {
                "model": names.get(leaf, leaf),
                "depth": depth,
                "root": names.get(path[0], path[0]),
                "chain": " → ".join(str(names.get(i, i)) for i in path),
            }
        )
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
            hidden = hidden_of(visible_models(user), user)
            if hidden is None:
                cursor.execute(
                    f"SELECT id, depth FROM {DEPTH_TABLE} WHERE depth >= %s ORDER BY depth DESC, id LIMIT {TOP_N}",
                    [minimum],
                )
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
    with planner(nested_loops_only=True):
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
        cursor.execute(
            f"SELECT id, depth FROM {DEPTH_TABLE} ORDER BY depth DESC, id LIMIT {BOUND_BATCH} OFFSET {examined}"
        )
        batch = cursor.fetchall()
        if not batch or (len(best) >= TOP_N and batch[0][1] < best[TOP_N - 1][1]):
            return best
        if examined >= settings.INSIGHTS_LINEAGE_MAX_CANDIDATES:
            return None
        examined += len(batch)
        marks = ", ".join(["%s"] * len(batch))
        with planner(nested_loops_only=True):
            cursor.execute(
                f"""
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
            """,
                [*(pk for pk, _ in batch), minimum],
            )
        best = sorted([*best, *cursor.fetchall()], key=lambda row: (-row[1], row[0]))[:TOP_N]


def _deepest_direct(user, *, skip_first_level_leaves: bool) -> list[tuple[int, int]]:
    """The same answer by one walk over the visible graph (the fallback, and the tests' reference)."""
    table = ModelLineage._meta.db_table
    cte, params, visible = hidden_cte(user)
    model_ok, base_ok, parent_ok = visible("e.model_id"), visible("e.base_id"), visible("p.base_id")
    # Any derivative, visible or not: a superset of the start needed, and one index probe.
    has_derivative = ""
    if skip_first_level_leaves:
        has_derivative = f"AND EXISTS (SELECT 1 FROM {table} d WHERE d.base_id = e.model_id)"
    minimum = 2 if skip_first_level_leaves else 1
    sql = f"""
        WITH RECURSIVE {cte}
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
    with planner(nested_loops_only=True):
        return fetch(sql, list(params))


def _longest_paths(leaves: list[int], user) -> dict[int, list[int]]:
    """One longest root -> leaf path per leaf, from the leaves' visible ancestor edges (one CTE, index walks)."""
    if not leaves:
        return {}
    table = ModelLineage._meta.db_table
    cte, params, visible = hidden_cte(user)
    base_ok = visible("e.base_id")
    marks = ", ".join(["%s"] * len(leaves))
    sql = f"""
        WITH RECURSIVE {cte}
        up(leaf, model_id, base_id) AS (
            SELECT e.model_id, e.model_id, e.base_id FROM {table} e WHERE e.model_id IN ({marks}) AND {base_ok}
            UNION
            SELECT up.leaf, e.model_id, e.base_id FROM up JOIN {table} e ON e.model_id = up.base_id WHERE {base_ok}
        )
        SELECT leaf, model_id, base_id FROM up
    """
    graphs: dict[int, dict[int, list[int]]] = {}
    with planner(nested_loops_only=True):  # a hash join rescanned the lineage table at every step (1 s)
        edges = fetch(sql, [*params, *leaves])
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
