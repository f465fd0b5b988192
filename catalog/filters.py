"""FilterSets for models and datasets, shared by the HTML lists and the API (seed 002's
DatasetFilterCriteria for datasets). Each filter narrows a queryset that already went through
``visible_to``; unknown choices and malformed numbers or dates are 400s naming the parameter."""

from __future__ import annotations

import django_filters as df
from django import forms
from django.db.models import Exists, OuterRef, QuerySet
from django.http import QueryDict

from catalog import search
from catalog.search import MODES as SEARCH_MODES
from catalog.models import (
    Dataset,
    Domain,
    EvaluationResult,
    EvaluationSource,
    Family,
    Media,
    MLModel,
    ModelLineage,
    Relation,
    RepoFile,
    Task,
    TrainingType,
)
from licensing.models import LicenseCategory
from openmodelhub.params import ascii_int


def _both_ways(columns: dict[str, tuple[str, str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    """Each sort key in both directions: ``key`` in its natural order (most downloads, newest, largest,
    A to Z first) and ``-key`` reversed, with the labels the menus show. ``columns``: key -> (column in
    the natural order, label of that order, label of the reverse)."""
    sorts, labels = {}, {}
    for key, (column, natural, reverse) in columns.items():
        flipped = column[1:] if column.startswith("-") else f"-{column}"
        sorts |= {key: column, f"-{key}": flipped}
        labels |= {key: natural, f"-{key}": reverse}
    return sorts, labels


_SHARED_SORTS = {
    "downloads": ("-downloads", "Most downloaded", "Least downloaded"),
    "likes": ("-likes", "Most liked", "Least liked"),
    "created": ("-created_at", "Newest in the hub", "Oldest in the hub"),
    "updated": ("-updated_at", "Recently updated", "Least recently updated"),
    "name": ("name", "Name (A to Z)", "Name (Z to A)"),
}
# "relevance" (search rank) applies with ?search= only; without it the list falls back to "updated".
MODEL_SORTS, MODEL_SORT_LABELS = _both_ways(
    {
        **_SHARED_SORTS,
        "released": ("-release_date", "Newest release", "Oldest release"),
        "parameters": ("-parameter_count", "Most parameters", "Fewest parameters"),
    }
)
DATASET_SORTS, DATASET_SORT_LABELS = _both_ways(
    {
        **_SHARED_SORTS,
        "instances": ("-instances_number", "Most instances", "Fewest instances"),
        "year": ("-year", "Newest (year)", "Oldest (year)"),
    }
)
MODEL_SORTS, DATASET_SORTS = {"relevance": None, **MODEL_SORTS}, {"relevance": None, **DATASET_SORTS}
MODEL_SORT_LABELS = {"relevance": "Best match", **MODEL_SORT_LABELS}
DATASET_SORT_LABELS = {"relevance": "Best match", **DATASET_SORT_LABELS}
SORT_LABELS = {"models": MODEL_SORT_LABELS, "datasets": DATASET_SORT_LABELS}


class StrictBooleanField(forms.Field):
    """true/false (also 1/0, yes/no); anything else is an error rather than silently ignored."""

    TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError("Use true or false.")


class UtcDateTimeField(df.fields.IsoDateTimeField):
    """ISO 8601 with an offset of at most 14 hours (real time zones; PostgreSQL refuses larger ones)."""

    def to_python(self, value):
        parsed = super().to_python(value)
        offset = parsed.utcoffset() if parsed is not None else None
        if offset is not None and abs(offset.total_seconds()) > 14 * 3600:
            raise forms.ValidationError("The time zone offset must be within ±14:00.")
        return parsed


class DateTimeFilter(df.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class BooleanFilter(df.BooleanFilter):
    field_class = StrictBooleanField


def _choice_list(name: str, choices, label: str):
    # distinct=False: a column of the asset itself cannot duplicate rows, and a DISTINCT over whole rows
    # (search vector, licence terms ...) makes PostgreSQL sort every match before the LIMIT.
    return df.MultipleChoiceFilter(field_name=name, choices=choices, label=label, distinct=False)


class AssetFilter(df.FilterSet):
    search = df.CharFilter(method="filter_search", label="Full-text search over names, cards, tasks and descriptions")
    sort = df.ChoiceFilter(method="filter_noop", label="Sort order", choices=[])
    owner = df.CharFilter(field_name="owner__username", label="Owner's user name")
    task = df.ModelMultipleChoiceFilter(
        to_field_name="slug",
        queryset=Task.objects.all(),
        method="filter_task",
        label="Task slug (repeat for any of several)",
    )
    media = df.MultipleChoiceFilter(choices=Media.choices, method="filter_media", label="Media type (any of)")
    license = df.CharFilter(field_name="license__key", label="Licence key (ScanCode), e.g. apache-2.0")
    license_category = df.MultipleChoiceFilter(
        field_name="license__category", choices=LicenseCategory.choices, distinct=False, label="Licence category"
    )
    has_license = BooleanFilter(
        field_name="license", lookup_expr="isnull", exclude=True, label="Has a recognised licence"
    )
    visibility = df.ChoiceFilter(choices=[("public", "public"), ("private", "private")])
    has_files = BooleanFilter(method="filter_has_files", label="Has at least one file")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = DateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = DateTimeFilter(field_name="updated_at", lookup_expr="lt")
    downloads_min = df.NumberFilter(field_name="downloads", lookup_expr="gte", min_value=0)

    mode = df.ChoiceFilter(
        method="filter_noop",
        choices=[(mode, mode) for mode in SEARCH_MODES],
        label="Search mode with ?search=: keyword (ids and full text), hybrid (also meaning), vector (meaning only)",
    )

    def get_form_class(self):
        """The form class of this FilterSet class, built once from its declared filters (django-filter builds a
        new class per request, from fields made anew for each request's copy of the filters). No filter's form
        field depends on the request; each form instance still gets its own copy of the fields (Django's
        ``Form.__init__``)."""
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            fields = {name: filter_.field for name, filter_ in cls.base_filters.items()}
            cls._form_class = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
        return cls._form_class

    def filter_noop(self, queryset, name, value):
        return queryset  # applied by the view (ordering and pagination go together)

    def filter_search(self, queryset, name, value):
        return queryset  # applied last by filter_queryset: its candidates are ranked under every other filter

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        return search.apply(queryset, self.form.cleaned_data.get("search"), self.form.cleaned_data.get("mode") or None)

    def _linked(self, queryset, relation: str, **lookup):
        """Assets with a row in an M2M table matching ``lookup`` (EXISTS: no duplicates, no DISTINCT)."""
        through = getattr(queryset.model, relation).through
        owner_column = f"{queryset.model._meta.model_name}_id"
        return queryset.filter(Exists(through.objects.filter(**{owner_column: OuterRef("pk")}, **lookup)))

    def filter_task(self, queryset, name, value):
        return self._linked(queryset, "tasks", task__in=value) if value else queryset

    def filter_media(self, queryset, name, value):
        return self._linked(queryset, "media", mediatype__in=value) if value else queryset

    def filter_has_files(self, queryset, name, value):
        present = Exists(RepoFile.objects.filter(**{queryset.model.kind: OuterRef("pk")}, deleted_at__isnull=True))
        return queryset.filter(present if value else ~present)


class MLModelFilter(AssetFilter):
    sort = df.ChoiceFilter(method="filter_noop", choices=list(MODEL_SORT_LABELS.items()), label="Sort order")
    architecture = _choice_list("architecture_family", Family.choices, "Architecture family")
    training_type = _choice_list("training_type", TrainingType.choices, "Training type")
    parameters_min = df.NumberFilter(field_name="parameter_count", lookup_expr="gte", min_value=0)
    parameters_max = df.NumberFilter(field_name="parameter_count", lookup_expr="lte", min_value=0)
    released_after = df.DateFilter(field_name="release_date", lookup_expr="gte", label="Released on or after (a date)")
    released_before = df.DateFilter(field_name="release_date", lookup_expr="lt", label="Released before (a date)")
    base_model = df.CharFilter(method="filter_base_model", label="Derives directly from this model (owner/name or id)")
    relation = df.MultipleChoiceFilter(
        method="filter_relation", choices=Relation.choices, label="Derives from a base model by this relation"
    )
    dataset = df.CharFilter(method="filter_dataset", label="Uses this dataset (owner/name or id)")
    violations = BooleanFilter(
        method="filter_violations", label="Licence analysis found violations (true) or none (false; analysed only)"
    )
    # One condition on the evaluation results: ?evaluated_on=timm/imagenet-r&metric=top1&value_min=80
    evaluated_on = df.CharFilter(
        method="filter_noop", label="Has an evaluation result on this dataset (owner/name or id)"
    )
    metric = df.CharFilter(method="filter_noop", label="Has an evaluation result of this metric (e.g. top1)")
    value_min = df.NumberFilter(method="filter_noop", label="Has an evaluation result at least this high")
    value_max = df.NumberFilter(method="filter_noop", label="Has an evaluation result at most this high")

    class Meta:
        model = MLModel
        fields: list[str] = []

    # Parameters naming another asset: resolved through visible_to, so a hidden one is a missing one.
    REFERENCES = {"base_model": MLModel, "dataset": Dataset, "evaluated_on": Dataset}

    def filter_queryset(self, queryset):
        return super().filter_queryset(self._evaluated(queryset))

    def _evaluated(self, queryset):
        """Models with one result matching evaluated_on, metric, value_min and value_max together, among the
        results the user may see (a hidden dataset's results count for nothing)."""
        data, user = self.form.cleaned_data, getattr(self.request, "user", None)
        wanted = {k: data.get(k) for k in ("evaluated_on", "metric", "value_min", "value_max")}
        if all(v in (None, "") for v in wanted.values()):
            return queryset
        results = evaluation_conditions(
            EvaluationResult.objects.filter(model=OuterRef("pk")),
            dataset=visible_ref(Dataset, wanted["evaluated_on"], user)
            if wanted["evaluated_on"]
            else Dataset.objects.visible_to(user),
            metric=wanted["metric"],
            value_min=wanted["value_min"],
            value_max=wanted["value_max"],
        )
        return queryset.filter(Exists(results))

    def filter_base_model(self, queryset, name, value):
        base = visible_ref(MLModel, value, getattr(self.request, "user", None))
        return queryset.filter(Exists(ModelLineage.objects.filter(model=OuterRef("pk"), base__in=base)))

    def filter_violations(self, queryset, name, value):
        from licensing.models import ComplianceReport

        return queryset.filter(Exists(ComplianceReport.objects.filter(model=OuterRef("pk"), has_violations=value)))

    def filter_relation(self, queryset, name, value):
        return queryset.filter(Exists(ModelLineage.objects.filter(model=OuterRef("pk"), relation__in=value)))

    def filter_dataset(self, queryset, name, value):
        from catalog.models import ModelDataset

        dataset = visible_ref(Dataset, value, getattr(self.request, "user", None))
        return queryset.filter(Exists(ModelDataset.objects.filter(model=OuterRef("pk"), dataset__in=dataset)))


def visible_ref(model_cls, value: str, user) -> QuerySet:
    """The asset an ``owner/name`` or id reference names, among those ``user`` may see (None: anonymous).
    A hidden asset gives the same empty queryset as a missing one: no filter, form or serializer may
    tell them apart."""
    visible = model_cls.objects.visible_to(user)
    value = value.strip()
    if (pk := ascii_int(value)) is not None:  # an id (a bigint); longer is no id
        return visible.filter(pk=pk)
    return visible.with_name(value)


MISSING_REF = "0"  # no asset has the id 0


def canonical_references(filterset_class, data: QueryDict, user) -> QueryDict:
    """``data`` with each asset reference replaced by the id of the asset it names when ``user`` may
    see it, else by MISSING_REF: a cache key made of it is the same for a hidden and a missing asset,
    so counts cached for someone who may see an asset never answer someone who may not."""
    references = getattr(filterset_class, "REFERENCES", {})
    if not references.keys() & data.keys():
        return data
    data = data.copy()
    for param, model_cls in references.items():
        if param in data:
            data.setlist(
                param,
                [
                    str(visible_ref(model_cls, value, user).values_list("pk", flat=True).first() or MISSING_REF)
                    for value in data.getlist(param)
                ],
            )
    return data


def _ethics_filters() -> dict:
    return {flag: BooleanFilter(field_name=flag) for flag in Dataset.ETHICS_FLAGS}


class DatasetFilter(AssetFilter):
    sort = df.ChoiceFilter(method="filter_noop", choices=list(DATASET_SORT_LABELS.items()), label="Sort order")
    domain = df.ModelMultipleChoiceFilter(
        to_field_name="slug", queryset=Domain.objects.all(), method="filter_domain", label="Domain slug (any of)"
    )
    year_min = df.NumberFilter(field_name="year", lookup_expr="gte")
    year_max = df.NumberFilter(field_name="year", lookup_expr="lte")
    instances_min = df.NumberFilter(field_name="instances_number", lookup_expr="gte", min_value=0)
    instances_max = df.NumberFilter(field_name="instances_number", lookup_expr="lte", min_value=0)
    features_min = df.NumberFilter(field_name="features_number", lookup_expr="gte", min_value=0)
    features_max = df.NumberFilter(field_name="features_number", lookup_expr="lte", min_value=0)
    has_missing_values = BooleanFilter()
    split = BooleanFilter()
    access = df.CharFilter()
    has_pii = BooleanFilter(method="filter_has_pii", label="Has a column flagged as personal data")
    locals().update(_ethics_filters())

    class Meta:
        model = Dataset
        fields: list[str] = []

    def filter_domain(self, queryset, name, value):
        return self._linked(queryset, "domains", domain__in=value) if value else queryset

    def filter_has_pii(self, queryset, name, value):
        from catalog.models import FileColumn

        pii = Exists(FileColumn.objects.filter(dataset_file__dataset=OuterRef("pk"), is_pii=True))
        return queryset.filter(pii if value else ~pii)


def evaluation_conditions(results: QuerySet, *, dataset=None, metric=None, value_min=None, value_max=None) -> QuerySet:
    """``results`` narrowed by the conditions given (None: any); ``dataset`` a queryset of datasets."""
    if dataset is not None:
        results = results.filter(dataset__in=dataset)
    if metric:
        results = results.filter(metric=metric)
    if value_min is not None:
        results = results.filter(value__gte=float(value_min))
    if value_max is not None:
        results = results.filter(value__lte=float(value_max))
    return results


EVALUATION_SORTS, EVALUATION_SORT_LABELS = _both_ways(
    {
        "value": ("-value", "Highest value first", "Lowest value first"),
        "updated": ("-updated_at", "Recently updated", "Least recently updated"),
    }
)


class EvaluationFilter(df.FilterSet):
    """Evaluation results (the API's list, leaderboards of the pages). ``model`` and ``dataset`` resolve
    through visible_to: a hidden asset is refused exactly like a missing one (400 naming the parameter)."""

    model = df.CharFilter(method="filter_noop", label="The model (owner/name or id)")
    dataset = df.CharFilter(method="filter_noop", label="The dataset (owner/name or id)")
    metric = df.CharFilter(field_name="metric", label="Metric name, e.g. top1")
    split = df.CharFilter(field_name="split", label="Split, e.g. validation")
    source = df.ChoiceFilter(field_name="source", choices=EvaluationSource.choices, label="Where the result came from")
    value_min = df.NumberFilter(field_name="value", lookup_expr="gte", label="Value at least")
    value_max = df.NumberFilter(field_name="value", lookup_expr="lte", label="Value at most")
    sort = df.ChoiceFilter(
        method="filter_noop", choices=list(EVALUATION_SORT_LABELS.items()), label="Sort order (default: value)"
    )

    REFERENCES = {"model": MLModel, "dataset": Dataset}

    class Meta:
        model = EvaluationResult
        fields: list[str] = []

    def filter_noop(self, queryset, name, value):
        return queryset  # model and dataset: resolved in is_valid, applied in filter_queryset

    def is_valid(self) -> bool:
        return super().is_valid() and self._resolve_references()

    def _resolve_references(self) -> bool:
        """Look ``model`` and ``dataset`` up once among what the user may see; an error on the form if not."""
        if hasattr(self, "resolved"):
            return not self.form.errors
        self.resolved, user = {}, getattr(self.request, "user", None)
        for param, model_cls in self.REFERENCES.items():
            ref = self.form.cleaned_data.get(param)
            if not ref:
                continue
            found = visible_ref(model_cls, ref, user).first()
            if found is None:
                self.form.add_error(param, f"No visible {model_cls._meta.verbose_name} {ref.strip()!r}.")
            else:
                self.resolved[param] = found
        return not self.form.errors

    def filter_queryset(self, queryset):
        self._resolve_references()
        return super().filter_queryset(queryset).filter(**self.resolved)


def ordering(sort: str | None, searching: bool, sorts: dict) -> list:
    """The ORDER BY for a sort key (newest first by default, relevance first when searching)."""
    from django.db.models import F

    if (sort in (None, "", "relevance")) and searching:
        return [F("rank").desc(), F("id").desc()]
    field = sorts.get(sort or "updated") or "-updated_at"
    descending = field.startswith("-")
    expression = F(field.lstrip("-"))
    key = expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
    return [key, F("id").desc() if descending else F("id").asc()]
