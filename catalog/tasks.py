from celery import shared_task

from catalog import files


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def process_file_version(version_id: int) -> str:
    """Inspect, hash, encrypt and store one uploaded version (safe to run twice)."""
    return files.process_version(version_id).status
