"""``GET /api/v1/graph``: the neighbourhood of a model, dataset or licence (catalog.graph)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import graph


@extend_schema(
    summary="The neighbourhood of an asset: lineage, datasets, evaluations and licences, as nodes and edges",
    description=(
        "Everything through visible_to: the root answers 404 unless you may see it; links to assets you may "
        "not see are counted on one `private` node per asset, never named. At most `limit` new nodes per "
        "call: `truncated` and `omitted` say what did not fit. Each node's `id` is the `asset` that fetches "
        "its own neighbourhood."
    ),
    parameters=[
        OpenApiParameter(
            "asset", str, required=True, description="models/OWNER/NAME, datasets/OWNER/NAME or licenses/KEY"
        ),
        OpenApiParameter("depth", int, description=f"Links away from the asset (1-{graph.MAX_DEPTH}, default 1)"),
        OpenApiParameter(
            "limit",
            int,
            description=f"New nodes at most (1-{graph.MAX_LIMIT}, default {graph.DEFAULT_LIMIT})",
        ),
    ],
    responses=OpenApiTypes.OBJECT,
)
class GraphView(APIView):
    def get(self, request):
        try:
            reference, depth, limit = graph.arguments(request.query_params)
            root = graph.resolve(reference, request.user)
        except graph.BadArgument as error:
            raise ValidationError({error.field: [str(error)]}) from None
        return Response(graph.neighbourhood(root, request.user, depth=depth, limit=limit))
