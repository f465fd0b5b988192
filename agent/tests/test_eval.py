import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.core.management.base import CommandError

from agent.eval.runner import load_cases
from agent.sqlguard import dialect_for
from agent.tests.fake_llm import sql_reply


def test_the_evaluation_set_has_at_least_60_distinct_questions_with_sql_for_both_engines():
    cases = load_cases()
    assert len(cases) >= 60
    assert len({c.id for c in cases}) == len(cases) and len({c.question for c in cases}) == len(cases)
    for dialect in ("postgres", "sqlite"):
        assert all(c.sql_for(dialect).upper().startswith(("SELECT", "WITH")) for c in cases)
    assert {c.entity_type for c in cases} <= {"", "model", "dataset", "user", "affiliation"}
    assert {c.viewer for c in cases} <= {"", "admin"}


def test_the_evaluation_set_covers_dates_lineage_depth_compliance_and_ethics():
    cases = {c.id: c for c in load_cases()}
    topics = {
        "dates": [
            "models-released-2024",
            "models-without-release-date",
            "models-added-last-30-days",
            "models-added-per-month",
            "datasets-added-this-year",
            "oldest-datasets",
        ],
        "lineage depth": ["deepest-lineage", "root-base-models", "count-descendants-any-depth"],
        "compliance": ["licence-violations", "count-licence-warnings", "permissive-without-findings"],
        "ethics": ["informed-consent-unknown", "anonymised-datasets", "external-documentation", "split-unknown"],
    }
    assert {i for ids in topics.values() for i in ids} <= set(cases)
    assert "WITH RECURSIVE" in cases["deepest-lineage"].sql
    assert "licensing_compliancereport" in cases["licence-violations"].sql
    assert "INTERVAL" in cases["models-added-last-30-days"].sql_postgres
    assert "strftime" in cases["models-added-per-month"].sql_sqlite


@pytest.mark.django_db
def test_the_evaluation_runs_on_the_demo_catalogue(fake_llm, capsys, django_capture_on_commit_callbacks):
    """Every expected SQL runs and has rows; a model that answers them scores 100%, a wrong one less."""
    with django_capture_on_commit_callbacks(execute=True):  # the compliance analysis runs on commit
        call_command("load_records", str(settings.BASE_DIR / "fixtures" / "demo.json"), stdout=None)
    call_command("agent_eval", "--check-expected")
    assert "All" in capsys.readouterr().out

    dialect = dialect_for(connection.vendor)
    cases = {c.question: c.sql_for(dialect) for c in load_cases()}

    def answer(body: dict) -> str:
        question = body["messages"][1]["content"]
        return sql_reply(cases[question])

    fake_llm.default = answer
    call_command("agent_eval")
    out = capsys.readouterr().out
    assert re.search(rf"Execution accuracy: {len(cases)}/{len(cases)} = 100.0%", out)

    fake_llm.default = lambda body: sql_reply("SELECT name FROM catalog_task")
    with pytest.raises(CommandError, match="below 50"):
        call_command("agent_eval", "--only", "count-models", "--only", "rnn-models", "--fail-under", "50")
    assert "Execution accuracy: 0/2 = 0.0%" in capsys.readouterr().out


def test_the_evaluation_needs_a_configured_model(no_llm):
    with pytest.raises(CommandError, match="not configured"):
        call_command("agent_eval")


@pytest.mark.django_db
def test_an_expected_query_that_is_refused_is_reported_as_a_missed_item(fake_llm, tmp_path, capsys):
    questions = tmp_path / "questions.yaml"
    questions.write_text(
        "- id: refused\n  question: Show the tokens.\n  sql: SELECT token_hash FROM accounts_apitoken\n"
        "- id: fine\n  question: How many tasks are there?\n  sql: SELECT COUNT(*) + 1 AS n FROM catalog_task\n"
    )
    fake_llm.default = sql_reply("SELECT COUNT(*) + 1 AS n FROM catalog_task")
    call_command("agent_eval", "--file", str(questions))
    out = capsys.readouterr().out
    assert "MISS  refused: the expected SQL failed: The column 'token_hash' is not available" in out
    assert "ok    fine" in out and "Execution accuracy: 1/2 = 50.0%" in out
    with pytest.raises(CommandError, match="1 of 2 expected queries failed"):
        call_command("agent_eval", "--file", str(questions), "--check-expected")
