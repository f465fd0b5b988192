"""Evaluation results in the API (issue #20): ``/api/v1/evaluations/`` (list, filter, create), one result
(read, change, delete), and each model's results and each dataset's leaderboard. Reads show a result
only when its model and dataset are both visible to the caller; writes go through
catalog.discovery.evaluations (write permission on the model, read on the dataset, audited)."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from catalog import filters
from catalog.api.pagination import KeysetPagination
from catalog.api.serializers import AssetRefSerializer, _asset_ref
from catalog.api.views import AssetLookupMixin
from catalog.discovery import evaluations
from catalog.models import Dataset, EvaluationResult, MLModel
from catalog.models.evaluations import metric_validator

RESULT_FIELDS = [
    "id",
    "model",
    "dataset",
    "split",
    "metric",
    "value",
    "higher_is_better",
    "source",
    "source_url",
    "evaluated_on",
    "config",
    "created_at",
    "updated_at",
]


class EvaluationResultSerializer(serializers.ModelSerializer):
    model = serializers.SerializerMethodField()
    dataset = serializers.SerializerMethodField()

    class Meta:
        model = EvaluationResult
        fields = RESULT_FIELDS
        read_only_fields = RESULT_FIELDS

    @extend_schema_field(AssetRefSerializer)
    def get_model(self, obj) -> dict:
        return _asset_ref(obj.model)

    @extend_schema_field(AssetRefSerializer)
    def get_dataset(self, obj) -> dict:
        return _asset_ref(obj.dataset)


class EvaluationWriteSerializer(serializers.Serializer):
    """What a client sends; ``model`` and ``dataset`` are resolved through visible_to by the view."""

    model = serializers.CharField(max_length=401, help_text="The model, as owner/name or id.")
    dataset = serializers.CharField(max_length=401, help_text="The dataset, as owner/name or id.")
    split = serializers.CharField(max_length=64, default="validation")
    metric = serializers.CharField(max_length=64, validators=[metric_validator])
    value = serializers.FloatField()
    higher_is_better = serializers.BooleanField(default=True)
    source_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    evaluated_on = serializers.DateField(required=False, allow_null=True)
    config = serializers.DictField(required=False, help_text="Settings of the run (image size, crop, ...).")

    def validate_config(self, config: dict) -> dict:
        try:
            return evaluations.validate_config(config)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    def validate_value(self, value: float) -> float:
        if not math.isfinite(value):
            raise serializers.ValidationError("Give a finite number.")
        return value


def _resolve(model_cls, ref: str, user, field: str):
    found = filters.visible_ref(model_cls, ref, user).first()  # a hidden asset reads as a missing one
    if found is None:
        raise ValidationError({field: [f"No visible {model_cls._meta.verbose_name} {ref.strip()!r}."]})
    return found


def _write_data(request, data: dict) -> dict:
    data = dict(data)
    if "model" in data:
        data["model"] = _resolve(MLModel, data["model"], request.user, "model")
    if "dataset" in data:
        data["dataset"] = _resolve(Dataset, data["dataset"], request.user, "dataset")
    return data


def results_visible_to(user):
    return EvaluationResult.objects.visible_to(user).select_related("model__owner", "dataset__owner")


class EvaluationListMixin:
    """Filtered (catalog.filters.EvaluationFilter), keyset-paginated, highest value first by default."""

    serializer_class = EvaluationResultSerializer
    filterset_class = filters.EvaluationFilter
    pagination_class = KeysetPagination

    def get_ordering(self):
        return filters.ordering(self.request.query_params.get("sort") or "value", False, filters.EVALUATION_SORTS)

    def filter_queryset(self, queryset):
        filterset = self.filterset_class(self.request.query_params, queryset=queryset, request=self.request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return filterset.qs


@extend_schema_view(
    get=extend_schema(
        summary="List evaluation results",
        description="Results whose model and dataset you may both see; filters combine with AND. "
        "Models with top-1 above 80 on ImageNet-R: `?dataset=timm/imagenet-r&metric=top1&value_min=80`.",
    ),
    post=extend_schema(
        summary="Record an evaluation result (write permission on the model, read on the dataset)",
        request=EvaluationWriteSerializer,
        responses={201: EvaluationResultSerializer},
    ),
)
class EvaluationListView(EvaluationListMixin, generics.ListCreateAPIView):
    def get_queryset(self):
        return results_visible_to(self.request.user)

    def create(self, request, *args, **kwargs):
        data = EvaluationWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = evaluations.save_result(
            user=request.user, data=_write_data(request, data.validated_data), request=request
        )
        return Response(EvaluationResultSerializer(result).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="One evaluation result"),
    patch=extend_schema(
        summary="Change an evaluation result (write permission on the model)",
        request=EvaluationWriteSerializer(partial=True),
        responses=EvaluationResultSerializer,
    ),
    delete=extend_schema(summary="Delete an evaluation result (write permission on the model)"),
)
class EvaluationDetailView(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = EvaluationResultSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_object(self):
        return get_object_or_404(results_visible_to(self.request.user), pk=self.kwargs["pk"])

    def update(self, request, *args, **kwargs):
        result = self.get_object()
        data = EvaluationWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        result = evaluations.save_result(
            user=request.user, data=_write_data(request, data.validated_data), result=result, request=request
        )
        return Response(EvaluationResultSerializer(result).data)

    def perform_destroy(self, instance):
        evaluations.delete_result(user=self.request.user, result=instance, request=self.request)


class AssetEvaluationsView(EvaluationListMixin, AssetLookupMixin, generics.ListAPIView):
    """The results of one model or on one dataset (``asset_model``), the asset looked up through visible_to."""

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL arguments
            return EvaluationResult.objects.none()
        return results_visible_to(self.request.user).filter(**{self.asset_model.kind: self.get_asset()})


@extend_schema_view(get=extend_schema(summary="A model's evaluation results (filterable like /evaluations/)"))
class ModelEvaluationsView(AssetEvaluationsView):
    asset_model = MLModel


@extend_schema_view(
    get=extend_schema(summary="A dataset's leaderboard: the results on it, best first (filter by metric and split)")
)
class DatasetEvaluationsView(AssetEvaluationsView):
    asset_model = Dataset
