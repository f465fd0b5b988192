"""Queue a Celery task, or run its body at once when Celery runs eagerly (the embedded default).

Celery's eager path (``task.delay`` with ``CELERY_TASK_ALWAYS_EAGER``) acquires a broker producer,
round-trips the arguments through the serializer, builds a tracer and an ``EagerResult`` on every
call: a web process that creates models grew by ~50 KiB per POST that way (3,000 creates: +150 MiB;
Python's own objects stayed flat under tracemalloc, the growth is in the allocator behind that
machinery), while calling the task's function directly left it flat (bench/http.py, "memory").
Both run the same function in the caller's thread with its exceptions propagated
(CELERY_TASK_EAGER_PROPAGATES), so nothing but the bookkeeping is skipped.
"""

from __future__ import annotations

from django.conf import settings


def enqueue(task, *args) -> None:
    """``task.delay(*args)``, or ``task.run(*args)`` in this thread when tasks run eagerly."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        task.run(*args)
    else:
        task.delay(*args)
