import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openmodelhub.settings")
application = get_wsgi_application()

from openmodelhub.startup import settle  # noqa: E402 (after Django is set up)

settle()  # every view imported, the startup objects out of the collector's full passes
