"""Search endpoints beside the lists' ``?search=``: type-ahead suggestions and similar assets
(catalog.search, catalog.semantic), always inside the caller's ``visible_to``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import search, semantic
from catalog.api import serializers as s
from catalog.api.views import AssetLookupMixin, _dataset_list_queryset, _model_list_queryset
from catalog.models import MLModel

SIMILAR_DEFAULT, SIMILAR_MAX = 6, 50


@extend_schema(
    summary="Type-ahead: the best models, datasets and users for what has been typed",
    parameters=[OpenApiParameter("q", str, required=True, description="The text typed so far (1-200 characters)")],
    responses=OpenApiTypes.OBJECT,
)
class SuggestView(APIView):
    def get(self, request):
        text = request.query_params.get("q", "").strip()
        if not text or len(text) > search.MAX_QUERY or not text.isprintable():
            raise ValidationError({"q": [f"Give 1 to {search.MAX_QUERY} printable characters."]})
        return Response(search.suggest(request.user, text))


@extend_schema(
    summary="Similar assets (nearest embeddings) among those you may see",
    parameters=[OpenApiParameter("limit", int, description=f"How many (1-{SIMILAR_MAX}, default {SIMILAR_DEFAULT})")],
)
class SimilarView(AssetLookupMixin, APIView):
    def get(self, request, owner: str, name: str):
        raw = request.query_params.get("limit", str(SIMILAR_DEFAULT))
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= SIMILAR_MAX):
            raise ValidationError({"limit": [f"Give a whole number from 1 to {SIMILAR_MAX}."]})
        asset = self.get_asset()
        rows = similar_assets(asset, request.user, int(raw))
        serializer = s.MLModelListSerializer if self.asset_model is MLModel else s.DatasetListSerializer
        return Response({"results": serializer(rows, many=True, context={"request": request}).data})

    def get_serializer_class(self):  # for the schema
        return s.MLModelListSerializer if self.asset_model is MLModel else s.DatasetListSerializer


def similar_assets(asset, user, limit: int) -> list:
    visible = _model_list_queryset(user) if asset.kind == "model" else _dataset_list_queryset(user)
    return semantic.similar_rows(asset, visible, limit)
