from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from catalog.management.commands.setup import ensure_admin


class Command(BaseCommand):
    help = (
        "Prepare the embedded demo hub: run setup (licence knowledge base, task vocabulary), load "
        "fixtures/demo.json (both idempotent, and records edited since they were loaded are kept unless --update), "
        "the evaluation results of its timm models (fixtures/timm-results, import_timm_results) "
        "and make sure an admin account "
        "exists. A new admin gets a random password, kept in var/admin_password so it can be printed again; "
        "the credentials are printed every time."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin", help="admin username (default: admin)")
        parser.add_argument(
            "--address",
            default="127.0.0.1:8000",
            help="HOST:PORT the server will listen on, for the address printed (default: 127.0.0.1:8000; "
            "make run passes $(HOST):$(PORT))",
        )
        parser.add_argument(
            "--skip-data", action="store_true", help="do not load the knowledge base, the tasks and the demo records"
        )
        parser.add_argument(
            "--update",
            action="store_true",
            help="overwrite demo records, licences and tasks edited since they were loaded",
        )

    def handle(self, *args, username: str, skip_data: bool, update: bool, address: str, **options) -> None:
        flags = ["--update"] if update else []
        if not skip_data:
            # The knowledge base first, so that the demo's declared licence strings resolve as they load
            # and the demo's few licence records do not overwrite the knowledge base's terms.
            call_command("setup", *flags, admin="", stdout=self.stdout, stderr=self.stderr)
            call_command(
                "load_records",
                str(settings.BASE_DIR / "fixtures" / "demo.json"),
                *flags,
                stdout=self.stdout,
                stderr=self.stderr,
            )
            call_command(  # the demo's timm models' results: leaderboards on the ImageNet sets (docs/evaluations.md)
                "import_timm_results",
                dir=settings.BASE_DIR / "fixtures" / "timm-results",
                stdout=self.stdout,
                stderr=self.stderr,
            )
            call_command("embed_assets", stdout=self.stdout, stderr=self.stderr)  # semantic search (docs/search.md)
        password_file = settings.VAR_DIR / "admin_password"
        admin, password = ensure_admin(username=username, email="", password=None)
        if password is not None:
            password_file.write_text(password)
            password_file.chmod(0o600)
        elif password_file.exists() and admin.check_password(password_file.read_text().strip()):
            password = password_file.read_text().strip()
        else:
            password = None
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"OpenModelHub is ready at http://{address}/"))
        self.stdout.write(f"  admin user: {username}")
        if password:
            self.stdout.write(f"  password:   {password}   (kept in {password_file})")
        else:
            self.stdout.write("  password:   (set by you; change it with: manage.py changepassword admin)")
        self.stdout.write("")
