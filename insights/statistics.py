"""The statistics over the catalogue, always over what the viewer may see, and their registry.

Every number is computed by the database (aggregates, GROUP BY, a recursive CTE for lineage
depth, ``percentile_cont`` on PostgreSQL with an ORDER BY/OFFSET fallback elsewhere); Python only
shapes the result. Each statistic is a table (``columns`` + ``rows``) so that the chart, the HTML
table, the JSON API and the CSV download all show the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import ExtractYear, TruncMonth

from accounts.models import Affiliation, User
from catalog.models import Dataset, MLModel, Task, is_member, sees_everything
from insights.counting import counted, histogram, share, summary
from insights.lineage import lineage_deepest, lineage_relations
from insights.queries import TOP_N, analytics_session, fetch, in_visible, visible_datasets, visible_models
from licensing.selectors import license_statistics

PARAMETER_EDGES = [0] + [m * 10**e for e in range(0, 14) for m in (1, 3)]  # 0, 1, 3, 10, 30 ... 3e13
SIZE_EDGES = [0] + [10**e for e in range(0, 13)]  # 0, 1, 10, 100 ... 1e12


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


def compute(stat: Stat, user) -> dict:
    with analytics_session():
        return payload(stat, stat.compute(user), scope_of(user))


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def models_by_media(user) -> dict:
    visible = visible_models(user)
    total = visible.count()
    # One LEFT JOIN pass over the through table: models without media land in the NULL group.
    pairs = [
        (media or "none", n)
        for media, n in visible.values("media").annotate(n=Count("id")).order_by().values_list("media", "n")
    ]
    return {
        "rows": counted(pairs, total, "media"),
        "total": total,
        "note": "A model with several media counts once for each; shares are of all visible models.",
    }


def _group(queryset: QuerySet, field: str, label: str, empty: str) -> dict:
    total = queryset.count()
    pairs = [
        (key or empty, n)
        for key, n in queryset.values(field).annotate(n=Count("id")).order_by().values_list(field, "n")
    ]
    return {"rows": counted(pairs, total, label), "total": total}


def models_by_family(user) -> dict:
    return _group(visible_models(user), "architecture_family", "family", "other")


def models_by_training_type(user) -> dict:
    return _group(visible_models(user), "training_type", "training_type", "unspecified")


def models_by_license_category(user) -> dict:
    return _group(visible_models(user), "license__category", "category", "none")


def _media_task_matrix(model, fk: str, user, visible: QuerySet) -> dict:
    media_table = model.media.through._meta.db_table
    task_table = model.tasks.through._meta.db_table
    condition, params = in_visible(f"m.{fk}", visible, user)
    sql = f"""
        SELECT m.mediatype_id, t.slug, COUNT(*)
        FROM {media_table} m
        JOIN {task_table} mt ON mt.{fk} = m.{fk}
        JOIN {Task._meta.db_table} t ON t.id = mt.task_id
        WHERE {condition}
        GROUP BY m.mediatype_id, t.slug
    """
    rows = [{"media": media, "task": task, "count": n} for media, task, n in fetch(sql, params)]
    rows.sort(key=lambda r: (r["media"], r["task"]))
    return {
        "rows": rows,
        "media": sorted({r["media"] for r in rows}),
        "tasks": sorted({r["task"] for r in rows}),
    }


def models_media_task(user) -> dict:
    return _media_task_matrix(MLModel, "mlmodel_id", user, visible_models(user))


def model_parameters(user) -> dict:
    return {"rows": [summary(visible_models(user), "parameter_count", "parameters")]}


def model_parameter_histogram(user) -> dict:
    return {"rows": histogram(visible_models(user), "parameter_count", PARAMETER_EDGES), "scale": "log"}


def models_per_month(user) -> dict:
    monthly_sql, params = (
        visible_models(user)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(n=Count("id"))
        .order_by()
        .query.sql_with_params()
    )
    sql = f"SELECT month, n, SUM(n) OVER (ORDER BY month) FROM ({monthly_sql}) AS monthly ORDER BY month"
    rows = [{"month": _month(m), "count": n, "cumulative": int(c)} for m, n, c in fetch(sql, list(params))]
    return {"rows": rows}


RELEASE_YEARS_BY_QUARTER = 4  # releases spanning fewer years are counted per quarter, else per year


def models_released(user) -> dict:
    """Models by release date (the model's own date, not when it was loaded into the hub): per year,
    or per quarter when the releases span fewer than RELEASE_YEARS_BY_QUARTER years, with every
    period in between (zeros included) so the axis is even, and a running total."""
    visible = visible_models(user).filter(release_date__isnull=False)
    per_month = dict(
        visible.annotate(month=TruncMonth("release_date"))
        .values("month")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("month", "n")
    )
    undated = visible_models(user).filter(release_date__isnull=True).count()
    note = (
        "1 visible model without a release date is not counted."
        if undated == 1
        else f"{undated:,} visible models without a release date are not counted."
    )
    if not per_month:
        return {"rows": [], "note": note}
    first, last = min(per_month), max(per_month)
    quarterly = last.year - first.year < RELEASE_YEARS_BY_QUARTER

    def period(day) -> tuple[int, int]:
        return (day.year, (day.month - 1) // 3 + 1) if quarterly else (day.year, 0)

    counts: dict[tuple[int, int], int] = {}
    for month, n in per_month.items():
        counts[period(month)] = counts.get(period(month), 0) + n
    rows, total, key = [], 0, period(first)
    while key <= period(last):
        total += counts.get(key, 0)
        label = f"{key[0]} Q{key[1]}" if quarterly else str(key[0])
        rows.append({"period": label, "count": counts.get(key, 0), "cumulative": total})
        key = (key[0] + key[1] // 4, key[1] % 4 + 1) if quarterly else (key[0] + 1, 0)
    return {"rows": rows, "note": note}


def _month(value) -> str:
    return value.strftime("%Y-%m") if hasattr(value, "strftime") else str(value)[:7]


def most_downloaded_models(user) -> dict:
    top = (
        visible_models(user).order_by("-downloads", "-id").values_list("owner__username", "name", "downloads", "likes")
    )
    return {"rows": [{"model": f"{o}/{n}", "downloads": d, "likes": likes} for o, n, d, likes in top[:TOP_N]]}


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


def datasets_media_task(user) -> dict:
    return _media_task_matrix(Dataset, "dataset_id", user, visible_datasets(user))


def dataset_sizes(user) -> dict:
    visible = visible_datasets(user)
    return {
        "rows": [summary(visible, "instances_number", "instances"), summary(visible, "features_number", "features")]
    }


def dataset_size_histogram(user) -> dict:
    return {"rows": histogram(visible_datasets(user), "instances_number", SIZE_EDGES), "scale": "log"}


def dataset_ethics(user) -> dict:
    flags = Dataset.ETHICS_FLAGS
    aggregates = {"total": Count("id")}
    for flag in flags:
        aggregates[f"{flag}__yes"] = Count("id", filter=Q(**{flag: True}))
        aggregates[f"{flag}__no"] = Count("id", filter=Q(**{flag: False}))
    agg = visible_datasets(user).aggregate(**aggregates)
    total = agg["total"]
    rows = []
    for flag in flags:
        yes, no = agg[f"{flag}__yes"], agg[f"{flag}__no"]
        rows.append(
            {"criterion": flag, "yes": yes, "no": no, "unknown": total - yes - no, "share_yes": share(yes, total)}
        )
    return {"rows": rows, "total": total}


def dataset_domains(user) -> dict:
    visible = visible_datasets(user)
    total = visible.count()
    through = Dataset.domains.through.objects.all()
    if not sees_everything(user):
        through = through.filter(dataset__in=visible.values("id"))
    pairs = through.values("domain__slug").annotate(n=Count("id")).order_by().values_list("domain__slug", "n")
    return {"rows": counted(pairs, total, "domain"), "total": total}


def datasets_per_year(user) -> dict:
    visible = visible_datasets(user)
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
    pairs = list(Affiliation.objects.annotate(n=Count("members")).order_by().values_list("name", "n"))
    without = User.objects.filter(affiliations__isnull=True).count()
    if without:
        pairs.append(("(no affiliation)", without))
    total = User.objects.count()
    return {"rows": counted(pairs, total, "affiliation"), "total": total}


def top_uploaders(user) -> dict:
    """Owners ranked by the number of assets the viewer may see (models + datasets)."""
    m_sql, m_params = visible_models(user).values("owner_id").annotate(n=Count("id")).order_by().query.sql_with_params()
    d_sql, d_params = (
        visible_datasets(user).values("owner_id").annotate(n=Count("id")).order_by().query.sql_with_params()
    )
    sql = f"""
        SELECT owner_id, SUM(m) AS models, SUM(d) AS datasets, SUM(m) + SUM(d) AS total FROM (
            SELECT owner_id, n AS m, 0 AS d FROM ({m_sql}) AS mm
            UNION ALL
            SELECT owner_id, 0 AS m, n AS d FROM ({d_sql}) AS dd
        ) AS counts GROUP BY owner_id ORDER BY total DESC, owner_id LIMIT {TOP_N}
    """
    top = fetch(sql, [*m_params, *d_params])
    names = dict(User.objects.filter(pk__in=[r[0] for r in top]).values_list("id", "username"))
    return {
        "rows": [{"user": names.get(o, o), "models": int(m), "datasets": int(d), "total": int(t)} for o, m, d, t in top]
    }


def licenses(user) -> dict:
    """The licensing app's numbers, as a table of categories (models and datasets) plus a summary;
    its own structure is kept under "data"."""
    data = license_statistics(user)
    labels = data["category_labels"]
    by_model, by_dataset = data["models"]["by_category"], data["datasets"]["by_category"]
    rows = [
        {
            "category": category,
            "label": str(labels.get(category, category)),
            "models": by_model.get(category, 0),
            "datasets": by_dataset.get(category, 0),
        }
        for category in sorted(set(by_model) | set(by_dataset), key=lambda c: (-by_model.get(c, 0), c))
    ]
    summary = [
        {"label": label, "key": key, "value": data[key]}
        for key, label in (
            ("without_license_share", "Share of assets without a licence"),
            ("models_analysed", "Models analysed for compliance"),
            ("models_with_violations", "Models with licence violations"),
        )
    ]
    return {"rows": rows, "summary": summary, "data": data}


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


STATS: dict[str, Stat] = {
    s.name: s
    for s in [
        Stat(
            "models_by_media",
            "Models by media type",
            "models",
            "pie",
            ("media", "count", "share"),
            models_by_media,
            chart_x="media",
        ),
        Stat(
            "models_by_family",
            "Models by architecture family",
            "models",
            "pie",
            ("family", "count", "share"),
            models_by_family,
            chart_x="family",
        ),
        Stat(
            "models_by_training_type",
            "Models by training type",
            "models",
            "pie",
            ("training_type", "count", "share"),
            models_by_training_type,
            chart_x="training_type",
        ),
        Stat(
            "models_by_license_category",
            "Models by licence category",
            "models",
            "bar",
            ("category", "count", "share"),
            models_by_license_category,
            chart_x="category",
        ),
        Stat(
            "models_media_task",
            "Models: media type × task",
            "models",
            "heatmap",
            ("media", "task", "count"),
            models_media_task,
        ),
        Stat(
            "model_parameters",
            "Model parameter counts",
            "models",
            "table",
            ("measure", "count", "min", "max", "mean", "stddev", "p25", "median", "p75"),
            model_parameters,
        ),
        Stat(
            "model_parameter_histogram",
            "Parameter count histogram (log scale)",
            "models",
            "histogram",
            ("bin", "from", "to", "count"),
            model_parameter_histogram,
            chart_x="bin",
        ),
        Stat(
            "models_released",
            "Models released over time",
            "models",
            "line",
            ("period", "count", "cumulative"),
            models_released,
            chart_x="period",
            chart_y=("count", "cumulative"),
        ),
        Stat(
            "models_per_month",
            "Models added to the hub per month",
            "models",
            "line",
            ("month", "count", "cumulative"),
            models_per_month,
            chart_x="month",
            chart_y=("count", "cumulative"),
        ),
        Stat(
            "most_downloaded_models",
            "Most downloaded models",
            "models",
            "bar",
            ("model", "downloads", "likes"),
            most_downloaded_models,
            chart_x="model",
            chart_y=("downloads",),
        ),
        Stat(
            "lineage_relations",
            "Lineage relations",
            "models",
            "bar",
            ("relation", "count", "share"),
            lineage_relations,
            chart_x="relation",
        ),
        Stat(
            "lineage_deepest",
            "Deepest lineage chains",
            "models",
            "bar",
            ("model", "depth", "root", "chain"),
            lineage_deepest,
            chart_x="model",
            chart_y=("depth",),
        ),
        Stat(
            "datasets_media_task",
            "Datasets: media type × task",
            "datasets",
            "heatmap",
            ("media", "task", "count"),
            datasets_media_task,
        ),
        Stat(
            "dataset_sizes",
            "Dataset sizes",
            "datasets",
            "table",
            ("measure", "count", "min", "max", "mean", "stddev", "p25", "median", "p75"),
            dataset_sizes,
        ),
        Stat(
            "dataset_size_histogram",
            "Dataset instances histogram (log scale)",
            "datasets",
            "histogram",
            ("bin", "from", "to", "count"),
            dataset_size_histogram,
            chart_x="bin",
        ),
        Stat(
            "dataset_ethics",
            "Datasets meeting each ethics criterion",
            "datasets",
            "bar",
            ("criterion", "yes", "no", "unknown", "share_yes"),
            dataset_ethics,
            chart_x="criterion",
            chart_y=("yes", "no", "unknown"),
        ),
        Stat(
            "dataset_domains",
            "Datasets by domain",
            "datasets",
            "bar",
            ("domain", "count", "share"),
            dataset_domains,
            chart_x="domain",
        ),
        Stat(
            "datasets_per_year",
            "Datasets per year",
            "datasets",
            "line",
            ("year", "published", "added"),
            datasets_per_year,
            chart_x="year",
            chart_y=("published", "added"),
        ),
        Stat(
            "users_per_affiliation",
            "Users per affiliation",
            "users",
            "bar",
            ("affiliation", "count", "share"),
            users_per_affiliation,
            staff_only=True,
            chart_x="affiliation",
        ),
        Stat(
            "top_uploaders",
            "Most active uploaders",
            "users",
            "bar",
            ("user", "models", "datasets", "total"),
            top_uploaders,
            chart_x="user",
            chart_y=("models", "datasets"),
        ),
        Stat(
            "licenses",
            "Licence categories and compliance",
            "licences",
            "bar",
            ("category", "label", "models", "datasets"),
            licenses,
            chart_x="label",
            chart_y=("models", "datasets"),
        ),
    ]
}


def stats_for(user) -> list[Stat]:
    return [s for s in STATS.values() if not s.staff_only or is_staff_viewer(user)]


def payload(stat: Stat, result: dict, scope: str) -> dict:
    return {
        "name": stat.name,
        "title": stat.title,
        "section": stat.section,
        "chart": stat.chart,
        "columns": list(stat.columns),
        "scope": scope,
        **result,
    }
