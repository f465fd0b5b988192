from django.core.management.base import BaseCommand, CommandError

from accounts import checkpoints
from accounts.audit import chain_head


class Command(BaseCommand):
    help = (
        "Sign the audit chain's head (last event number and hash, and the time) with OMH_AUDIT_CHECKPOINT_KEY and "
        "store it outside the database (OMH_AUDIT_CHECKPOINT_DIR, else the default storage under audit-checkpoints/), "
        "after checking that the events since the last checkpoint link to it. Beat does this every "
        "OMH_AUDIT_CHECKPOINT_SECONDS; run it from cron where beat does not run. Writes nothing when the chain has "
        "not grown; exits 1 when the chain no longer matches the last checkpoint."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Say what would be signed; write nothing.")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        if dry_run:
            seq, digest = chain_head()
            self.stdout.write(f"Would sign event #{seq} ({digest}) into {checkpoints.location()}.")
            return
        try:
            checkpoint = checkpoints.write_checkpoint()
        except checkpoints.CheckpointError as exc:
            raise CommandError(str(exc)) from exc
        if checkpoint is None:
            self.stdout.write("Nothing to sign: the chain is empty or has not grown since the last checkpoint.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Signed {checkpoint} into {checkpoints.location()}."))
