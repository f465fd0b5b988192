from celery import shared_task

from accounts import checkpoints


@shared_task
def write_audit_checkpoint() -> int | None:
    """Beat: sign the audit chain's head outside the database (nothing when it has not grown)."""
    checkpoint = checkpoints.write_checkpoint()
    return checkpoint.seq if checkpoint else None
