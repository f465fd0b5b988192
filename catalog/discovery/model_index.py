"""Evaluation results from a model card's ``model-index`` (the Hugging Face format)::

    model-index:
      - name: my-model
        results:
          - task: {type: image-classification}
            dataset: {name: ImageNet-R, type: timm/imagenet-r, config: default, split: validation}
            metrics: [{type: top1, value: 81.2, name: Top-1}]
            source: {name: Paper, url: https://example.org/paper}

Each metric becomes a result of source ``model-index`` for the dataset that ``dataset.type`` names
as ``owner/name`` among the datasets the card's writer may see. A result naming a dataset that is
unknown or hidden (the same to the writer), or a malformed metric or value, is skipped and reported,
never created; nothing else in the hub is created. Saving the card again updates the values;
results entered by hand (or imported from elsewhere) are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from catalog.discovery.evaluations import ResultRow, UpsertReport, upsert_results, validate_metric
from catalog.filters import visible_ref
from catalog.models import Dataset, EvaluationSource, MLModel

MAX_RESULTS = 500


@dataclass
class ModelIndexReport:
    results: UpsertReport = field(default_factory=UpsertReport)
    skipped: list[str] = field(default_factory=list)  # "model-index[0].results[1]: why"


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value, limit: int = 64) -> str:
    return value.replace("\x00", "").strip()[:limit] if isinstance(value, str) else ""


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _url(value) -> str:
    url = _text(value, 500)
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return ""
    return url


def _dataset(entry: dict, user, cache: dict) -> Dataset | None:
    reference = _text(_dict(entry.get("dataset")).get("type"), 401)
    if "/" not in reference:
        return None
    if reference not in cache:
        cache[reference] = visible_ref(Dataset, reference, user).first()
    return cache[reference]


def _rows(model: MLModel, model_index, user, report: ModelIndexReport) -> list[ResultRow]:
    rows, datasets = {}, {}
    for i, item in enumerate(model_index if isinstance(model_index, list) else []):
        for j, entry in enumerate(_dict(item).get("results") or []):
            where = f"model-index[{i}].results[{j}]"
            entry = _dict(entry)
            dataset = _dataset(entry, user, datasets)
            if dataset is None:
                named = _text(_dict(entry.get("dataset")).get("type"), 401) or "(none)"
                report.skipped.append(f"{where}: dataset.type {named!r} is not owner/name of a dataset you can see")
                continue
            described = _dict(entry.get("dataset"))
            split = _text(described.get("split")) or "validation"
            config = {
                k: v
                for k, v in (
                    ("task", _text(_dict(entry.get("task")).get("type"))),
                    ("dataset_config", _text(described.get("config"))),
                )
                if v
            }
            for k, metric in enumerate(entry.get("metrics") or []):
                metric = _dict(metric)
                name, value = _text(metric.get("type")), _number(metric.get("value"))
                try:
                    validate_metric(name)
                except ValidationError:
                    report.skipped.append(f"{where}.metrics[{k}]: metric type {name!r} is not a metric name")
                    continue
                if value is None:
                    report.skipped.append(f"{where}.metrics[{k}]: value {metric.get('value')!r} is not a number")
                    continue
                key = (dataset.pk, split, name)
                if key in rows:
                    report.skipped.append(f"{where}.metrics[{k}]: {name} on {dataset.full_name} ({split}) given twice")
                    continue
                rows[key] = ResultRow(
                    model_id=model.pk,
                    dataset_id=dataset.pk,
                    metric=name,
                    value=value,
                    split=split,
                    source_url=_url(_dict(entry.get("source")).get("url")),
                    config=config,
                )
    return list(rows.values())[:MAX_RESULTS]


def import_model_index(*, model: MLModel, model_index, user, request=None) -> ModelIndexReport:
    """Create or update the results a card's ``model-index`` declares, as ``user`` (who must be able to
    change the model: catalog.discovery.evaluations.upsert_results checks it)."""
    report = ModelIndexReport()
    rows = _rows(model, model_index, user, report)
    report.results = upsert_results(
        user=user,
        rows=rows,
        source=EvaluationSource.MODEL_INDEX,
        request=request,
        audit_details={"via": "model card", "model": model.full_name, "skipped": report.skipped[:20]},
    )
    return report
