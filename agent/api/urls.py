from django.urls import path

from agent.api.views import AgentQueryDetailView, AgentQueryView

urlpatterns = [
    path("query", AgentQueryView.as_view(), name="agent-query"),
    path("query/<int:pk>", AgentQueryDetailView.as_view(), name="agent-query-detail"),
]
