import os
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User

TASKS_FILE = settings.BASE_DIR / "fixtures" / "tasks.json"


def ensure_admin(*, username: str, email: str, password: str | None) -> tuple[User, str | None]:
    """The admin named ``username``, created when missing; returns it and the password set now
    (a random one when none is given), or None for an existing admin, which is left untouched."""
    admin = User.objects.filter(username=username).first()
    if admin is not None:
        return admin, None
    password = password or secrets.token_urlsafe(12)
    admin = User(
        username=username,
        email=email or f"{username}@localhost",
        role=User.Role.ADMIN,
        is_staff=True,
        is_superuser=True,
    )
    admin.set_password(password)
    admin.full_clean(exclude=["password"])
    admin.save()
    return admin, password


class Command(BaseCommand):
    help = (
        "Make a migrated database usable, production or embedded: load the licence knowledge base "
        "(load_licenses) and the task vocabulary (fixtures/tasks.json), and create an admin when one is named "
        "(--admin, or the OMH_ADMIN_USERNAME variable; password from OMH_ADMIN_PASSWORD, otherwise a random "
        "one printed once; e-mail from OMH_ADMIN_EMAIL). Safe to run twice: what exists, and what curators "
        "edited since it was loaded, is kept unless --update is given; an existing admin is never changed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--admin",
            default=os.environ.get("OMH_ADMIN_USERNAME", ""),
            help="user name of an admin to create if missing (default: $OMH_ADMIN_USERNAME)",
        )
        parser.add_argument(
            "--update", action="store_true", help="overwrite licences and tasks edited since they were loaded"
        )
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")

    def handle(self, *args, admin: str, update: bool, dry_run: bool, **options) -> None:
        flags = [*(["--update"] if update else []), *(["--dry-run"] if dry_run else [])]
        call_command("load_licenses", *flags, stdout=self.stdout, stderr=self.stderr)
        call_command("load_records", str(TASKS_FILE), *flags, stdout=self.stdout, stderr=self.stderr)
        if not admin:
            return
        if dry_run:
            exists = User.objects.filter(username=admin).exists()
            self.stdout.write(f"[dry run] admin {admin!r} {'exists' if exists else 'would be created'}")
            return
        try:
            user, password = ensure_admin(
                username=admin,
                email=os.environ.get("OMH_ADMIN_EMAIL", ""),
                password=os.environ.get("OMH_ADMIN_PASSWORD") or None,
            )
        except ValidationError as exc:
            raise CommandError(f"could not create the admin {admin!r}: {' '.join(exc.messages)}") from None
        if password is None:
            self.stdout.write(f"admin {admin!r} already exists: left unchanged")
        elif os.environ.get("OMH_ADMIN_PASSWORD"):
            self.stdout.write(self.style.SUCCESS(f"created admin {admin!r} (password from OMH_ADMIN_PASSWORD)"))
        else:
            self.stdout.write(self.style.SUCCESS(f"created admin {admin!r} with password {password} (shown once)"))
        if not user.is_superuser:
            self.stderr.write(self.style.WARNING(f"user {admin!r} exists but is not a superuser: not changed"))
