import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from agent.eval.runner import ResultSet, load_cases, matches
from agent.tests.fake_llm import sql_reply


def test_the_evaluation_set_has_at_least_40_distinct_questions_with_sql():
    cases = load_cases()
    assert len(cases) >= 40
    assert len({c.id for c in cases}) == len(cases) and len({c.question for c in cases}) == len(cases)
    assert all(c.sql.upper().startswith(("SELECT", "WITH")) for c in cases)
    assert {c.entity_type for c in cases} <= {"", "model", "dataset", "user", "affiliation"}


def test_execution_match_ignores_row_order_and_extra_columns_but_not_wrong_rows():
    expected = ResultSet(columns=["name"], rows=[["a"], ["b"]])
    assert matches(expected, ResultSet(columns=["owner", "name"], rows=[["x", "b"], ["y", "a"]]))
    assert matches(ResultSet(["n"], [[3]]), ResultSet(["count"], [[3.0]]))
    assert not matches(expected, ResultSet(columns=["name"], rows=[["a"]]))
    assert not matches(expected, ResultSet(columns=["name"], rows=[["a"], ["c"]]))
    assert not matches(expected, ResultSet(columns=["name"], rows=[["b"], ["a"]]), ordered=True)


@pytest.mark.django_db
def test_the_evaluation_runs_on_the_demo_catalogue(fake_llm, capsys):
    """Every expected SQL runs and has rows; a model that answers them scores 100%, a wrong one less."""
    call_command("load_records", str(settings.BASE_DIR / "fixtures" / "demo.json"), stdout=None)
    call_command("agent_eval", "--check-expected")
    assert "All" in capsys.readouterr().out

    cases = {c.question: c.sql for c in load_cases()}

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
