from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import (
    AcceptedInvitationSerializer,
    AcceptInvitationSerializer,
    ApiTokenSerializer,
    MeSerializer,
    NewApiTokenSerializer,
)
from accounts.models import ApiToken
from accounts.services import accept_invitation, create_api_token, revoke_api_token


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = MeSerializer

    @extend_schema(summary="Who you are (user name, e-mail, role, affiliations)", responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


@extend_schema_view(
    list=extend_schema(summary="Your personal access tokens"),
    retrieve=extend_schema(summary="One of your tokens (never its secret)"),
    create=extend_schema(
        summary="Create a token (the secret is in this response only)",
        request=ApiTokenSerializer,
        responses={201: NewApiTokenSerializer},
    ),
    destroy=extend_schema(summary="Revoke a token"),
)
class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
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


class AcceptInvitationView(APIView):
    """Accept an invitation with the token of its link (the e-mailed or returned secret), as the
    account it is addressed to. You end with one grant on the asset: an existing grant with a higher
    permission is kept, a lower one is replaced."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = AcceptInvitationSerializer

    @extend_schema(
        summary="Accept an invitation",
        request=AcceptInvitationSerializer,
        responses={200: AcceptedInvitationSerializer},
    )
    def post(self, request):
        data = AcceptInvitationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            grant = accept_invitation(user=request.user, token=data.validated_data["token"], request=request)
        except ValidationError as exc:
            raise ApiValidationError({"token": exc.messages}) from None
        asset = grant.asset
        return Response(
            AcceptedInvitationSerializer(
                {
                    "asset": {
                        "kind": asset.kind,
                        "id": asset.pk,
                        "owner": asset.owner.username,
                        "name": asset.name,
                    },
                    "permission": grant.permission,
                    "expires_at": grant.expires_at,
                }
            ).data
        )
