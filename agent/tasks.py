from celery import shared_task

from agent import services


@shared_task(ignore_result=True)
def run_agent_query(query_id: int) -> None:
    """Answer a logged question; safe to run twice (a query already taken is left alone)."""
    services.run_query(query_id=query_id)
