"""Deployment checks of our own, run by ``manage.py check --deploy`` beside Django's."""

import os

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def master_keys_are_configured(app_configs, **kwargs) -> list[Warning]:
    """In production the master keys come from the environment, never from the embedded key ring file,
    which lives beside the data it protects and is not shared between hosts."""
    if settings.DEBUG or os.environ.get("OMH_MASTER_KEYS"):
        return []
    return [Warning(
        f"OMH_MASTER_KEYS is not set: files would be encrypted with the development key ring "
        f"{settings.VAR_DIR / 'master_keys.json'}, generated on first use on this host only.",
        hint="Create a key with `manage.py rotate_master_key --new-key`, keep it safe, and set "
             "OMH_MASTER_KEYS=id:key (OMH_MASTER_KEY_ID names the current one) for every web and worker process.",
        id="openmodelhub.W001",
    )]
