from django.http import HttpRequest

import openmodelhub


def hub(request: HttpRequest) -> dict:
    return {"hub_version": openmodelhub.__version__}
