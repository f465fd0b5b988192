from celery import shared_task

from insights import selectors


@shared_task(acks_late=True)
def warm_insights_cache() -> dict[str, float]:
    """Refresh the cached statistics of the shared scopes (staff, public); safe to run any time.

    Schedule it with Celery beat a little more often than INSIGHTS_CACHE_SECONDS so that nobody
    waits for a cold computation on the insights page or the home page summary.
    """
    return selectors.warm_shared_scopes()
