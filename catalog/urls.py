from django.urls import path, register_converter

from catalog import views


class KindConverter:
    regex = "models|datasets"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(KindConverter, "kind")

app_name = "catalog"

urlpatterns = [
    path("search/", views.search_page, name="search"),
    path("graph/", views.graph_page, name="graph"),
    path("models/", views.model_list, name="model-list"),
    path("models/new/", views.model_edit, name="model-create"),
    path("models/<str:owner>/<str:name>/", views.model_detail, name="model-detail"),
    path("models/<str:owner>/<str:name>/edit/", views.model_edit, name="model-edit"),
    path("models/<str:owner>/<str:name>/suited-datasets/", views.model_suited_datasets, name="model-suited-datasets"),
    path("models/<str:owner>/<str:name>/evaluations/", views.evaluation_add, name="evaluation-add"),
    path("models/<str:owner>/<str:name>/evaluations/<int:pk>/", views.evaluation_edit, name="evaluation-edit"),
    path(
        "models/<str:owner>/<str:name>/evaluations/<int:pk>/delete/", views.evaluation_delete, name="evaluation-delete"
    ),
    path("datasets/", views.dataset_list, name="dataset-list"),
    path("datasets/new/", views.dataset_edit, name="dataset-create"),
    path("datasets/<str:owner>/<str:name>/", views.dataset_detail, name="dataset-detail"),
    path("datasets/<str:owner>/<str:name>/edit/", views.dataset_edit, name="dataset-edit"),
    path(
        "datasets/<str:owner>/<str:name>/recommendations/",
        views.dataset_recommendations,
        name="dataset-recommendations",
    ),
    path("datasets/<str:owner>/<str:name>/related/<path:path>", views.file_related, name="file-related"),
    path("<kind:kind>/<str:owner>/<str:name>/delete/", views.asset_delete, name="asset-delete"),
    path("<kind:kind>/<str:owner>/<str:name>/like/", views.asset_like, name="asset-like"),
    path("<kind:kind>/<str:owner>/<str:name>/files/", views.file_list, name="files"),
    path("<kind:kind>/<str:owner>/<str:name>/resolve/<path:path>", views.file_download, name="file-download"),
    path("<kind:kind>/<str:owner>/<str:name>/history/<path:path>", views.file_history, name="file-history"),
    path("<kind:kind>/<str:owner>/<str:name>/delete/<path:path>", views.file_delete, name="file-delete"),
    path("<kind:kind>/<str:owner>/<str:name>/commits/", views.commit_list, name="commits"),
    path("<kind:kind>/<str:owner>/<str:name>/commit/<str:revision>/", views.commit_detail, name="commit"),
]
