"""Discovery endpoints (catalog.discovery.data): datasets suited to a model, files that could extend a dataset
file. Both look the asset up through visible_to (404) and consider only what the caller may see."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.discovery import data as data_discovery
from catalog.api.views import AssetLookupMixin
from catalog.models import Dataset, MLModel
from licensing.compliance import PURPOSES

DEFAULT_LIMIT, MAX_LIMIT = 10, 50
LIMIT = OpenApiParameter("limit", int, description=f"How many (1-{MAX_LIMIT}, default {DEFAULT_LIMIT})")


def read_limit(params) -> int:
    raw = params.get("limit", str(DEFAULT_LIMIT))
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_LIMIT):
        raise ValidationError({"limit": [f"Give a whole number from 1 to {MAX_LIMIT}."]})
    return int(raw)


def read_purpose(params) -> str | None:
    purpose = params.get("purpose") or None
    if purpose is not None and purpose not in PURPOSES:
        raise ValidationError({"purpose": [f"Give one of {', '.join(PURPOSES)}."]})
    return purpose


def suited_payload(found: data_discovery.SuitedDataset, request) -> dict:
    dataset = found.dataset
    return {
        "dataset": dataset.full_name,
        "url": request.build_absolute_uri(dataset.get_absolute_url()),
        "license": dataset.license.key if dataset.license_id else (dataset.license_declared or None),
        "score": found.score,
        "parts": found.parts,
        "reasons": found.reasons,
        "shared_tasks": found.shared_tasks,
        "shared_media": found.shared_media,
        "shared_columns": found.shared_columns,
        "licence": found.licence,
    }


def match_payload(match: data_discovery.ColumnMatch | None) -> dict | None:
    if match is None:
        return None
    return {
        "query_column": match.query_column,
        "column": match.column,
        "type": match.type,
        "name_similarity": match.name_similarity,
        "jaccard": match.jaccard,
        "containment": match.containment,
        "score": match.score,
        "explanation": match.explanation,
    }


def related_payload(found: data_discovery.RelatedFile, request) -> dict:
    dataset = found.file.dataset
    return {
        "dataset": dataset.full_name,
        "path": found.file.path,
        "url": request.build_absolute_uri(dataset.get_absolute_url()),
        "kind": found.kind,
        "score": found.score,
        "union_score": found.union_score,
        "join_score": found.join_score,
        "explanation": found.explanation,
        "union": [match_payload(m) for m in found.union],
        "join": match_payload(found.join),
    }


@extend_schema(
    summary="Datasets suited to a model, ranked and explained, with what training on each means for its licence",
    parameters=[
        LIMIT,
        OpenApiParameter("purpose", str, enum=list(PURPOSES), description="leave out datasets that would forbid it"),
    ],
    responses=OpenApiTypes.OBJECT,
)
class SuitedDatasetsView(AssetLookupMixin, APIView):
    asset_model = MLModel

    def get(self, request, owner: str, name: str):
        limit, purpose = read_limit(request.query_params), read_purpose(request.query_params)
        model = self.get_asset()
        found = data_discovery.suited_datasets(model, request.user, limit=limit, purpose=purpose)
        return Response({"model": model.full_name, "results": [suited_payload(f, request) for f in found]})


@extend_schema(
    summary="Files whose columns could extend this dataset file (union: same schema; join: a key column)",
    parameters=[LIMIT],
    responses=OpenApiTypes.OBJECT,
)
class RelatedFilesView(AssetLookupMixin, APIView):
    asset_model = Dataset

    def get(self, request, owner: str, name: str, path: str):
        limit = read_limit(request.query_params)
        dataset = self.get_asset()
        dataset_file = get_object_or_404(dataset.files, path=path)
        found = data_discovery.related_files(dataset_file, request.user, limit=limit)
        return Response(
            {
                "dataset": dataset.full_name,
                "path": dataset_file.path,
                "results": [related_payload(f, request) for f in found],
            }
        )
