from django.urls import path

from insights.api.views import InsightsIndexView, InsightsStatView

urlpatterns = [
    path("", InsightsIndexView.as_view(), name="insights-index"),
    path("<str:name>", InsightsStatView.as_view(), name="insights-stat"),
]
