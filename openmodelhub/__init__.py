from openmodelhub.celery import app as celery_app
from openmodelhub import checks  # noqa: F401  (deploy checks register on import)

__version__ = "0.1.0"
__all__ = ["celery_app", "__version__"]
