from django.core.management.base import BaseCommand, CommandError

from accounts.audit import verify_chain


class Command(BaseCommand):
    help = (
        "Walk the audit trail's hash chain from the first event to the last. Exits 0 when it is intact, "
        "and 1 naming the first broken event when a row was edited, removed or inserted out of order."
    )

    def handle(self, *args, **options) -> None:
        checked, problem = verify_chain()
        if problem is not None:
            raise CommandError(f"Audit trail broken at {problem} ({checked} events before it are intact).")
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {checked} events verified."))
