from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.urls import auth_urlpatterns
from catalog import views as catalog_views

admin.site.site_header = "OpenModelHub curation"
admin.site.site_title = "OpenModelHub admin"
admin.site.index_title = "Catalogue curation"

api_v1 = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include("catalog.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("licensing.api.urls")),
    path("insights/", include("insights.api.urls")),
    path("agent/", include("agent.api.urls")),
]

urlpatterns = [
    path("", catalog_views.home, name="home"),
    path("admin/", admin.site.urls),
    *auth_urlpatterns,
    path("accounts/", include("accounts.urls")),
    path("licences/", include("licensing.urls")),
    path("insights/", include("insights.urls")),
    path("agent/", include("agent.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("hf/", include("hfhub.urls")),  # the Hugging Face Hub protocol: HF_ENDPOINT=https://host/hf
    path("", include("catalog.urls")),
]
