"""Answers are bounded in size, and NUL characters never leave a query unfinished (issue 13, item 11)."""

import json

import pytest
from django.db import connection
from django.urls import reverse

from agent import services
from agent.models import AgentQuery, ErrorCode
from agent.tests.fake_llm import sql_reply
from catalog.tests.factories import MLModelFactory

pytestmark = pytest.mark.django_db


def json_bytes(value) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


@pytest.fixture
def long_cards(owner):
    return [MLModelFactory(owner=owner, name=f"long-{i}", card="é" * 3_000) for i in range(20)]


def test_a_large_answer_is_cut_at_the_byte_limit_with_a_note(fake_llm, settings, long_cards, stranger):
    settings.AGENT_MAX_ANSWER_BYTES = 20_000
    fake_llm.script(sql_reply("SELECT name, card FROM catalog_mlmodel ORDER BY name"))
    query = services.submit_question(user=stranger, question="Show every card.")
    query.refresh_from_db()
    assert query.status == AgentQuery.Status.DONE and query.error_code == ErrorCode.OK
    assert 0 < query.row_count < 20 and json_bytes(query.rows) <= 20_000
    assert "cut at 20000 bytes" in query.message and f"{query.row_count} rows shown" in query.message


def test_one_row_larger_than_the_limit_comes_back_with_its_texts_shortened(fake_llm, settings, owner, stranger):
    settings.AGENT_MAX_ANSWER_BYTES = 5_000
    MLModelFactory(owner=owner, name="huge", card="x" * 200_000)
    fake_llm.script(sql_reply("SELECT name, card FROM catalog_mlmodel"))
    answer = services.answer_question(user=stranger, question="Show the card.")
    assert answer.error_code == ErrorCode.OK and len(answer.rows) == 1
    assert answer.rows[0][0] == "huge" and answer.rows[0][1].startswith("xxx") and answer.rows[0][1].endswith("…")
    assert json_bytes(answer.rows) <= 5_000 and "long texts shortened" in answer.message


def test_a_small_answer_is_whole_and_carries_no_note(fake_llm, long_cards, stranger):
    fake_llm.script(sql_reply("SELECT name, card FROM catalog_mlmodel"))
    answer = services.answer_question(user=stranger, question="Show every card.")
    assert len(answer.rows) == 20 and answer.message == ""


def test_an_enormous_sql_reply_is_refused_and_the_log_stays_bounded(fake_llm, catalogue, stranger):
    sql = "SELECT name FROM catalog_mlmodel WHERE name IN (" + ", ".join(["'x'"] * 400_000) + ")"
    fake_llm.script(sql_reply(sql), sql_reply(sql))
    query = services.submit_question(user=stranger, question="?")
    query.refresh_from_db()
    assert query.status == AgentQuery.Status.DONE and query.error_code == ErrorCode.REJECTED
    assert "characters long" in query.message
    assert len(query.sql) <= services.MAX_LOGGED_CHARS + 1
    assert all(len(a["sql"]) <= services.MAX_LOGGED_CHARS + 1 for a in query.attempts)


@pytest.mark.parametrize(
    "reply",
    [
        "SELECT name FROM catalog_mlmodel WHERE name = 'a\x00b'",
        "SELECT \x00",
        'SELECT name AS "a\x00" FROM catalog_mlmodel',
    ],
)
def test_sql_with_a_nul_ends_the_query_rejected_and_stored(fake_llm, catalogue, stranger, reply):
    """On PostgreSQL the NUL used to make the log unsavable, leaving the query 'running' forever."""
    fake_llm.script(sql_reply(reply), sql_reply(reply))
    query = services.submit_question(user=stranger, question="Anything?")
    query.refresh_from_db()
    assert query.status == AgentQuery.Status.DONE and query.error_code == ErrorCode.REJECTED
    assert "NUL" in query.message
    stored = query.sql + query.message + json.dumps(query.attempts)
    assert "\x00" not in stored and "\\u0000" not in stored


def test_a_nul_in_the_rows_is_replaced_and_the_query_finishes(fake_llm, owner, stranger):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL text cannot hold a NUL, so no row can carry one there")
    MLModelFactory(owner=owner, name="nul-card", card="before\x00after")
    fake_llm.script(sql_reply("SELECT card FROM catalog_mlmodel"))
    query = services.submit_question(user=stranger, question="Which card?")
    query.refresh_from_db()
    assert query.status == AgentQuery.Status.DONE and query.rows == [["before\ufffdafter"]]


def test_a_question_with_a_nul_is_stored_without_it(fake_llm, catalogue, stranger):
    fake_llm.script(sql_reply("SELECT name FROM catalog_mlmodel"))
    query = services.submit_question(user=stranger, question="Which\x00 models?")
    query.refresh_from_db()
    assert query.status == AgentQuery.Status.DONE and "\x00" not in query.question


def test_the_api_and_the_page_refuse_a_question_with_a_nul(fake_llm, client, stranger):
    client.force_login(stranger)
    response = client.post(
        reverse("api:agent-query"), {"question": "Which\x00 models?"}, content_type="application/json"
    )
    assert response.status_code == 400 and "question" in response.json()
    page = client.post(reverse("agent:ask"), {"question": "Which\x00 models?"})
    assert page.status_code == 200 and "Null characters are not allowed" in page.content.decode()
    assert not AgentQuery.objects.exists()
