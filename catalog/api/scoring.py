"""Dataset scoring (seed 002: ``DatasetFilterCriteria``, ``DatasetScoreRequest``, ``DatasetScoredRead``).

``POST /api/v1/datasets/score`` ranks the datasets the caller may see that match ``filters`` by a
weighted score. Everything but the final serialisation runs in the database, in one statement over
the bounded candidate set: the popularity maxima, every criterion, the three group scores and the
total, keeping the ``limit`` best (``ORDER BY score DESC, id``); then the winners are loaded whole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet
from django.http import QueryDict
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import filters
from catalog.api.serializers import DatasetListSerializer
from catalog.models import Balance, Dataset, Level

ETHICAL, TECHNICAL, POPULARITY = "ethical", "technical", "popularity"
GROUPS = (ETHICAL, TECHNICAL, POPULARITY)
MAX_LIMIT = 200
MAX_WEIGHT = 1000.0
# The candidate set: the caller's visible datasets matching the filters, at most this many, the
# most downloaded first. Bounds the work of one request whatever the filters.
MAX_CANDIDATES = 10_000


@dataclass(frozen=True)
class Criterion:
    name: str
    group: str
    description: str


# Each criterion's value is in [0, 1]; "unknown" (NULL) always counts as not met (0).
CRITERIA: dict[str, Criterion] = {
    c.name: c
    for c in [
        *[Criterion(flag, ETHICAL, f"1 if {flag} is true, else 0 (false or unknown)") for flag in Dataset.ETHICS_FLAGS],
        Criterion("documentation", TECHNICAL, "1 if external documentation is available, else 0"),
        Criterion("metadata", TECHNICAL, "1 if metadata is provided with the dataset, else 0"),
        Criterion("split", TECHNICAL, "1 if already split into train/test, else 0"),
        Criterion(
            "missing_values",
            TECHNICAL,
            "1 without missing values; 1 - global_missing_percentage/100 with "
            "missing values and a known percentage; else 0",
        ),
        Criterion("instances", TECHNICAL, "1 if the number of instances is given and above 0, else 0"),
        Criterion("features", TECHNICAL, "1 if the number of features is given and above 0, else 0"),
        Criterion("representativity", TECHNICAL, "representativity_level: high 1, medium 0.5, low or unknown 0"),
        Criterion(
            "balance",
            TECHNICAL,
            "sample_balance_level: balanced 1, moderately_imbalanced 0.5, highly_imbalanced or unknown 0",
        ),
        Criterion("downloads", POPULARITY, "ln(1 + downloads) / ln(1 + the largest downloads among the candidates)"),
        Criterion("likes", POPULARITY, "ln(1 + likes) / ln(1 + the largest likes among the candidates)"),
        Criterion(
            "citations",
            POPULARITY,
            "ln(1 + num_citations) / ln(1 + the largest num_citations among the candidates); unknown counts as 0",
        ),
    ]
}
POPULARITY_FIELDS = {"downloads": "downloads", "likes": "likes", "citations": "num_citations"}
# Group weights: also given as criterion_name "ethical", "technical", "popularity".
WEIGHT_NAMES = [*CRITERIA, *GROUPS]


def _flag(column: str) -> str:
    return f"(CASE WHEN c.{column} THEN 1 ELSE 0 END)"


def _present(column: str) -> str:
    return f"(CASE WHEN c.{column} > 0 THEN 1 ELSE 0 END)"


def _levels(column: str, levels: dict[str, float]) -> str:
    whens = " ".join(f"WHEN '{key}' THEN {_double(value)}" for key, value in levels.items())
    return f"(CASE c.{column} {whens} ELSE 0 END)"


def _popularity(column: str, name: str) -> str:
    return (
        f"(CASE WHEN m.{name} > 0 THEN LN({_double(f'1 + COALESCE(c.{column}, 0)')}) / "
        f"LN({_double(f'1 + m.{name}')}) ELSE 0 END)"
    )


def _double(sql) -> str:
    """Double precision everywhere: PostgreSQL types a bare 1.0 as NUMERIC, whose arithmetic made the
    scoring ten times slower. Only constants of this module and finite floats are passed here."""
    return f"CAST({sql} AS DOUBLE PRECISION)"


def _value_sql(name: str) -> str:
    """SQL for a criterion's value (0 to 1) over the candidate row ``c`` and the maxima row ``m``."""
    if name in Dataset.ETHICS_FLAGS:
        return _flag(name)
    if name in POPULARITY_FIELDS:
        return _popularity(POPULARITY_FIELDS[name], name)
    return {
        "documentation": lambda: _flag("external_documentation_available"),
        "metadata": lambda: _flag("metadata_provided_with_dataset"),
        "split": lambda: _flag("split"),
        "missing_values": lambda: (
            "(CASE WHEN c.has_missing_values = FALSE THEN 1 WHEN c.has_missing_values = TRUE AND "
            f"c.global_missing_percentage IS NOT NULL THEN 1 - {_double('c.global_missing_percentage')} / 100 "
            "ELSE 0 END)"
        ),
        "instances": lambda: _present("instances_number"),
        "features": lambda: _present("features_number"),
        "representativity": lambda: _levels("representativity_level", {Level.HIGH: 1.0, Level.MEDIUM: 0.5}),
        "balance": lambda: _levels("sample_balance_level", {Balance.BALANCED: 1.0, Balance.MODERATELY_IMBALANCED: 0.5}),
    }[name]()


