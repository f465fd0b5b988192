"""Model recommendation for a dataset (catalog.recommend): for a catalogue dataset by owner/name, or for a
dataset described only by its metadata (cold start, POSTed as JSON)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import recommend
from catalog.api.views import AssetLookupMixin
from catalog.models import Dataset

PARAMETERS = [
    OpenApiParameter("k", int, description=f"How many models (1-{recommend.MAX_K}, default 10)"),
    OpenApiParameter(
        "purpose",
        str,
        enum=list(recommend.PURPOSES),
        description='Leave out the models whose licence analysis answers "no" for this use; "unclear" and '
        '"not_analysed" stay, marked, unless strict=true',
    ),
    OpenApiParameter("strict", bool, description='With purpose: keep only "yes" and "conditional"'),
]


def _options(params) -> dict:
    k = params.get("k", "10")
    if not (isinstance(k, str) and k.isascii() and k.isdigit()):
        raise ValidationError({"k": [f"Give a whole number from 1 to {recommend.MAX_K}."]})
    strict = params.get("strict", "false")
    if strict not in ("true", "false", "1", "0"):
        raise ValidationError({"strict": ["Give true or false."]})
    return {"k": int(k), "purpose": params.get("purpose") or None, "strict": strict in ("true", "1")}


def _answer(user, profile, options: dict) -> Response:
    try:
        found = recommend.recommend(user, profile, **options)
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from None
    return Response(as_json(found))


def as_json(found: recommend.Recommendation) -> dict:
    query = found.query
    return {
        "dataset": query.full_name or None,
        "query": {"name": query.name, "tasks": sorted(query.tasks), "media": sorted(query.media)},
        "purpose": found.purpose,
        "strict": found.strict,
        "unknown_licence": "excluded" if found.strict else "kept and marked (unclear / not_analysed)",
        "excluded": found.excluded,
        "similar_datasets": [
            {"dataset": b.name, "similarity": round(b.similarity, 3), "split": b.split, "metric": b.metric}
            for b in found.neighbours
        ],
        "results": [
            {
                "model": {
                    "id": row["model"].pk,
                    "name": row["model"].full_name,
                    "url": row["model"].get_absolute_url(),
                },
                **{key: row[key] for key in ("score", "percentile", "confidence", "licence", "cold")},
                "explanation": {
                    "text": row["explanation"],
                    "evidence": [{k: v for k, v in e.items() if k != "dataset"} for e in row["evidence"]],
                    "lineage": row["lineage"],
                    "tasks": row["tasks"],
                    "media": row["media"],
                },
            }
            for row in found.results
        ],
    }


class DatasetRecommendationsView(AssetLookupMixin, APIView):
    asset_model = Dataset

    @extend_schema(
        summary="Models to try on this dataset: expected score, confidence, licence answer and explanation",
        parameters=PARAMETERS,
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, owner: str, name: str):
        options = _options(request.query_params)
        dataset = self.get_asset()
        return _answer(request.user, recommend.profile_of(dataset), options)


class ColdStartRecommendationsView(APIView):
    permission_classes = [permissions.AllowAny]  # a read: it writes nothing

    @extend_schema(
        summary="Models to try on a dataset described by its metadata only (cold start)",
        parameters=PARAMETERS,
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
        description='Body: {"name": "...", "card": "...", "tasks": ["image-classification"], "media": ["image"], '
        '"columns": [{"name": "label", "type": "int64"}]}; only name is required.',
    )
    def post(self, request):
        options = _options(request.query_params)
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object describing the dataset."]})
        try:
            profile = recommend.profile_from_description(request.data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return _answer(request.user, profile, options)
