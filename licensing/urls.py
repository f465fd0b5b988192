from django.urls import path

from licensing import views

app_name = "licensing"

urlpatterns = [
    path("", views.license_list, name="license-list"),
    path("models/<str:owner>/<str:name>/bom.<str:fmt>.json", views.model_bom, name="model-bom"),
    path("<str:key>/", views.license_detail, name="license-detail"),
]
