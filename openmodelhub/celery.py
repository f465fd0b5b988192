import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openmodelhub.settings")

app = Celery("openmodelhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Heavy file work has a queue of its own (OMH_FILES_QUEUE), so that light tasks (cache warming, audit
# checkpoints, the sweep) never wait behind a large upload: run one worker per queue (README).
FILE_TASKS = {"catalog.tasks.process_file_version"}


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router (CELERY_TASK_ROUTES): file tasks go to settings.OMH_FILES_QUEUE, read per call."""
    if name in FILE_TASKS:
        from django.conf import settings

        return {"queue": settings.OMH_FILES_QUEUE}
    return None
