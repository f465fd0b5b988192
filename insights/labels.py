"""Human labels for the values the statistics group by: "CNN" rather than ``cnn``, "No media type"
rather than ``none``. The statistics keep their keys (CSV and JSON exports are stable); the page,
the home summary and the charts show these labels."""

from __future__ import annotations

from django.utils.text import capfirst

from catalog.models import Dataset, Family, Media, Relation, TrainingType
from catalog.models.base import readable_name
from licensing.models import LicenseCategory

FIXED = {
    "media": {**dict(Media.choices), "none": "No media type"},
    "family": dict(Family.choices),
    "training_type": {**dict(TrainingType.choices), "unspecified": "Not specified"},
    "category": {**dict(LicenseCategory.choices), "none": "No licence", "unresolved": "Not recognised"},
    "relation": dict(Relation.choices),
}


def _criteria() -> dict[str, str]:
    return {flag: capfirst(str(Dataset._meta.get_field(flag).verbose_name)) for flag in Dataset.ETHICS_FLAGS}


def label_column(column: str, value) -> str:
    """The label of one value of ``column`` (the value itself when there is nothing better)."""
    if column in FIXED:
        return str(FIXED[column].get(value, value))
    if column == "criterion":
        return _criteria().get(value, value)
    if column == "domain" and isinstance(value, str):
        return readable_name(value, value)
    return value


def labels_for(column: str, rows: list[dict]) -> dict:
    """{value: label} for the values of ``column`` in ``rows`` that read differently."""
    labels = {}
    for row in rows:
        value = row.get(column)
        label = label_column(column, value)
        if isinstance(value, str) and label != value:
            labels[value] = str(label)
    return labels


COLUMN_TITLES = {
    "share": "Share",
    "share_yes": "Share meeting it",
    "stddev": "Std. dev.",
    "p25": "25th percentile",
    "p75": "75th percentile",
    "training_type": "Training",
    "period": "Released",
}


def column_label(column: str) -> str:
    """A column's title in tables, legends and axes."""
    return COLUMN_TITLES.get(column, column.replace("_", " ").capitalize())
