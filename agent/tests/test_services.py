import pytest

from accounts.models import AuditEvent
from agent import services
from agent.models import AgentQuery, ErrorCode
from agent.tests.fake_llm import sql_reply

pytestmark = pytest.mark.django_db

NAMES = "SELECT name FROM catalog_mlmodel ORDER BY name"


def ask(user, question="Which models are there?", entity_type=""):
    return services.answer_question(user=user, question=question, entity_type=entity_type)


def test_the_happy_path_answers_with_code_0_the_sql_and_the_rows(fake_llm, catalogue, stranger):
    fake_llm.script(sql_reply(NAMES))
    answer = ask(stranger)
    assert answer.error_code == ErrorCode.OK
    assert answer.sql == NAMES
    assert answer.columns == ["name"]
    assert answer.rows == [["open-llm"]]
    assert len(fake_llm.requests) == 1
    system = fake_llm.messages(0)[0]["content"]
    assert "catalog_mlmodel" in system and fake_llm.requests[0]["model"] == "fake-model"


def test_a_first_wrong_sql_is_corrected_on_retry_with_the_error_given_to_the_model(fake_llm, catalogue, owner):
    fake_llm.script(sql_reply("SELECT nme FROM catalog_mlmodel"), sql_reply(NAMES))
    answer = ask(owner)
    assert answer.error_code == ErrorCode.OK
    assert [r[0] for r in answer.rows] == ["open-llm", "secret-llm", "shared-llm", "team-llm"]
    assert len(answer.attempts) == 2 and answer.attempts[0]["error_code"] == ErrorCode.EXECUTION_ERROR
    retry = fake_llm.messages(1)
    assert retry[-2]["role"] == "assistant" and "nme" in retry[-2]["content"]
    assert "failed" in retry[-1]["content"] and "nme" in retry[-1]["content"]


def test_a_rejected_sql_is_retried_and_a_second_rejection_gives_code_3(fake_llm, catalogue, owner):
    fake_llm.script(sql_reply("DELETE FROM catalog_mlmodel"), sql_reply("SELECT * FROM accounts_apitoken"))
    answer = ask(owner)
    assert answer.error_code == ErrorCode.REJECTED
    assert answer.sql == "SELECT * FROM accounts_apitoken"
    assert "accounts_apitoken" in answer.message
    assert len(fake_llm.requests) == 2


def test_two_execution_errors_give_code_4_with_the_sql_and_the_message(fake_llm, catalogue, owner):
    fake_llm.script(sql_reply("SELECT nme FROM catalog_mlmodel"), sql_reply("SELECT nam FROM catalog_mlmodel"))
    answer = ask(owner)
    assert answer.error_code == ErrorCode.EXECUTION_ERROR
    assert answer.sql == "SELECT nam FROM catalog_mlmodel"
    assert "nam" in answer.message


def test_a_language_model_failure_gives_code_2(fake_llm, owner):
    fake_llm.script(500)
    answer = ask(owner)
    assert answer.error_code == ErrorCode.LLM_FAILURE
    assert "language model" in answer.message


def test_a_language_model_that_does_not_answer_in_time_gives_code_2(fake_llm, settings, owner):
    settings.AGENT_LLM_TIMEOUT_SECONDS = 0.3
    fake_llm.delay_seconds = 1.5
    fake_llm.script(sql_reply(NAMES))
    answer = ask(owner)
    assert answer.error_code == ErrorCode.LLM_FAILURE
    assert "Timeout" in answer.message


SLOW = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 100000000) SELECT COUNT(*) FROM c"


def test_the_statement_timeout_is_enforced_and_gives_code_5(fake_llm, settings, catalogue, owner):
    settings.AGENT_STATEMENT_TIMEOUT_MS = 200
    fake_llm.script(sql_reply(SLOW), sql_reply(SLOW))
    answer = ask(owner)
    assert answer.error_code == ErrorCode.TIMEOUT
    assert "200 ms" in answer.message
    assert "took longer" in fake_llm.messages(1)[-1]["content"]


def test_without_a_key_the_answer_says_the_agent_is_not_configured(no_llm, owner):
    answer = ask(owner)
    assert answer.error_code == ErrorCode.NOT_CONFIGURED
    assert "not configured" in answer.message


def test_the_entity_type_constrains_the_prompt(fake_llm, catalogue, owner):
    fake_llm.script(sql_reply("SELECT name FROM catalog_dataset"))
    ask(owner, entity_type="dataset")
    assert "one row per dataset" in fake_llm.messages(0)[0]["content"]


def test_every_question_is_logged_and_audited(fake_llm, catalogue, stranger):
    fake_llm.script(sql_reply(NAMES))
    query = services.submit_question(user=stranger, question="Which models?", entity_type="model")
    query.refresh_from_db()
    assert query.status == AgentQuery.Status.DONE and query.error_code == ErrorCode.OK
    assert query.sql == NAMES and query.rows == [["open-llm"]] and query.row_count == 1
    assert query.duration_ms is not None and query.finished_at is not None
    assert query.llm_model == "fake-model"
    event = AuditEvent.objects.get(action="agent.query")
    assert event.actor == stranger and event.target_id == str(query.pk)
    assert event.details["error_code"] == 0 and event.details["sql"] == NAMES


def test_running_a_query_twice_answers_it_once(fake_llm, catalogue, stranger):
    fake_llm.script(sql_reply(NAMES))
    query = services.submit_question(user=stranger, question="Which models?")
    services.run_query(query_id=query.pk)
    assert len(fake_llm.requests) == 1
    assert AuditEvent.objects.filter(action="agent.query").count() == 1
