from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from agent.readonly import reader_role, role_statements, setup_reader_role


class Command(BaseCommand):
    help = (
        "Create or refresh the PostgreSQL role the agent's queries run as: NOLOGIN, SELECT on the exposed "
        "tables (only the exposed columns of accounts_user) and on the tables the visibility filters read, "
        "nothing else; and let the current database user SET ROLE to it. Safe to run twice. `migrate` runs "
        "it too when the database user may create roles. Role name: settings.AGENT_DB_ROLE."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="print the SQL (for a database owner) without running it"
        )

    def handle(self, *args, dry_run: bool, **options) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write(
                "Nothing to do: the agent's role is for PostgreSQL; on SQLite queries run through "
                "a read-only authorizer."
            )
            return
        if dry_run:
            for statement in role_statements():
                self.stdout.write(f"{statement};")
            self.stdout.write(f'GRANT "{reader_role()}" TO <the hub\'s database user>;')
            return
        try:
            statements = setup_reader_role()
        except DatabaseError as exc:
            raise CommandError(
                f"Could not set up the role {reader_role()!r}: {str(exc).strip().splitlines()[0]}. "
                "Run `manage.py agent_setup_role --dry-run` and have a database owner apply the SQL."
            ) from None
        self.stdout.write(self.style.SUCCESS(f"Role {reader_role()!r} ready: {len(statements)} statements applied."))
