from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import views as v
from catalog.models import Asset

router = SimpleRouter()
router.register("tokens", v.ApiTokenViewSet, basename="token")


def sharing_routes(asset_model: type[Asset]) -> list:
    """An asset's grants and invitations, under models/ and datasets/ by owner/name."""
    prefix, one = asset_model.plural, "<str:owner>/<str:name>"
    return [
        path(f"{prefix}/{one}/grants/", v.GrantsView.as_view(asset_model=asset_model), name=f"{prefix}-grants"),
        path(
            f"{prefix}/{one}/grants/<int:grant_id>/",
            v.GrantDetailView.as_view(asset_model=asset_model),
            name=f"{prefix}-grant",
        ),
        path(
            f"{prefix}/{one}/invitations/",
            v.InvitationsView.as_view(asset_model=asset_model),
            name=f"{prefix}-invitations",
        ),
        path(
            f"{prefix}/{one}/invitations/<int:invitation_id>/",
            v.InvitationDetailView.as_view(asset_model=asset_model),
            name=f"{prefix}-invitation",
        ),
    ]


urlpatterns = [
    path("me", v.MeView.as_view(), name="me"),
    path("invitations/accept/", v.AcceptInvitationView.as_view(), name="invitation-accept"),
    *router.urls,
    *(route for asset_model in Asset.kinds().values() for route in sharing_routes(asset_model)),
    path("users/", v.UserListView.as_view(), name="users"),
    path("users/<str:username>/", v.UserDetailView.as_view(), name="user"),
    path("affiliations/", v.AffiliationListView.as_view(), name="affiliations"),
]
