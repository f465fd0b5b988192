from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("models/<str:owner>/<str:name>/", views.model_detail, name="model-detail"),
    path("datasets/<str:owner>/<str:name>/", views.dataset_detail, name="dataset-detail"),
]
