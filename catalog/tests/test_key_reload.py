"""A running hub reads master keys added by another process (issue 14, item 5): rotate_master_key
--generate next to a running embedded hub made every download 500 until a restart."""

import base64
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from catalog import crypto
from catalog.models import FileVersion
from catalog.tests.factories import MLModelFactory
from catalog.tests.test_files import upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_store", "eager_celery")]

# What another process does for one version: rotate_master_key --generate (embedded key ring) or, with
# OMH_MASTER_KEYS, a process started with the new key: re-wrap the data key under the current master key.
OTHER_PROCESS = """
import base64, json, sys, django
django.setup()
from catalog import crypto
job = json.loads(sys.stdin.read())
if job["generate"]:
    crypto.add_development_key()
data_key = crypto.unwrap_key(job["key_id"], base64.b64decode(job["wrapped"]))
key_id, wrapped = crypto.wrap_key(data_key)
print(json.dumps({"key_id": key_id, "wrapped": base64.b64encode(wrapped).decode()}))
"""


def rewrap_in_another_process(version: FileVersion, env: dict, *, generate: bool) -> None:
    job = {
        "generate": generate,
        "key_id": version.key_id,
        "wrapped": base64.b64encode(bytes(version.wrapped_key)).decode(),
    }
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "openmodelhub.settings", **env}
    done = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS],
        input=json.dumps(job),
        env=env,
        text=True,
        capture_output=True,
        cwd=django_settings.BASE_DIR,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    FileVersion.objects.filter(pk=version.pk).update(
        key_id=result["key_id"], wrapped_key=base64.b64decode(result["wrapped"])
    )


def download_status(client, owner, model, path: str) -> tuple[int, bytes]:
    client.force_login(owner)
    response = client.get(f"/models/{owner.username}/{model.name}/resolve/{path}")
    return response.status_code, b"".join(response.streaming_content) if response.status_code == 200 else b""


def test_a_key_generated_by_another_process_is_read_when_a_download_needs_it(
    client, owner, settings, tmp_path, monkeypatch
):
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    monkeypatch.delenv("OMH_MASTER_KEYS")
    monkeypatch.delenv("OMH_MASTER_KEY_ID")
    crypto.keyring.cache_clear()
    model = MLModelFactory(owner=owner)
    version = upload(owner, model, "notes.txt", b"weights, honestly")
    cached = crypto.keyring()  # this process (the running hub) now holds the ring with one key
    rewrap_in_another_process(
        version, {"OMH_VAR_DIR": str(settings.VAR_DIR), "OMH_MASTER_KEYS": "", "OMH_MASTER_KEY_ID": ""}, generate=True
    )
    new_id = FileVersion.objects.get(pk=version.pk).key_id
    assert new_id not in cached.keys
    assert download_status(client, owner, model, "notes.txt") == (200, b"weights, honestly")
    assert crypto.keyring().current_id == new_id  # later uploads are wrapped under the new key too


def test_a_key_added_to_the_environment_is_read_when_a_download_needs_it(client, owner, monkeypatch):
    model = MLModelFactory(owner=owner)
    version = upload(owner, model, "notes.txt", b"more weights")
    crypto.keyring()  # cached with the old key only
    new_id, new_key = crypto.new_master_key()
    spec = f"{os.environ['OMH_MASTER_KEYS']},{new_id}:{new_key}"
    rewrap_in_another_process(version, {"OMH_MASTER_KEYS": spec, "OMH_MASTER_KEY_ID": new_id}, generate=False)
    monkeypatch.setenv("OMH_MASTER_KEYS", spec)  # what this process would see, e.g. a worker given the new key
    assert FileVersion.objects.get(pk=version.pk).key_id == new_id
    assert download_status(client, owner, model, "notes.txt") == (200, b"more weights")


def test_a_key_nobody_has_still_fails_clearly(owner):
    model = MLModelFactory(owner=owner)
    version = upload(owner, model, "notes.txt", b"x")
    FileVersion.objects.filter(pk=version.pk).update(key_id="k-missing")
    with pytest.raises(ImproperlyConfigured, match="Master key 'k-missing' is not configured"):
        crypto.unwrap_key("k-missing", bytes(version.wrapped_key))
