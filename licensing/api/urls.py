from django.urls import path

from licensing.api import views

# Mounted at the root of /api/v1/.
urlpatterns = [
    path("licenses/", views.LicenseListView.as_view(), name="license-list"),
    path("licenses/<str:key>/", views.LicenseDetailView.as_view(), name="license-detail"),
    path("models/<str:owner>/<str:name>/compliance", views.ModelComplianceView.as_view(), name="model-compliance"),
    path("models/<str:owner>/<str:name>/bom", views.ModelBomView.as_view(), name="model-bom"),
]
