"""Writes on evaluation results (issue #20): one result from a page or the API, many from an import.

Every door (the API, the model page's form, a card's ``model-index``, ``import_timm_results``) goes
through these functions: the writer needs write permission on the model and read permission on the
dataset, and every write is audited. A result entered by hand (source ``api``) is never overwritten
by an import; an import only rewrites the results of its own source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from catalog.models import Dataset, EvaluationResult, EvaluationSource, MLModel

RESULT_FIELDS = ["split", "metric", "value", "higher_is_better", "source_url", "evaluated_on", "config"]
WRITE_REFUSED = "You may not change this model's evaluation results."


def _check_writable(user, model: MLModel, dataset: Dataset) -> None:
    if not model.is_editable_by(user):
        raise PermissionDenied(WRITE_REFUSED)
    if not Dataset.objects.visible_to(user).filter(pk=dataset.pk).exists():
        raise PermissionDenied("You may not see this dataset.")


def _details(result: EvaluationResult) -> dict[str, Any]:
    return {
        "model": result.model.full_name,
        "dataset": result.dataset.full_name,
        "split": result.split,
        "metric": result.metric,
        "value": result.value,
        "source": result.source,
    }


@transaction.atomic
def save_result(
    *,
    user,
    data: dict[str, Any],
    result: EvaluationResult | None = None,
    request=None,
) -> EvaluationResult:
    """Create (``result`` None; ``data`` names ``model`` and ``dataset``) or update one result from
    validated data. A second result for the same model, dataset, split and metric is refused."""
    if result is None:
        result = EvaluationResult(
            model=data["model"], dataset=data["dataset"], created_by=user, source=EvaluationSource.API
        )
    else:
        _check_writable(user, result.model, result.dataset)  # the current pair, before a move
        for key in ("model", "dataset"):
            if key in data:
                setattr(result, key, data[key])
    _check_writable(user, result.model, result.dataset)
    created = result.pk is None
    for name in RESULT_FIELDS:
        if name in data:
            setattr(result, name, data[name])
    if "source" in data:
        result.source = data["source"]
    result.full_clean()
    result.save()
    audit.record(
        "evaluation.create" if created else "evaluation.update",
        actor=user,
        target=result.model,
        request=request,
        details=_details(result),
    )
    return result


@transaction.atomic
def delete_result(*, user, result: EvaluationResult, request=None) -> None:
    if not result.model.is_editable_by(user):
        raise PermissionDenied(WRITE_REFUSED)
    audit.record("evaluation.delete", actor=user, target=result.model, request=request, details=_details(result))
    result.delete()


@dataclass(frozen=True)
class ResultRow:
    """One result an import wants, by ids (the importer resolved and checked the names)."""

    model_id: int
    dataset_id: int
    metric: str
    value: float
    split: str = "validation"
    higher_is_better: bool = True
    source_url: str = ""
    evaluated_on: date | None = None
    config: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, int, str, str]:
        return (self.model_id, self.dataset_id, self.split, self.metric)


@dataclass
class UpsertReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0  # present from another source (entered by hand, another import): left as they are

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _differs(result: EvaluationResult, row: ResultRow) -> bool:
    return (
        result.value != row.value
        or result.higher_is_better != row.higher_is_better
        or result.source_url != row.source_url
        or result.evaluated_on != row.evaluated_on
        or result.config != row.config
    )


def _check_bulk_writable(user, rows: list[ResultRow]) -> None:
    model_ids = {row.model_id for row in rows}
    dataset_ids = {row.dataset_id for row in rows}
    if MLModel.objects.editable_by(user).filter(pk__in=model_ids).count() != len(model_ids):
        raise PermissionDenied(WRITE_REFUSED)
    if Dataset.objects.visible_to(user).filter(pk__in=dataset_ids).count() != len(dataset_ids):
        raise PermissionDenied("You may not see one of these datasets.")


@transaction.atomic
def upsert_results(
    *, user, rows: list[ResultRow], source: str, request=None, audit_details: dict | None = None
) -> UpsertReport:
    """Create the results ``rows`` name and update those of the same ``source`` whose values moved, in
    a few statements (bulk), then record one ``evaluation.import`` event per dataset with the counts.
    Results of another source are kept. ``rows`` must be validated (metric names, finite values) and
    hold each key once."""
    report = UpsertReport()
    if not rows:
        return report
    _check_bulk_writable(user, rows)
    existing = {
        (r.model_id, r.dataset_id, r.split, r.metric): r
        for r in EvaluationResult.objects.filter(
            model_id__in={row.model_id for row in rows}, dataset_id__in={row.dataset_id for row in rows}
        )
    }
    new, changed, per_dataset, now = [], [], {}, timezone.now()
    for row in rows:
        counts = per_dataset.setdefault(row.dataset_id, {"created": 0, "updated": 0})
        current = existing.get(row.key)
        if current is None:
            new.append(
                EvaluationResult(
                    model_id=row.model_id,
                    dataset_id=row.dataset_id,
                    split=row.split,
                    metric=row.metric,
                    value=row.value,
                    higher_is_better=row.higher_is_better,
                    source=source,
                    source_url=row.source_url,
                    evaluated_on=row.evaluated_on,
                    config=row.config,
                    created_by=user,
                )
            )
            counts["created"] += 1
        elif current.source != source:
            report.kept += 1
        elif _differs(current, row):
            current.value, current.higher_is_better = row.value, row.higher_is_better
            current.source_url, current.evaluated_on, current.config = row.source_url, row.evaluated_on, row.config
            current.updated_at = now  # bulk_update skips auto_now
            changed.append(current)
            counts["updated"] += 1
        else:
            report.unchanged += 1
    EvaluationResult.objects.bulk_create(new, batch_size=1000)
    fields = ["value", "higher_is_better", "source_url", "evaluated_on", "config", "updated_at"]
    EvaluationResult.objects.bulk_update(changed, fields, batch_size=500)
    report.created, report.updated = len(new), len(changed)
    datasets = Dataset.objects.in_bulk([pk for pk, c in per_dataset.items() if c["created"] or c["updated"]])
    for pk, dataset in sorted(datasets.items()):
        audit.record(
            "evaluation.import",
            actor=user,
            target=dataset,
            request=request,
            details={"dataset": dataset.full_name, "source": source, **per_dataset[pk], **(audit_details or {})},
        )
    return report


MAX_CONFIG_BYTES = 10_000


def validate_config(config) -> dict:
    """A run's settings: a JSON object of at most 10 kB without NUL characters (PostgreSQL's jsonb refuses
    them), or ValidationError."""
    if not isinstance(config, dict):
        raise ValidationError('Give a JSON object, e.g. {"img_size": 224}.')
    text = json.dumps(config)
    if "\\u0000" in text:
        raise ValidationError("The settings may not contain NUL characters.")
    if len(text) > MAX_CONFIG_BYTES:
        raise ValidationError(f"The settings may take at most {MAX_CONFIG_BYTES:,} characters of JSON.")
    return config


def validate_metric(metric: str) -> str:
    """The metric name, or ValidationError with the model's message."""
    field_ = EvaluationResult._meta.get_field("metric")
    field_.run_validators(metric)
    if len(metric) > field_.max_length:
        raise ValidationError(f"A metric name is at most {field_.max_length} characters.")
    return metric
