"""load_records: progress on a terminal and in logs, --verbosity 0, and task synonyms (issue 22, items 6, 7)."""

import io
import json
import os
import pty

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Dataset, MLModel, Task

pytestmark = pytest.mark.django_db

ORIGINAL = {
    "affiliation": [{"affil_name": "CUHK-SZ"}],
    "user": [{"user_name": "alice", "password_hash": "pw-alice-123", "affiliate": "CUHK-SZ", "is_admin": False}],
    "dataset": [
        {"ds_name": "imagenet-mini", "ds_size": 1000, "media": "image", "task": ["classification"], "columns": []},
        {"ds_name": "sst2", "ds_size": 100, "media": "text", "task": ["Classification"], "columns": []},
        {"ds_name": "tedlium", "ds_size": 100, "media": "audio", "task": ["generation"], "columns": []},
    ],
    "model": [
        {
            "model_name": "ResNet-50",
            "param_num": 25_000_000,
            "media_type": "image",
            "arch_name": "CNN",
            "trainname": "pre-train",
            "task": ["classification", "detection"],
            "module_num": 1,
            "modules": [{"conv_size": 64, "pool_type": "max"}],
        },
        {
            "model_name": "GPT-2",
            "param_num": 124_000_000,
            "media_type": "text",
            "arch_name": "Transformer",
            "trainname": "pre-train",
            "task": ["generation", "text_generation", "ASR"],
        },
    ],
}


def write(tmp_path, data, name="records.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def run_on_a_terminal(*args, command="load_records", **options) -> str:
    """Runs a command with its output on a pseudo-terminal and returns what the terminal received."""
    master, slave = pty.openpty()
    try:
        with open(slave, "w", closefd=False) as tty:
            assert tty.isatty()
            call_command(command, *args, stdout=tty, **options)
            tty.flush()
        os.set_blocking(master, False)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(master)
        os.close(slave)


def test_a_terminal_shows_a_progress_bar_with_counts_and_rate(tmp_path):
    path = write(tmp_path, ORIGINAL)
    out = run_on_a_terminal(str(path))
    total = 1 + 1 + 3 + 2 + 2  # affiliations, users, datasets, models, then the lineage pass over models
    assert "\rrecords [" in out
    assert f"records [{'#' * 24}] {total}/{total} 100% " in out
    assert "/s in 0:0" in out  # the last state: rate and time taken
    assert "Loaded from" in out
    assert MLModel.objects.count() == 2


def test_verbosity_0_prints_no_progress_even_on_a_terminal(tmp_path):
    path = write(tmp_path, ORIGINAL)
    out = run_on_a_terminal(str(path), verbosity=0)
    assert out == ""
    assert MLModel.objects.count() == 2  # loaded all the same


def test_a_pipe_gets_periodic_lines_and_a_short_run_adds_none(tmp_path, settings):
    path = write(tmp_path, ORIGINAL)
    quiet = io.StringIO()
    call_command("load_records", str(path), stdout=quiet)
    assert "records" not in quiet.getvalue().split("Loaded from")[0]  # shorter than OMH_PROGRESS_SECONDS

    settings.PROGRESS_SECONDS = 1e-9  # a line at every step
    logged = io.StringIO()
    call_command("load_records", str(path), "--update", stdout=logged)
    lines = [line for line in logged.getvalue().splitlines() if line.startswith("records: ")]
    assert lines[0].startswith("records: 1/9 (11%), ") and lines[0].endswith("/s")
    assert lines[-1].startswith("records: 9/9 (100%) in ")
    assert "\r" not in logged.getvalue()


def test_generic_task_names_are_mapped_onto_the_task_table_by_media(tmp_path):
    call_command("load_records", "fixtures/tasks.json", stdout=io.StringIO())
    path = write(tmp_path, ORIGINAL)
    out = io.StringIO()
    call_command("load_records", str(path), stdout=out)

    def tasks(asset):
        return sorted(asset.tasks.values_list("slug", flat=True))

    assert tasks(MLModel.objects.get(name="ResNet-50")) == ["image-classification", "object-detection"]
    assert tasks(MLModel.objects.get(name="GPT-2")) == ["automatic-speech-recognition", "text-generation"]
    assert tasks(Dataset.objects.get(name="imagenet-mini")) == ["image-classification"]
    assert tasks(Dataset.objects.get(name="sst2")) == ["text-classification"]
    assert tasks(Dataset.objects.get(name="tedlium")) == ["automatic-speech-recognition"]
    # no task is split in two: nothing named after the generic words was created
    assert not Task.objects.filter(slug__in=["classification", "generation", "detection", "text_generation", "asr"])
    assert Task.objects.get(slug="image-classification").name == "Image classification"  # the vocabulary's row
    report = out.getvalue()
    assert "tasks mapped onto the task table (" in report and "task_synonyms.json" in report
    assert "'classification' -> image-classification (2)" in report
    assert "'Classification' -> text-classification (1)" in report
    assert "'ASR' -> automatic-speech-recognition (1)" in report


def test_a_custom_synonyms_file_and_none(tmp_path):
    custom = write(tmp_path, {"synonyms": {"generation": "text2text-generation"}}, "synonyms.json")
    path = write(tmp_path, ORIGINAL)
    call_command("load_records", str(path), "--task-synonyms", str(custom), stdout=io.StringIO())
    assert Task.objects.filter(slug="text2text-generation").exists()
    assert "text2text-generation" in MLModel.objects.get(name="GPT-2").tasks.values_list("slug", flat=True)
    assert Task.objects.filter(slug="classification").exists()  # not in that file: kept as named

    other = write(tmp_path, {**ORIGINAL, "dataset": [], "model": [{**ORIGINAL["model"][1], "model_name": "x"}]}, "b")
    call_command("load_records", str(other), "--task-synonyms", "", stdout=io.StringIO())
    assert "generation" in MLModel.objects.get(name="x").tasks.values_list("slug", flat=True)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "task synonyms file"),
        (json.dumps({"synonyms": {"asr": "Not A Slug"}}), "synonyms.asr must be a task slug"),
        (json.dumps({"by_media": {"classification": "image-classification"}}), "by_media.classification must map"),
    ],
)
def test_a_bad_synonyms_file_is_refused_and_nothing_is_written(tmp_path, content, message):
    bad = tmp_path / "synonyms.json"
    bad.write_text(content)
    path = write(tmp_path, ORIGINAL)
    with pytest.raises(CommandError, match=message) as caught:
        call_command("load_records", str(path), "--task-synonyms", str(bad), stdout=io.StringIO())
    assert "Nothing was written" in str(caught.value)
    assert not MLModel.objects.exists() and not Dataset.objects.exists()


