"""Receivers for Django's own authentication signals (not signals between our apps)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts import audit


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs) -> None:
    audit.record("login", actor=user, request=request)


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit.record("logout", actor=user, request=request)


@receiver(user_login_failed)
def audit_failed_login(sender, credentials, request=None, **kwargs) -> None:
    audit.record("login.failed", request=request, details={"username": credentials.get("username", "")})
