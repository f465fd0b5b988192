from celery import shared_task

from licensing import services


@shared_task(name="licensing.recompute_compliance")
def recompute_compliance_task(model_ids: list[int]) -> dict:
    """Re-analyse these models and their descendants; models deleted meanwhile are skipped. Safe to run twice."""
    analysed, violating = services.recompute_compliance(model_ids)
    return {"analysed": analysed, "with_violations": violating}


@shared_task(name="licensing.reresolve_licenses")
def reresolve_licenses_task() -> dict:
    """Resolve again the declared licences the knowledge base did not recognise (it grew). Safe to run twice."""
    models, datasets = services.reresolve_assets()
    return {"models": models, "datasets": datasets}