def _weighted_mean_sql(terms: list[tuple[str, float]]) -> str | None:
    """sum(weight x value) / sum(weight) over the terms with a weight, or None when every weight is 0."""
    total = sum(weight for _, weight in terms)
    if total <= 0:
        return None
    products = " + ".join(f"{value} * {_double(repr(weight))}" for value, weight in terms if weight)
    return f"(({products}) / {_double(repr(total))})"


# --- request -------------------------------------------------------------------------------------


class CriterionWeightSerializer(serializers.Serializer):
    criterion_name = serializers.ChoiceField(choices=WEIGHT_NAMES, help_text="A criterion or a group name.")
    weight = serializers.FloatField(min_value=0.0, max_value=MAX_WEIGHT)

    def validate_weight(self, value: float) -> float:
        if not math.isfinite(value):
            raise serializers.ValidationError("Give a finite number.")
        return value


def _criteria_field(filter_field) -> serializers.Field:
    import django_filters as df

    kwargs = {"required": False, "allow_null": True, "help_text": filter_field.label or ""}
    if isinstance(filter_field, df.BooleanFilter):
        return serializers.BooleanField(**kwargs)
    if isinstance(filter_field, df.NumberFilter):
        return serializers.FloatField(**kwargs)
    if isinstance(filter_field, df.IsoDateTimeFilter):
        return serializers.DateTimeField(**kwargs)
    if isinstance(filter_field, df.MultipleChoiceFilter):
        kwargs.pop("allow_null")
        return serializers.ListField(child=serializers.CharField(), **kwargs)
    return serializers.CharField(**kwargs)


SCORING_FILTERS = [name for name in filters.DatasetFilter.base_filters if name != "sort"]


class DatasetFilterCriteriaSerializer(serializers.Serializer):
    """The dataset list's query parameters (same names, same meaning), as JSON."""

    def get_fields(self):
        base = filters.DatasetFilter.base_filters
        return {name: _criteria_field(base[name]) for name in SCORING_FILTERS}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(SCORING_FILTERS))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown filter."] for name in unknown})
        return super().to_internal_value(data)


class DatasetScoreRequestSerializer(serializers.Serializer):
    filters = DatasetFilterCriteriaSerializer(required=False)
    weights = CriterionWeightSerializer(many=True, required=False, max_length=len(WEIGHT_NAMES))
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=50)

    def validate_weights(self, value: list[dict]) -> list[dict]:
        names = [w["criterion_name"] for w in value]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise serializers.ValidationError(f"Each criterion at most once: {', '.join(duplicated)} repeated.")
        if value and not any(w["weight"] > 0 for w in value):
            raise serializers.ValidationError("At least one weight must be above zero.")
        return value


