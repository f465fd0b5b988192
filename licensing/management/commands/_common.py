from django.core.management.base import CommandError

from catalog.models import MLModel


def model_by_name(full_name: str) -> MLModel:
    """OWNER/NAME -> model, or a CommandError (exit code 2) that says what is wrong."""
    owner, sep, name = (full_name or "").partition("/")
    if not sep or not owner or not name:
        raise CommandError(f"expected OWNER/NAME, got {full_name!r}", returncode=2)
    model = MLModel.objects.with_name(full_name).select_related("owner", "license").first()
    if model is None:
        raise CommandError(f"no model {full_name!r}", returncode=2)
    return model


class Operator:
    """The person at the terminal sees every asset (a command runs with database access anyway)."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    role = "admin"
