"""Shaping numbers the database counted: shares, rounding, percentiles, summaries, histograms."""

from __future__ import annotations

import math

from django.db import connection
from django.db.models import Avg, Case, Count, Max, Min, QuerySet, StdDev, Value, When

from insights.queries import fetch


def share(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0


def num(value) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    value = float(value)
    return round(value, 2) if math.isfinite(value) else None


def percentiles(queryset: QuerySet, field: str, fractions: tuple[float, ...]) -> list[float | None]:
    """percentile_cont on PostgreSQL; elsewhere the same interpolation from ORDER BY ... OFFSET."""
    values = queryset.filter(**{f"{field}__isnull": False}).order_by()
    if connection.vendor == "postgresql":
        sql, params = values.values(field).query.sql_with_params()
        array = ", ".join(str(f) for f in fractions)
        rows = fetch(f"SELECT percentile_cont(ARRAY[{array}]) WITHIN GROUP (ORDER BY v) FROM ({sql}) AS s(v)", params)
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


def summary(queryset: QuerySet, field: str, measure: str) -> dict:
    # NULLs filtered explicitly: SQLite's STDDEV_SAMP (a Python aggregate in Django) does not skip them.
    known = queryset.filter(**{f"{field}__isnull": False})
    agg = known.aggregate(count=Count(field), min=Min(field), max=Max(field), mean=Avg(field))
    # A sample standard deviation needs two values (SQLite's Python aggregate raises on one).
    agg["stddev"] = known.aggregate(s=StdDev(field, sample=True))["s"] if agg["count"] >= 2 else None
    p25, median, p75 = percentiles(queryset, field, (0.25, 0.5, 0.75))
    return {
        "measure": measure,
        "count": agg["count"],
        "min": agg["min"],
        "max": agg["max"],
        "mean": num(agg["mean"]),
        "stddev": num(agg["stddev"]),
        "p25": num(p25),
        "median": num(median),
        "p75": num(p75),
    }


def short(n: float) -> str:
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:g}{unit}"
    return f"{n:g}"


def histogram(queryset: QuerySet, field: str, edges: list[int]) -> list[dict]:
    """Counts per bin [edges[i], edges[i+1]) computed with one CASE ... GROUP BY; empty bins between filled."""
    bins = Case(
        *[When(**{f"{field}__lt": edge, "then": Value(i)}) for i, edge in enumerate(edges[1:])],
        default=Value(len(edges) - 1),
    )
    counts = dict(
        queryset.filter(**{f"{field}__isnull": False})
        .annotate(bin=bins)
        .values("bin")
        .annotate(n=Count("id"))
        .values_list("bin", "n")
    )
    if not counts:
        return []
    rows = []
    for i in range(min(counts), max(counts) + 1):
        low = edges[i]
        high = edges[i + 1] if i + 1 < len(edges) else None
        label = f"{short(low)}–{short(high)}" if high else f"≥ {short(low)}"
        rows.append({"bin": label, "from": low, "to": high, "count": counts.get(i, 0)})
    return rows


def counted(pairs, total: int, label: str, names: dict | None = None) -> list[dict]:
    rows = [{label: (names or {}).get(key, key), "count": n, "share": share(n, total)} for key, n in pairs]
    return sorted(rows, key=lambda r: (-r["count"], str(r[label])))
