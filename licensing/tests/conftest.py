import pytest


@pytest.fixture
def eager_celery(settings):
    """Run tasks in process even when REDIS_URL is set (CI): Django settings and Celery's own conf."""
    from openmodelhub.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous
