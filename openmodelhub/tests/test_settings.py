"""Settings come from the environment through typed helpers (issue 15, item 6)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from openmodelhub.settings import BASE_DIR, env_bool, env_float, env_int, env_list, env_str


def test_env_int_reads_a_whole_number_and_falls_back_to_the_default_when_unset_or_empty(monkeypatch):
    monkeypatch.setenv("OMH_TEST_NUMBER", " 42 ")
    assert env_int("OMH_TEST_NUMBER", 7) == 42
    monkeypatch.setenv("OMH_TEST_NUMBER", "")
    assert env_int("OMH_TEST_NUMBER", 7) == 7
    monkeypatch.delenv("OMH_TEST_NUMBER")
    assert env_int("OMH_TEST_NUMBER", 7) == 7


def test_env_int_and_env_float_refuse_garbage_naming_the_variable(monkeypatch):
    monkeypatch.setenv("OMH_TEST_NUMBER", "12k")
    with pytest.raises(ImproperlyConfigured, match="OMH_TEST_NUMBER"):
        env_int("OMH_TEST_NUMBER", 1)
    with pytest.raises(ImproperlyConfigured, match="OMH_TEST_NUMBER"):
        env_float("OMH_TEST_NUMBER", 1.0)


def test_env_float_bool_list_and_str_read_their_types(monkeypatch):
    monkeypatch.setenv("OMH_TEST_FLOAT", "0.25")
    monkeypatch.setenv("OMH_TEST_BOOL", "Yes")
    monkeypatch.setenv("OMH_TEST_LIST", " a, ,b ")
    monkeypatch.setenv("OMH_TEST_STR", "x")
    assert env_float("OMH_TEST_FLOAT", 1.0) == 0.25
    assert env_bool("OMH_TEST_BOOL", False) is True
    assert env_list("OMH_TEST_LIST", "") == ["a", "b"]
    assert env_str("OMH_TEST_STR", "y") == "x"
    assert env_str("OMH_TEST_UNSET", "y") == "y"


def test_settings_py_reads_no_number_without_the_typed_helpers():
    source = (BASE_DIR / "openmodelhub" / "settings.py").read_text()
    assert "int(os.environ" not in source and "float(os.environ" not in source


def test_settings_that_app_code_reads_are_declared_with_their_defaults(settings):
    assert settings.AGENT_DB_ROLE == "omh_agent_reader"
    assert settings.AGENT_PAGE_WAIT_SECONDS == 90
    assert settings.AGENT_API_WAIT_SECONDS == 20.0
    assert settings.AGENT_MAX_QUESTION_CHARS == 2000
    assert settings.INSIGHTS_WORK_MEM == "64MB"
    assert settings.INSIGHTS_LINEAGE_MAX_CANDIDATES == 20_000
    assert settings.LICENSING_PREPARED_STATEMENTS is True


def test_app_code_reads_settings_as_attributes_not_with_getattr_defaults():
    offenders = []
    for app in ("accounts", "agent", "insights", "licensing", "openmodelhub"):
        for path in Path(BASE_DIR, app).rglob("*.py"):
            if "tests" not in path.parts and "getattr(settings," in path.read_text():
                offenders.append(str(path.relative_to(BASE_DIR)))
    assert offenders == []


def test_a_bad_number_in_the_environment_stops_the_start_with_the_variable_named(tmp_path):
    env = {**os.environ, "OMH_VAR_DIR": str(tmp_path), "OMH_MAX_UPLOAD_BYTES": "20GB"}
    result = subprocess.run(
        [sys.executable, "-c", "import openmodelhub.settings"], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "OMH_MAX_UPLOAD_BYTES must be a whole number" in result.stderr
