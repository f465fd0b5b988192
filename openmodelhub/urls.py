from django.contrib import admin
from django.urls import include, path

from catalog import views as catalog_views

admin.site.site_header = "OpenModelHub curation"
admin.site.site_title = "OpenModelHub admin"
admin.site.index_title = "Catalogue curation"

urlpatterns = [
    path("", catalog_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("", include("catalog.urls")),
]
