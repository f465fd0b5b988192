from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from licensing import bom, compliance, selectors
from licensing.api.serializers import LicenseSerializer
from licensing.models import License


class LicensePagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class LicenseFilter(filters.FilterSet):
    category = filters.ChoiceFilter(choices=License.Category.choices)
    key = filters.CharFilter()
    spdx_id = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = License
        fields = ["category", "key", "spdx_id", "is_agreement"]


class LicenseListView(generics.ListAPIView):
    """The licence knowledge base (read-only). Filter with ?category=, ?key=, ?spdx_id=, ?is_agreement=."""

    queryset = License.objects.all()
    serializer_class = LicenseSerializer
    filterset_class = LicenseFilter
    pagination_class = LicensePagination


class LicenseDetailView(generics.RetrieveAPIView):
    queryset = License.objects.all()
    serializer_class = LicenseSerializer
    lookup_field = "key"


class ModelComplianceView(APIView):
    """Findings of the stored compliance analysis of a model; ?purpose=commercial|research|redistribution
    answers "may I use this model for that?" with the reasons. ``analysis`` says whether the findings are
    current, stale (the model changed; its re-analysis is queued) or not yet there (``not_analysed``)."""

    @extend_schema(
        summary="Licence compliance findings of a model",
        responses=OpenApiTypes.OBJECT,
        parameters=[OpenApiParameter("purpose", str, enum=list(compliance.PURPOSES))],
    )
    def get(self, request, owner: str, name: str):
        purpose = request.query_params.get("purpose") or None
        if purpose is not None and purpose not in compliance.PURPOSES:
            raise ValidationError({"purpose": [f"Must be one of {', '.join(compliance.PURPOSES)}."]})
        model = selectors.visible_model(request.user, owner, name)
        data = selectors.model_compliance(model, request.user, purpose=purpose)
        if purpose:
            data["purpose"] = purpose
            data["answer"] = data["verdicts"][purpose]["answer"] if purpose in data["verdicts"] else None
        return Response(data)


class IgnoreFormatParameter(BaseContentNegotiation):
    """``?format=`` names the BOM format here, not a DRF renderer."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ModelBomView(APIView):
    """The AI bill of materials of a model: ?format=spdx (SPDX 3.0 JSON-LD, default) or ?format=cyclonedx."""

    content_negotiation_class = IgnoreFormatParameter

    @extend_schema(
        summary="AI bill of materials of a model (SPDX 3.0 or CycloneDX 1.6)",
        parameters=[
            OpenApiParameter("format", str, enum=list(bom.FORMATS)),
            OpenApiParameter("download", str, enum=["1"], description="1: as an attachment"),
        ],
        responses={(200, bom.CONTENT_TYPES[f]): OpenApiTypes.OBJECT for f in bom.FORMATS},
    )
    def get(self, request, owner: str, name: str):
        fmt = request.query_params.get("format") or "spdx"
        if fmt not in bom.FORMATS:
            raise ValidationError({"format": [f"Must be one of {', '.join(bom.FORMATS)}."]})
        model = selectors.visible_model(request.user, owner, name)
        return bom.response(model, fmt, request.user, attachment=request.query_params.get("download") == "1")