def effective_weights(given: list[dict]) -> dict[str, float]:
    """Every criterion and group weighs 1 unless the request says otherwise."""
    weights = {name: 1.0 for name in WEIGHT_NAMES}
    weights.update({w["criterion_name"]: float(w["weight"]) for w in given})
    return weights


def _query_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _query_dict(criteria: dict) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in criteria.items():
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        data.setlist(name, [_query_value(v) for v in values])
    return data


def candidates(request, criteria: dict) -> QuerySet:
    """The caller's visible datasets matching the criteria (the dataset list's FilterSet), bounded:
    the most downloaded first, at most MAX_CANDIDATES."""
    visible = Dataset.objects.visible_to(request.user)
    filterset = filters.DatasetFilter(_query_dict(criteria), queryset=visible, request=request)
    if not filterset.is_valid():
        raise ValidationError({"filters": filterset.errors})
    return filterset.qs.order_by("-downloads", "-id")[:MAX_CANDIDATES]


SCORED_COLUMNS = sorted(
    {
        "id",
        *Dataset.ETHICS_FLAGS,
        *POPULARITY_FIELDS.values(),
        "external_documentation_available",
        "metadata_provided_with_dataset",
        "split",
        "has_missing_values",
        "global_missing_percentage",
        "instances_number",
        "features_number",
        "representativity_level",
        "sample_balance_level",
    }
)


def score(queryset: QuerySet, weights: dict[str, float], limit: int) -> tuple[list[Dataset], dict]:
    """The ``limit`` best datasets of ``queryset`` (the bounded candidates), with ``criterion_<name>``,
    ``score_<group>`` and ``score`` set on each; and the popularity maxima used to normalise.

    One statement: the candidates as a CTE (one index walk, only the columns scored), their maxima,
    every criterion, group and total computed over those rows, the best ``limit`` kept by a top-N sort.
    The winners are then loaded whole (owner, licence, media, tasks, domains) by primary key.
    """
    groups = {}
    for group in GROUPS:
        terms = [(f"criterion_{c.name}", weights[c.name]) for c in CRITERIA.values() if c.group == group]
        groups[group] = _weighted_mean_sql(terms)
    total = _weighted_mean_sql([(f"score_{g}", weights[g]) for g in GROUPS if groups[g] is not None])
    if total is None:
        raise ValidationError({"weights": ["Every group has a zero weight or only zero-weight criteria."]})
    inner, params = queryset.values(*SCORED_COLUMNS).query.sql_with_params()
    maxima_sql = ", ".join(f"MAX({column}) AS {name}" for name, column in POPULARITY_FIELDS.items())
    criteria_sql = ", ".join(f"{_value_sql(name)} AS criterion_{name}" for name in CRITERIA)
    groups_sql = ", ".join(f"{expression or 'NULL'} AS score_{group}" for group, expression in groups.items())
    sql = f"""
        WITH c AS ({inner}),
        m AS (SELECT {maxima_sql} FROM c),
        v AS (SELECT c.id, {criteria_sql}, {", ".join(f"m.{n}" for n in POPULARITY_FIELDS)} FROM c CROSS JOIN m),
        g AS (SELECT v.*, {groups_sql} FROM v)
        SELECT g.*, {total} AS score FROM g ORDER BY score DESC, id LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        names = [column[0] for column in cursor.description]
        ranked = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        if not ranked:
            cursor.execute(f"WITH c AS ({inner}) SELECT {maxima_sql} FROM c", params)
            maxima = dict(zip(POPULARITY_FIELDS, cursor.fetchone(), strict=True))
        else:
            maxima = {name: ranked[0][name] for name in POPULARITY_FIELDS}
    loaded = (
        Dataset.objects.filter(pk__in=[r["id"] for r in ranked])
        .select_related("owner", "license")
        .prefetch_related("media", "tasks", "domains")
        .in_bulk()
    )
    rows = []
    for r in ranked:
        dataset = loaded[r["id"]]
        for name in (*(f"criterion_{c}" for c in CRITERIA), *(f"score_{g}" for g in GROUPS), "score"):
            setattr(dataset, name, None if r[name] is None else float(r[name]))
        rows.append(dataset)
    return rows, maxima


class DatasetScoredSerializer(DatasetListSerializer):
    """A dataset (list fields) with its total score, group scores and each criterion's value and weight."""

    score = serializers.FloatField(help_text="Weighted mean of the group scores, 0 to 1.")
    ethical_score = serializers.FloatField(source="score_ethical", allow_null=True)
    technical_score = serializers.FloatField(source="score_technical", allow_null=True)
    popularity_score = serializers.FloatField(source="score_popularity", allow_null=True)
    breakdown = serializers.SerializerMethodField()

    class Meta(DatasetListSerializer.Meta):
        fields = [
            *DatasetListSerializer.Meta.fields,
            "score",
            "ethical_score",
            "technical_score",
            "popularity_score",
            "breakdown",
        ]
        read_only_fields = fields

    @staticmethod
    def _round(value):
        return None if value is None else round(value, 6)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for key in ("score", "ethical_score", "technical_score", "popularity_score"):
            data[key] = self._round(data[key])
        return data

    def get_breakdown(self, obj) -> dict[str, dict]:
        weights = self.context["weights"]
        return {
            name: {"group": c.group, "value": self._round(getattr(obj, f"criterion_{name}")), "weight": weights[name]}
            for name, c in CRITERIA.items()
        }


