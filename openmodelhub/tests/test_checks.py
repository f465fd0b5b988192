"""Deployment checks and production defaults of our own (issue 14, item 13)."""

from pathlib import Path

from django.core import checks

from openmodelhub.celery import app


def deploy_warnings() -> list[str]:
    return [message.id for message in checks.run_checks(include_deployment_checks=True)]


def test_check_deploy_warns_when_no_master_keys_are_configured_in_production(settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.delenv("OMH_MASTER_KEYS", raising=False)
    assert "openmodelhub.W001" in deploy_warnings()


def test_check_deploy_is_quiet_about_master_keys_when_they_are_set_or_in_debug(settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.setenv("OMH_MASTER_KEYS", "k1:" + "A" * 43 + "=")
    assert "openmodelhub.W001" not in deploy_warnings()
    monkeypatch.delenv("OMH_MASTER_KEYS")
    settings.DEBUG = True
    assert "openmodelhub.W001" not in deploy_warnings()


def development_checkpoint_key(settings, tmp_path) -> str:
    """The key as settings.py falls back to it: generated into var/ (here a temporary one)."""
    settings.VAR_DIR = tmp_path
    (tmp_path / "audit_checkpoint_key").write_text("generated-on-this-host\n")
    return "generated-on-this-host"


def test_check_deploy_warns_when_audit_checkpoints_are_signed_with_the_development_key(settings, tmp_path):
    settings.DEBUG = False
    settings.OMH_AUDIT_CHECKPOINT_KEY = development_checkpoint_key(settings, tmp_path)
    assert "openmodelhub.W002" in deploy_warnings()


def test_check_deploy_is_quiet_about_the_checkpoint_key_when_one_is_configured_or_in_debug(settings, tmp_path):
    settings.DEBUG = False
    development_checkpoint_key(settings, tmp_path)
    settings.OMH_AUDIT_CHECKPOINT_KEY = "from-the-environment-" + "k" * 40
    assert "openmodelhub.W002" not in deploy_warnings()
    settings.OMH_AUDIT_CHECKPOINT_KEY = development_checkpoint_key(settings, tmp_path)
    settings.DEBUG = True
    assert "openmodelhub.W002" not in deploy_warnings()


def test_celery_beat_keeps_its_schedule_under_the_var_folder_not_in_the_checkout(settings):
    schedule = Path(app.conf.beat_schedule_filename)
    assert schedule.parent == Path(settings.VAR_DIR) and schedule.parent != Path(settings.BASE_DIR)
