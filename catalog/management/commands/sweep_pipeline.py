from django.core.management.base import BaseCommand, CommandError

from catalog import pipeline


class Command(BaseCommand):
    help = (
        "Queue again the file versions pending for longer than OMH_PENDING_MAX_AGE (rejecting those already "
        "queued again OMH_PIPELINE_MAX_REQUEUES times) and delete staged files older than OMH_STAGING_MAX_AGE "
        "that no pending version and no live upload session needs. Celery beat runs the same sweep every "
        "OMH_SWEEP_SECONDS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--pending-age", type=float, help="seconds (default OMH_PENDING_MAX_AGE)")
        parser.add_argument("--staging-age", type=float, help="seconds (default OMH_STAGING_MAX_AGE)")
        parser.add_argument("--dry-run", action="store_true", help="report what would be done, change nothing")

    def handle(self, *args, pending_age=None, staging_age=None, dry_run=False, **options):
        for name, value in (("--pending-age", pending_age), ("--staging-age", staging_age)):
            if value is not None and value < 0:
                raise CommandError(f"{name} must be zero or more seconds")
        result = pipeline.sweep(pending_age=pending_age, staging_age=staging_age, dry_run=dry_run)
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            f"{len(result.requeued)} pending versions {verb} queued again, {len(result.rejected)} rejected, "
            f"{len(result.removed)} staged files removed"
            + (" (dry run)" if dry_run else f", {result.expired_uploads} expired uploads deleted")
        )
