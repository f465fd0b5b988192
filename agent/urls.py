from django.urls import path

from agent import views

app_name = "agent"

urlpatterns = [
    path("", views.ask, name="ask"),
    path("queries/<int:pk>/", views.query_detail, name="query-detail"),
    path("queries/<int:pk>/status", views.query_status, name="query-status"),
    path("queries/<int:pk>/csv", views.query_csv, name="query-csv"),
]
