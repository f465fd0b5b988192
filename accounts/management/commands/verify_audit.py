from django.core.management.base import BaseCommand, CommandError

from accounts import checkpoints
from accounts.audit import verify_chain


class Command(BaseCommand):
    help = (
        "Walk the audit trail's hash chain from the first event to the last, then check it against the newest signed "
        "checkpoints kept outside the database (see checkpoint_audit). Exits 0 when both hold, and 1 naming the first "
        "broken event when a row was edited, removed or inserted out of order, when events were removed from the end "
        "or the whole chain was wiped or rewritten back to a checkpoint, when the head was rolled back, or when a "
        "checkpoint's signature does not verify. Reads only."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--checkpoints",
            type=int,
            default=10,
            metavar="N",
            help="How many of the newest checkpoints to check (0: all). Default 10.",
        )
        parser.add_argument(
            "--require-checkpoint",
            action="store_true",
            help="Exit 1 when there is no checkpoint at all (once beat has been running).",
        )

    def handle(self, *args, **options) -> None:
        try:
            # Read before the chain: a checkpoint signed meanwhile cannot be ahead of the head the walk reads.
            found = checkpoints.latest(options["checkpoints"])
        except checkpoints.CheckpointError as exc:
            raise CommandError(f"Audit checkpoint refused: {exc}.") from exc
        checked, problem = verify_chain()
        if problem is not None:
            raise CommandError(f"Audit trail broken at {problem} ({checked} events before it are intact).")
        problem = checkpoints.check_against_chain(found, checked)
        if problem is not None:
            raise CommandError(f"Audit trail broken at {problem}.")
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {checked} events verified."))
        if found:
            self.stdout.write(
                f"Consistent with {len(found)} signed checkpoint(s); the latest is the {found[0]}. "
                f"Events after #{found[0].seq} are covered by the chain only."
            )
            return
        message = (
            f"No signed checkpoint in {checkpoints.location()}: events removed from the end, or the whole "
            "chain wiped, would not be detected. Run beat (or checkpoint_audit)."
        )
        if options["require_checkpoint"]:
            raise CommandError(message)
        self.stdout.write(self.style.WARNING(message))
