"""The accounts API: who you are, your tokens, accepting invitations; an asset's grants and
invitations (manage permission, looked up like every asset endpoint: hidden is 404); users and
affiliations (admins)."""

from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, mixins, permissions, status, viewsets
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api import serializers as s
from accounts.api.permissions import IsAdminRole
from accounts.models import Affiliation, ApiToken, Grant, Invitation, User
from catalog.api.views import AssetLookupMixin


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = s.MeSerializer

    @extend_schema(summary="Who you are (user name, e-mail, role, affiliations)", responses=s.MeSerializer)
    def get(self, request):
        return Response(s.MeSerializer(request.user).data)


@extend_schema_view(
    list=extend_schema(summary="Your personal access tokens"),
    retrieve=extend_schema(summary="One of your tokens (never its secret)"),
    create=extend_schema(
        summary="Create a token (the secret is in this response only)",
        request=s.ApiTokenSerializer,
        responses={201: s.NewApiTokenSerializer},
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
    serializer_class = s.ApiTokenSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = s.ApiTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {"scope": ApiToken.Scope.READ, **serializer.validated_data}  # the model's default scope
        token, secret = services.create_api_token(user=request.user, request=request, **data)
        token.token = secret
        return Response(s.NewApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.revoke_api_token(by=self.request.user, token=instance, request=self.request)


class AcceptInvitationView(APIView):
    """Accept an invitation with the token of its link (the e-mailed or returned secret), as the
    account it is addressed to. You end with one grant on the asset: an existing grant with a higher
    permission is kept, a lower one is replaced."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = s.AcceptInvitationSerializer

    @extend_schema(
        summary="Accept an invitation",
        request=s.AcceptInvitationSerializer,
        responses={200: s.AcceptedInvitationSerializer},
    )
    def post(self, request):
        data = s.AcceptInvitationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            grant = services.accept_invitation(user=request.user, token=data.validated_data["token"], request=request)
        except ValidationError as exc:
            raise ApiValidationError({"token": exc.messages}) from None
        asset = grant.asset
        return Response(
            s.AcceptedInvitationSerializer(
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


# --- sharing ------------------------------------------------------------------------------------


class SharingMixin(AssetLookupMixin):
    manage_action = "manage who it is shared with"

    def get_managed_asset(self):
        return self.get_asset(manage=True)


class GrantsView(SharingMixin, APIView):
    serializer_class = s.GrantSerializer

    @extend_schema(summary="Active grants on the asset (manage permission)", responses=s.GrantSerializer(many=True))
    def get(self, request, **kwargs):
        asset = self.get_managed_asset()
        grants = Grant.objects.active().for_asset(asset).select_related("user", "affiliation")
        return Response(s.GrantSerializer(grants, many=True).data)

    @extend_schema(summary="Grant read, write or manage access to a user or an affiliation (replaces their grant)")
    def post(self, request, **kwargs):
        asset = self.get_managed_asset()
        data = s.GrantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = services.grant_access(by=request.user, asset=asset, request=request, **data.validated_data)
        return Response(s.GrantSerializer(grant).data, status=status.HTTP_201_CREATED)


class GrantDetailView(SharingMixin, APIView):
    @extend_schema(summary="Revoke a grant", responses={204: None})
    def delete(self, request, grant_id: int, **kwargs):
        asset = self.get_managed_asset()
        grant = get_object_or_404(Grant.objects.for_asset(asset), pk=grant_id)
        services.revoke_grant(by=request.user, grant=grant, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationsView(SharingMixin, APIView):
    serializer_class = s.InvitationSerializer

    @extend_schema(summary="Invitations for the asset (manage permission)", responses=s.InvitationSerializer(many=True))
    def get(self, request, **kwargs):
        asset = self.get_managed_asset()
        invitations = Invitation.objects.for_asset(asset).select_related("invited_user")
        return Response(s.InvitationSerializer(invitations, many=True).data)

    @extend_schema(
        summary="Invite a registered user or an e-mail address: e-mailed like the Share page's "
        "invitations; the token is also returned, once"
    )
    def post(self, request, **kwargs):
        asset = self.get_managed_asset()
        data = s.InvitationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, token = services.invite(by=request.user, asset=asset, request=request, **data.validated_data)
        services.mail_invitation(invitation=invitation, token=token, request=request)
        invitation.token = token
        return Response(s.InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetailView(SharingMixin, APIView):
    @extend_schema(summary="Revoke an invitation (and the access it gave)", responses={204: None})
    def delete(self, request, invitation_id: int, **kwargs):
        asset = self.get_managed_asset()
        invitation = get_object_or_404(Invitation.objects.for_asset(asset), pk=invitation_id)
        services.revoke_invitation(by=request.user, invitation=invitation, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- users and affiliations (admins) ------------------------------------------------------------


class UserListView(generics.ListAPIView):
    serializer_class = s.UserSerializer
    permission_classes = [IsAdminRole]
    queryset = User.objects.prefetch_related("affiliations").order_by("username")
    pagination_class = None


class UserDetailView(generics.RetrieveUpdateAPIView):
    serializer_class = s.UserSerializer
    permission_classes = [IsAdminRole]
    queryset = User.objects.prefetch_related("affiliations")
    lookup_field = "username"

    def perform_update(self, serializer):
        user, data = serializer.instance, serializer.validated_data
        if "role" in data:
            services.change_role(by=self.request.user, user=user, role=data.pop("role"), request=self.request)
        if "is_active" in data:
            services.set_active(by=self.request.user, user=user, active=data.pop("is_active"), request=self.request)
        serializer.save()


class AffiliationListView(generics.ListCreateAPIView):
    serializer_class = s.AffiliationSerializer
    permission_classes = [IsAdminRole]
    pagination_class = None

    def get_queryset(self):
        return Affiliation.objects.annotate(member_count=Count("members")).order_by("name")
