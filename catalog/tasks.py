from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from catalog import files, pipeline

STORAGE_RETRIES = 5


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,  # a worker killed mid-file gives the message back: another one runs it
    max_retries=STORAGE_RETRIES,
    soft_time_limit=settings.OMH_FILE_TASK_SOFT_SECONDS,
    time_limit=settings.OMH_FILE_TASK_HARD_SECONDS,
)
def process_file_version(self, version_id: int) -> str:
    """Inspect, hash, encrypt and store one uploaded version (safe to run twice; routed to the
    OMH_FILES_QUEUE queue). Storage errors are retried with backoff, then reject the version, as does the
    soft time limit; what happens on each fault is in catalog.pipeline."""
    try:
        return files.process_version(version_id).status
    except SoftTimeLimitExceeded:
        return pipeline.give_up(
            version_id, f"processing took longer than {settings.OMH_FILE_TASK_SOFT_SECONDS} s, the limit for one file"
        )
    except OSError as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=min(600, 5 * 2**self.request.retries)) from None
        return pipeline.give_up(
            version_id,
            f"the file could not be stored after {self.max_retries + 1} attempts "
            f"({type(exc).__name__}: {str(exc)[:200]}); upload it again",
        )


@shared_task(acks_late=True)
def sweep_pipeline() -> dict[str, int]:
    """Queue stuck pending versions again and remove staged files nothing needs (Celery beat)."""
    return pipeline.sweep().as_dict()


@shared_task(acks_late=True)
def warm_facets() -> dict[str, int]:
    """Recount the unfiltered model and dataset facets of the public catalogue and of everything into
    the cache (scheduled by Celery beat; safe to run any time)."""
    from catalog.api.facets import warm_shared_facets

    return warm_shared_facets()


@shared_task(acks_late=True)
def embed_asset(kind: str, asset_id: int) -> bool:
    """One asset's ``embed_batch`` (kept for messages queued before it existed)."""
    return bool(embed_batch.run(kind, [asset_id]))


@shared_task(acks_late=True)
def embed_batch(kind: str, asset_ids: list[int]) -> int:
    """Recompute the search embeddings of these assets (nothing for those whose text did not change or that
    are gone), and rebuild the vector index once the vectors changed since its build pass
    OMH_SEARCH_REBUILD_AFTER. Returns how many were looked at."""
    from catalog import semantic
    from catalog.models import Dataset, MLModel

    model_cls = MLModel if kind == "model" else Dataset
    done = sum(semantic.embed_assets(model_cls, asset_ids))
    semantic.refresh_index(kind)
    return done


@shared_task(acks_late=True)
def rebuild_vector_indexes() -> dict[str, int]:
    """Rebuild the HNSW index of models and datasets from the stored vectors (beat; safe any time)."""
    from catalog import semantic

    return semantic.rebuild_indexes()
