"""Deployment checks of our own, run by ``manage.py check --deploy`` beside Django's."""

import os
from pathlib import Path

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def master_keys_are_configured(app_configs, **kwargs) -> list[Warning]:
    """In production the master keys come from the environment, never from the embedded key ring file,
    which lives beside the data it protects and is not shared between hosts."""
    if settings.DEBUG or os.environ.get("OMH_MASTER_KEYS"):
        return []
    return [
        Warning(
            f"OMH_MASTER_KEYS is not set: files would be encrypted with the development key ring "
            f"{settings.VAR_DIR / 'master_keys.json'}, generated on first use on this host only.",
            hint="Create a key with `manage.py rotate_master_key --new-key`, keep it safe, and set "
            "OMH_MASTER_KEYS=id:key (OMH_MASTER_KEY_ID names the current one) for every web and worker process.",
            id="openmodelhub.W001",
        )
    ]


@register(Tags.security, deploy=True)
def audit_checkpoint_key_is_configured(app_configs, **kwargs) -> list[Warning]:
    """Like W001 for the key that signs the audit checkpoints (accounts.checkpoints): the development key
    generated under var/ sits on the hub's own host, where whoever rewrites the audit trail could also
    re-sign the checkpoints that are to reveal it."""
    development = Path(settings.VAR_DIR) / "audit_checkpoint_key"
    if settings.DEBUG or not development.is_file():
        return []
    if development.read_text().strip() != settings.OMH_AUDIT_CHECKPOINT_KEY:
        return []
    return [
        Warning(
            f"OMH_AUDIT_CHECKPOINT_KEY is not set: the audit checkpoints would be signed with the development key "
            f"{development}, generated on this host.",
            hint="Generate a long random key (python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "keep it off the database host, and set OMH_AUDIT_CHECKPOINT_KEY (or OMH_AUDIT_CHECKPOINT_KEY_FILE) "
            "for the web, worker and beat processes and for verify_audit (docs/audit.md).",
            id="openmodelhub.W002",
        )
    ]
