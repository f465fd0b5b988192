"""``GET /api/v1/datasets/{owner}/{name}/croissant``: the dataset as Croissant 1.1 JSON-LD
(catalog.croissant.exporting). A dataset the caller may not see answers 404, as a missing one."""

from __future__ import annotations

from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from catalog.api.views import AssetLookupMixin
from catalog.croissant.exporting import export_dataset
from catalog.models import Dataset

MEDIA_TYPE = "application/ld+json"


class DatasetCroissantView(AssetLookupMixin, APIView):
    asset_model = Dataset

    @extend_schema(
        summary="The dataset as Croissant 1.1 JSON-LD, with the Responsible-AI fields",
        responses={(200, MEDIA_TYPE): OpenApiTypes.OBJECT, 404: OpenApiResponse(description="No such dataset")},
    )
    def get(self, request, **kwargs):
        dataset = self.get_asset()
        doc = export_dataset(dataset, base_url=request.build_absolute_uri("/"))
        response = JsonResponse(doc, content_type=MEDIA_TYPE, json_dumps_params={"ensure_ascii": False})
        name = f"{dataset.owner.username}-{dataset.name}.croissant.json"
        response["Content-Disposition"] = f'inline; filename="{name}"'
        return response
