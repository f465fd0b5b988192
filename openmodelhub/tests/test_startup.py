"""openmodelhub.startup.settle: what the WSGI and ASGI modules run in every serving process before its first
request (every view imported, the startup objects frozen out of the collector's passes, a request's cyclic
garbage freed once it has been answered). Run in a child process: it changes the interpreter's collector."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from openmodelhub.settings import BASE_DIR

CHILD = """
import gc, json, sys
import openmodelhub.wsgi  # Django set up, then settle() as a gunicorn worker does
from django.core.signals import request_finished
from django.test import Client
from openmodelhub.startup import YOUNG

frozen = gc.get_freeze_count()
from catalog import semantic
encoder_loaded = semantic.encoder.cache_info().currsize == 1  # before any search
views = sorted(name for name in sys.modules if name.startswith(("catalog.views", "hfhub.views", "catalog.api.views")))
Client().get("/no-such-page/")  # a whole request (a 404): request_finished runs the young collection
class Node:
    pass
a, b = Node(), Node()
a.other, b.other = b, a  # a reference cycle: only the cyclic collector frees it
del a, b
pending = gc.get_count()[0]
request_finished.send(sender=None)
print(json.dumps({"frozen": frozen, "threshold": gc.get_threshold()[0], "young": YOUNG, "views": views,
                  "pending": pending, "encoder": encoder_loaded, "after": gc.get_count()[0]}))
"""


def test_a_serving_process_imports_its_views_freezes_its_startup_objects_and_collects_after_each_request(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "openmodelhub.settings", "DATABASE_URL": "", "REDIS_URL": ""}
    env["OMH_VAR_DIR"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-c", CHILD], cwd=BASE_DIR, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["frozen"] > 50_000  # Django, DRF and the project's modules: out of every collection's walk
    assert seen["threshold"] == seen["young"]  # no young collection in the middle of a request
    assert {"catalog.views", "catalog.api.views", "hfhub.views"} <= set(seen["views"])  # imported before a request
    assert seen["encoder"]  # the query encoder loaded as the process started, not in its first search
    assert seen["pending"] >= 1 and seen["after"] == 0  # request_finished collected what the request left
