"""Reads of the licensing app; every one that touches assets starts from ``visible_to(user)``."""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When

from catalog.idsets import InIds
from licensing import compliance, services
from licensing.models import ComplianceReport, License

NO_LICENSE = "none"
UNRESOLVED = "unresolved"


def licenses(*, category: str | None = None, query: str | None = None) -> QuerySet[License]:
    qs = License.objects.all()
    if category:
        qs = qs.filter(category=category)
    if query:
        qs = qs.filter(Q(key__icontains=query) | Q(name__icontains=query) | Q(spdx_id__icontains=query))
    return qs


def _category_expression():
    return Case(
        When(license__isnull=False, then=F("license__category")),
        When(license_declared="", then=Value(NO_LICENSE)),
        default=Value(UNRESOLVED),
        output_field=CharField(),
    )


def _distribution(queryset) -> dict:
    rows = queryset.order_by().annotate(bucket=_category_expression()).values("bucket").annotate(n=Count("pk"))
    by_category = {row["bucket"]: row["n"] for row in rows}
    total = sum(by_category.values())
    without = by_category.get(NO_LICENSE, 0)
    return {
        "total": total,
        "by_category": dict(sorted(by_category.items(), key=lambda kv: -kv[1])),
        "without_license": without,
        "without_license_share": round(without / total, 4) if total else 0.0,
    }


def license_statistics(user) -> dict:
    """Licence categories, the share of assets declaring no licence, and models with violations.

    Counted by the database over what ``user`` may see. ``by_category`` also has the buckets
    ``"none"`` (no licence declared) and ``"unresolved"`` (declared but not a known licence).
    """
    from catalog.models import Dataset, MLModel

    models = MLModel.objects.visible_to(user)
    models_stats = _distribution(models)
    datasets_stats = _distribution(Dataset.objects.visible_to(user))
    analysed = models.order_by().aggregate(
        analysed=Count("compliance"), violating=Count("compliance", filter=Q(compliance__has_violations=True))
    )
    total = models_stats["total"] + datasets_stats["total"]
    without = models_stats["without_license"] + datasets_stats["without_license"]
    return {
        "models": models_stats,
        "datasets": datasets_stats,
        "without_license_share": round(without / total, 4) if total else 0.0,
        "models_analysed": analysed["analysed"],
        "models_with_violations": analysed["violating"],
        "category_labels": {**dict(License.Category.choices), NO_LICENSE: "No licence", UNRESOLVED: "Not recognised"},
    }


class Analysis:
    """Where a model's stored analysis stands. Reads never compute: the writes that change a licence,
    an edge or a dataset link queue the recomputation (``services.schedule_compliance``)."""

    CURRENT = "current"
    STALE = "stale"  # a re-analysis was queued after this one and has not finished yet
    NOT_ANALYSED = "not_analysed"


def analysis_status(model, report: ComplianceReport | None) -> str:
    if report is None:
        return Analysis.NOT_ANALYSED
    queued_at = cache.get(services.queued_key(model.pk))
    return Analysis.STALE if queued_at and queued_at > report.analysed_at.timestamp() else Analysis.CURRENT


def model_compliance(model, user, *, purpose: str | None = None) -> dict:
    """The stored findings and verdicts of ``model`` as ``user`` may read them; never writes."""
    report = ComplianceReport.objects.filter(model=model).first()
    # The page's verdict badge (verdict_of) reads model.compliance next: this report, not a second query.
    type(model).compliance.related.set_cached_value(model, report)
    summary = {"model": model.full_name, "license": _license_summary(model), "analysis": analysis_status(model, report)}
    if report is None:
        return {**summary, "analysed_at": None, "has_violations": None, "counts": None, "findings": [], "verdicts": {}}
    shown = compliance.present(report.findings, report.verdicts, user, purpose=purpose)
    return {
        **summary,
        "analysed_at": report.analysed_at,
        "has_violations": report.has_violations,
        "counts": {
            "violation": report.violation_count,
            "warning": report.warning_count,
            "obligation": report.obligation_count,
        },
        **shown,
    }


def verdict_of(model) -> str:
    """violation / warning / ok / unknown from the model's stored analysis (``select_related("compliance")``
    on lists: no query per row); a read never analyses."""
    try:
        report = model.compliance
    except ObjectDoesNotExist:
        return "unknown"
    if report.has_violations:
        return "violation"
    return "warning" if report.warning_count else "ok"


