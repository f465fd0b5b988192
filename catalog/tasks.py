from celery import shared_task

from catalog import files


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def process_file_version(version_id: int) -> str:
    """Inspect, hash, encrypt and store one uploaded version (safe to run twice)."""
    return files.process_version(version_id).status


@shared_task(acks_late=True)
def warm_facets() -> dict[str, int]:
    """Recount the unfiltered model and dataset facets of the public catalogue and of everything into
    the cache (scheduled by Celery beat; safe to run any time)."""
    from catalog.api.facets import warm_shared_facets

    return warm_shared_facets()
