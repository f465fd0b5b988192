from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("register/", views.register, name="register"),
    path("sharing/", views.my_sharing, name="my-sharing"),
    path("shared-with-me/", views.shared_with_me, name="shared-with-me"),
    path("tokens/", views.tokens, name="tokens"),
    path("users/", views.user_list, name="users"),
    path("users/<str:username>/", views.user_update, name="user-update"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("share/<str:kind>/<str:owner>/<str:name>/", views.share, name="share"),
]

# Django's authentication views with our templates (templates/registration/) and our login form.
auth_urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"
    ),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