def _license_summary(model) -> dict | None:
    if model.license_id:
        lic = model.license
        return {"key": lic.key, "spdx_id": lic.spdx_id, "name": lic.name, "category": lic.category}
    if model.license_declared:
        return {"key": None, "spdx_id": None, "name": model.license_declared, "category": "unknown"}
    return None


def visible_model(user, owner: str, name: str):
    """The model ``owner/name`` that ``user`` may see; a hidden model answers 404, exactly like a missing one."""
    from catalog.models import MLModel

    return MLModel.objects.select_related("owner", "license").named(f"{owner}/{name}", user=user)


# --- the licences page: the licences ML people look for first -----------------------------------

DATA_LICENSE_PREFIXES = ("cdla-", "odc-", "odbl", "pddl", "c-uda")
ML_GROUPS = {
    "model": "Model licences and agreements",
    "rail": "OpenRAIL and other use-restricted licences",
    "creative_commons": "Creative Commons",
    "data": "Data licences",
    "software": "Open-source software licences",
}
NOT_A_LICENSE = ("other", "unknown")  # placeholders of the curated list, not licences to browse


def ml_group(lic: License) -> str:
    if lic.key.startswith(("cc-", "cc0")):
        return "creative_commons"
    if lic.key.startswith(DATA_LICENSE_PREFIXES):
        return "data"
    if lic.category == License.Category.USE_RESTRICTED:
        return "rail"
    if lic.is_agreement or lic.category in (License.Category.PROPRIETARY, License.Category.NON_COMMERCIAL):
        return "model"
    return "software"


def license_usage(user) -> dict[int, dict[str, int]]:
    """Per licence id, how many models and datasets ``user`` may see use it (two GROUP BY queries)."""
    from catalog.models import Dataset, MLModel

    usage: dict[int, dict[str, int]] = {}
    for noun, model_cls in (("models", MLModel), ("datasets", Dataset)):
        rows = (
            model_cls.objects.visible_to(user)
            .filter(license__isnull=False)
            .order_by()
            .values_list("license")
            .annotate(n=Count("pk"))
        )
        for license_id, n in rows:
            usage.setdefault(license_id, {"models": 0, "datasets": 0})[noun] = n
    return usage


def ml_licenses(user, *, query: str = "", category: str | None = None) -> list[dict]:
    """The curated ML licences (model licences and agreements, OpenRAIL, Creative Commons, data
    licences, the common software ones) and every licence an asset ``user`` may see uses, grouped,
    most used first, each with its counts of visible models and datasets."""
    usage = license_usage(user)
    wanted = (
        Q(source__in=[License.Source.MODELGO, License.Source.CURATED])
        | Q(key__startswith="cdla-")
        | Q(key__startswith="odc-")
        | Q(key__startswith="odbl")
        | Q(pk__in=list(usage))
    )
    found = licenses(category=category, query=query).filter(wanted).exclude(key__in=NOT_A_LICENSE)
    groups: dict[str, list] = {key: [] for key in ML_GROUPS}
    for lic in found.defer("terms"):
        counts = usage.get(lic.pk, {"models": 0, "datasets": 0})
        groups[ml_group(lic)].append({"license": lic, **counts})
    for rows in groups.values():
        rows.sort(key=lambda row: (-row["models"], -row["datasets"], row["license"].name.lower()))
    return [{"key": key, "title": ML_GROUPS[key], "rows": rows} for key, rows in groups.items() if rows]


def purpose_answers(model_ids: list[int], purposes: list[str]) -> dict[int, dict[str, str]]:
    """The stored answers ("yes", "conditional", "unclear", "no") of each analysed model among ``model_ids``
    for ``purposes``; a model without an analysis is absent. One query reading only those answers (the
    recommendation's licence filter, catalog.recommend)."""
    fields = [f"verdicts__{purpose}__answer" for purpose in purposes]
    rows = ComplianceReport.objects.filter(InIds("model_id", model_ids)).order_by().values_list("model_id", *fields)
    return {model_id: dict(zip(purposes, answers, strict=True)) for model_id, *answers in rows}
