import secrets

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.models import User


class Command(BaseCommand):
    help = (
        "Prepare the embedded demo hub: load fixtures/demo.json and the licence knowledge base (both idempotent) "
        "and make sure an admin account "
        "exists. A new admin gets a random password, kept in var/admin_password so it can be printed again; "
        "the credentials are printed every time."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin", help="admin username (default: admin)")
        parser.add_argument("--skip-data", action="store_true", help="do not load the demo records")

    def handle(self, *args, username: str, skip_data: bool, **options) -> None:
        if not skip_data:
            call_command("load_records", str(settings.BASE_DIR / "fixtures" / "demo.json"), stdout=self.stdout)
            # The licence knowledge base (ScanCode + ModelGo + curated terms); it also resolves the
            # demo's declared licence strings and re-analyses compliance.
            call_command("load_licenses", stdout=self.stdout)
        password_file = settings.VAR_DIR / "admin_password"
        admin = User.objects.filter(username=username).first()
        if admin is None:
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(username, f"{username}@localhost", password)
            password_file.write_text(password)
            password_file.chmod(0o600)
        elif password_file.exists() and admin.check_password(password_file.read_text().strip()):
            password = password_file.read_text().strip()
        else:
            password = None
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("OpenModelHub is ready at http://127.0.0.1:8000/"))
        self.stdout.write(f"  admin user: {username}")
        if password:
            self.stdout.write(f"  password:   {password}   (kept in {password_file})")
        else:
            self.stdout.write("  password:   (set by you; change it with: manage.py changepassword admin)")
        self.stdout.write("")
