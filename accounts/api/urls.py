from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api.views import AcceptInvitationView, ApiTokenViewSet, MeView

router = SimpleRouter()
router.register("tokens", ApiTokenViewSet, basename="token")

urlpatterns = [
    path("me", MeView.as_view(), name="me"),
    path("invitations/accept/", AcceptInvitationView.as_view(), name="invitation-accept"),
    *router.urls,
]
