from django.urls import path

from catalog.api import graph as graph_views
from catalog.api import discovery as discovery_views
from catalog.api import evaluations as e
from catalog.api import search as search_views
from catalog.api import uploads as u
from catalog.api import views as v
from catalog.api.croissant import DatasetCroissantView
from catalog.api.recommend import ColdStartRecommendationsView, DatasetRecommendationsView
from catalog.api.scoring import DatasetScoreView


def asset_routes(detail, by_id, prefix: str) -> list:
    """The same sub-resources under models/ and datasets/, addressed by owner/name (their grants and
    invitations: accounts.api.urls)."""
    one = "<str:owner>/<str:name>"
    return [
        path(f"{prefix}/<int:pk>/", by_id.as_view(), name=f"{prefix}-detail-by-id"),
        path(f"{prefix}/{one}/", detail.as_view(), name=f"{prefix}-detail"),
        path(f"{prefix}/{one}/files/", v.FilesView.as_view(asset_model=detail.asset_model), name=f"{prefix}-files"),
        path(
            f"{prefix}/{one}/versions/<path:path>",
            v.FileVersionsView.as_view(asset_model=detail.asset_model),
            name=f"{prefix}-file-versions",
        ),
        path(
            f"{prefix}/{one}/resolve/<path:path>",
            v.FileDownloadView.as_view(asset_model=detail.asset_model),
            name=f"{prefix}-file-download",
        ),
        path(
            f"{prefix}/{one}/commits/", u.CommitsView.as_view(asset_model=detail.asset_model), name=f"{prefix}-commits"
        ),
        *upload_routes(detail.asset_model, prefix),
        path(
            f"{prefix}/{one}/commits/<str:revision>/",
            v.CommitDetailView.as_view(asset_model=detail.asset_model),
            name=f"{prefix}-commit",
        ),
        path(f"{prefix}/{one}/refs/", v.RefsView.as_view(asset_model=detail.asset_model), name=f"{prefix}-refs"),
        path(
            f"{prefix}/{one}/similar/",
            search_views.SimilarView.as_view(asset_model=detail.asset_model),
            name=f"{prefix}-similar",
        ),
        path(f"{prefix}/{one}/like/", v.LikeView.as_view(asset_model=detail.asset_model), name=f"{prefix}-like"),
        path(f"{prefix}/{one}/refs/tags/", v.TagsView.as_view(asset_model=detail.asset_model), name=f"{prefix}-tags"),
        path(
            f"{prefix}/{one}/refs/tags/<str:tag>/",
            v.TagDetailView.as_view(asset_model=detail.asset_model),
            name=f"{prefix}-tag",
        ),
    ]


def upload_routes(asset_model, prefix: str) -> list:
    """Resumable uploads that a POST to commits/ commits (catalog/api/uploads.py)."""
    base = f"{prefix}/<str:owner>/<str:name>/uploads"
    return [
        path(f"{base}/", u.UploadsView.as_view(asset_model=asset_model), name=f"{prefix}-uploads"),
        path(f"{base}/<uuid:upload_id>", u.UploadDetailView.as_view(asset_model=asset_model), name=f"{prefix}-upload"),
        path(
            f"{base}/<uuid:upload_id>/parts/<int:number>",
            u.UploadPartView.as_view(asset_model=asset_model),
            name=f"{prefix}-upload-part",
        ),
        path(
            f"{base}/<uuid:upload_id>/complete",
            u.UploadCompleteView.as_view(asset_model=asset_model),
            name=f"{prefix}-upload-complete",
        ),
    ]


urlpatterns = [
    path("models/", v.ModelListView.as_view(), name="models"),
    path("models/facets", v.ModelFacetsView.as_view(), name="model-facets"),
    path("models/bulk", v.ModelBulkView.as_view(), name="models-bulk"),
    path("datasets/bulk", v.DatasetBulkView.as_view(), name="datasets-bulk"),
    *asset_routes(v.ModelDetailView, v.ModelDetailByIdView, "models"),
    path("models/<str:owner>/<str:name>/lineage/", v.ModelLineageView.as_view(), name="model-lineage"),
    path(
        "models/<str:owner>/<str:name>/lineage/<int:edge_id>/",
        v.ModelLineageEdgeView.as_view(),
        name="model-lineage-edge",
    ),
    path("models/<str:owner>/<str:name>/datasets/", v.ModelDatasetsView.as_view(), name="model-datasets"),
    path(
        "models/<str:owner>/<str:name>/datasets/<int:link_id>/",
        v.ModelDatasetLinkView.as_view(),
        name="model-dataset-link",
    ),
    path(
        "models/<str:owner>/<str:name>/suited-datasets/",
        discovery_views.SuitedDatasetsView.as_view(),
        name="model-suited-datasets",
    ),
    path("datasets/", v.DatasetListView.as_view(), name="datasets"),
    path("datasets/score", DatasetScoreView.as_view(), name="dataset-score"),  # before datasets/<owner>/...
    path("datasets/facets", v.DatasetFacetsView.as_view(), name="dataset-facets"),
    *asset_routes(v.DatasetDetailView, v.DatasetDetailByIdView, "datasets"),
    path("datasets/<str:owner>/<str:name>/croissant", DatasetCroissantView.as_view(), name="dataset-croissant"),
    path(
        "datasets/<str:owner>/<str:name>/recommendations",
        DatasetRecommendationsView.as_view(),
        name="dataset-recommendations",
    ),
    path("recommendations", ColdStartRecommendationsView.as_view(), name="recommendations"),
    path(
        "datasets/<str:owner>/<str:name>/related-files/<path:path>",
        discovery_views.RelatedFilesView.as_view(),
        name="dataset-related-files",
    ),
    path("models/<str:owner>/<str:name>/evaluations/", e.ModelEvaluationsView.as_view(), name="model-evaluations"),
    path(
        "datasets/<str:owner>/<str:name>/evaluations/", e.DatasetEvaluationsView.as_view(), name="dataset-evaluations"
    ),
    path("evaluations/", e.EvaluationListView.as_view(), name="evaluations"),
    path("evaluations/<int:pk>/", e.EvaluationDetailView.as_view(), name="evaluation-detail"),
    path("tasks/", v.TaskListView.as_view(), name="tasks"),
    path("search/suggest/", search_views.SuggestView.as_view(), name="search-suggest"),
    path("graph", graph_views.GraphView.as_view(), name="graph"),
]
