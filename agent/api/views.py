from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from agent import services
from agent.api.serializers import AgentQuerySerializer, QuestionSerializer
from agent.models import AgentQuery


def api_wait_seconds() -> float:
    return float(settings.AGENT_API_WAIT_SECONDS)


class AgentQueryView(APIView):
    """POST a question; the answer comes back (200) if ready within a bounded wait, else 202 and a URL to poll.

    The body holds ``error_code`` (0 success, 1 not configured, 2 language model failure, 3 SQL
    rejected, 4 execution error, 5 timeout, 6 internal error), ``sql``, ``columns`` and ``rows``.
    """

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        summary="Ask a question about the catalogue",
        request=QuestionSerializer,
        responses={200: AgentQuerySerializer, 202: AgentQuerySerializer},
    )
    def post(self, request):
        serializer = QuestionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        query = services.submit_question(user=request.user, **serializer.validated_data)
        query.refresh_from_db()
        query = services.wait_for(query, seconds=api_wait_seconds())
        code = status.HTTP_200_OK if query.is_done else status.HTTP_202_ACCEPTED
        return Response(AgentQuerySerializer(query, context={"request": request}).data, status=code)


class AgentQueryDetailView(APIView):
    """One of your questions and its answer (poll it after a 202)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(summary="One of your questions and its answer", responses=AgentQuerySerializer)
    def get(self, request, pk: int):
        query = get_object_or_404(AgentQuery.objects.asked_by(request.user), pk=pk)
        return Response(AgentQuerySerializer(query, context={"request": request}).data)
