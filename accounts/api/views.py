from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import ApiTokenSerializer, MeSerializer, NewApiTokenSerializer
from accounts.models import ApiToken
from accounts.services import create_api_token, revoke_api_token


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = MeSerializer

    @extend_schema(summary="Who you are (user name, e-mail, role, affiliations)", responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


@extend_schema_view(
    list=extend_schema(summary="Your personal access tokens"),
    retrieve=extend_schema(summary="One of your tokens (never its secret)"),
    create=extend_schema(summary="Create a token (the secret is in this response only)", request=ApiTokenSerializer,
                         responses={201: NewApiTokenSerializer}),
    destroy=extend_schema(summary="Revoke a token"),
)
class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Your personal access tokens. DELETE revokes (the record stays, for the audit trail)."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = ApiTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            data = {"scope": ApiToken.Scope.READ, **serializer.validated_data}  # the model's default scope
            token, secret = create_api_token(user=request.user, request=request, **data)
        except ValidationError as exc:
            raise ApiValidationError({"detail": exc.messages}) from None
        token.token = secret
        return Response(NewApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        revoke_api_token(by=self.request.user, token=instance, request=self.request)