def test_a_missing_synonyms_file_is_named(tmp_path):
    path = write(tmp_path, ORIGINAL)
    with pytest.raises(CommandError, match="no such file"):
        call_command("load_records", str(path), "--task-synonyms", str(tmp_path / "absent.json"), stdout=io.StringIO())


def test_generate_catalog_and_check_licenses_show_the_same_bar(db):
    out = run_on_a_terminal("--models", "30", "--datasets", "20", "--batch", "10", command="generate_catalog")
    assert f"datasets [{'#' * 24}] 20/20 100% " in out and f"models [{'#' * 24}] 30/30 100% " in out
    out = run_on_a_terminal("--all", command="check_licenses")
    assert f"models analysed [{'#' * 24}] 30/30 100% " in out
    assert run_on_a_terminal("--all", command="check_licenses", verbosity=0) == ""


def test_demo_setup_prints_the_address_make_run_serves(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("demo_setup", "--skip-data", "--address", "127.0.0.1:8123", stdout=out)
    assert "OpenModelHub is ready at http://127.0.0.1:8123/" in out.getvalue()


def test_commands_are_quiet_celery_logs_no_task_lines_and_kombu_no_hostname_warning(settings, caplog):
    import logging

    from kombu import Connection

    assert not logging.getLogger("celery.app.trace").isEnabledFor(logging.INFO)  # "Task ... succeeded"
    assert logging.getLogger("celery.app.trace").isEnabledFor(logging.ERROR)  # failures are still logged
    with caplog.at_level(logging.WARNING, logger="kombu.connection"):
        Connection(settings.CELERY_BROKER_URL).info()
    assert "No hostname" not in caplog.text