class ScoreResponseSerializer(serializers.Serializer):
    weights = serializers.DictField(child=serializers.FloatField(), help_text="The weights used (defaults: 1).")
    popularity_maxima = serializers.DictField(child=serializers.IntegerField(allow_null=True))
    results = DatasetScoredSerializer(many=True)


def _score_docs() -> str:
    lines = [f"- `{c.name}` ({c.group}): {c.description}" for c in CRITERIA.values()]
    return "\n".join(lines)


class DatasetScoreView(APIView):
    permission_classes = [permissions.AllowAny]
    serializer_class = DatasetScoreRequestSerializer
    read_only_post = True  # a read: read-scope tokens may call it

    @extend_schema(
        summary="Rank datasets by weighted ethical, technical and popularity scores",
        request=DatasetScoreRequestSerializer,
        responses=ScoreResponseSerializer,
    )
    def post(self, request):
        data = DatasetScoreRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        weights = effective_weights(data.validated_data.get("weights", []))
        criteria = data.validated_data.get("filters") or {}
        rows, maxima = score(candidates(request, criteria), weights, data.validated_data["limit"])
        results = DatasetScoredSerializer(rows, many=True, context={"request": request, "weights": weights}).data
        return Response({"weights": weights, "popularity_maxima": maxima, "results": results})


DatasetScoreView.__doc__ = f"""Ranks the datasets you may see that match `filters` by a weighted score.

Body: `filters` (the dataset list's query parameters as JSON, e.g. `{{"domain": ["healthcare"],
"anonymization_applied": true, "instances_min": 1000, "year_min": 2020}}`), `weights` (a list of
`{{"criterion_name", "weight"}}`, weights from 0 to {MAX_WEIGHT:g}) and `limit` (1 to {MAX_LIMIT}, default 50).

Every criterion has a value from 0 to 1 (unknown counts as not met):

{_score_docs()}

Each group score (`ethical_score`, `technical_score`, `popularity_score`) is the weighted mean of its
criteria's values: sum(weight x value) / sum(weight). The total `score` is the weighted mean of the
group scores, with the group weights `ethical`, `technical`, `popularity`. Every criterion and group
weighs 1 unless `weights` names it; weight 0 leaves it out (a group whose criteria all weigh 0 is
left out of the total, its score is null). Candidates are the visible datasets matching the filters,
at most {MAX_CANDIDATES:,} (the most downloaded); popularity is normalised against the largest value
among them. Ties are broken by id. 400 for an unknown criterion or filter, a negative, non-numeric
or repeated weight, or weights that are all zero.
"""
