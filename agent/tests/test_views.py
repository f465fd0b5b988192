import pytest
from django.urls import reverse

from agent.models import AgentQuery, ErrorCode
from agent.tests.fake_llm import sql_reply

pytestmark = pytest.mark.django_db

NAMES = "SELECT name, parameter_count FROM catalog_mlmodel ORDER BY name"


def post_question(client, question="Which models are there?", entity_type=""):
    return client.post(reverse("agent:ask"), {"question": question, "entity_type": entity_type})


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("agent:ask"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert client.post(reverse("agent:ask"), {"question": "x"}).status_code == 302
    assert AgentQuery.objects.count() == 0


def test_without_a_key_the_page_says_the_agent_is_not_configured_and_points_to_search(client, no_llm, stranger):
    client.force_login(stranger)
    body = client.get(reverse("agent:ask")).content.decode()
    assert "not configured" in body and f'href="{reverse("catalog:search")}">faceted search' in body
    assert "<textarea" not in body
    client.post(reverse("agent:ask"), {"question": "Which models?"})
    assert AgentQuery.objects.count() == 0


def test_a_question_asked_on_the_page_gets_a_table_with_the_sql_and_a_csv(client, fake_llm, catalogue, stranger):
    client.force_login(stranger)
    fake_llm.script(sql_reply(NAMES))
    response = post_question(client)
    query = AgentQuery.objects.get()
    assert response.status_code == 302 and response["Location"] == query.get_absolute_url()
    body = client.get(query.get_absolute_url()).content.decode()
    assert 'data-error-code="0"' in body
    assert "SELECT name, parameter_count FROM catalog_mlmodel ORDER BY name" in body
    assert "<td>open-llm</td>" in body and "secret-llm" not in body
    csv = client.get(reverse("agent:query-csv", args=[query.pk]))
    assert csv["Content-Type"].startswith("text/csv")
    assert csv.content.decode().splitlines() == ["name,parameter_count", "open-llm,7000000000"]


def test_the_owner_sees_their_private_models_in_the_answer(client, fake_llm, catalogue, owner):
    client.force_login(owner)
    fake_llm.script(sql_reply(NAMES))
    post_question(client)
    body = client.get(AgentQuery.objects.get().get_absolute_url()).content.decode()
    assert "<td>secret-llm</td>" in body


def test_a_failed_question_shows_the_error_code_the_sql_and_the_message(client, fake_llm, catalogue, stranger):
    client.force_login(stranger)
    fake_llm.script(sql_reply("DELETE FROM catalog_mlmodel"), sql_reply("SELECT * FROM accounts_apitoken"))
    post_question(client)
    query = AgentQuery.objects.get()
    assert query.error_code == ErrorCode.REJECTED
    body = client.get(query.get_absolute_url()).content.decode()
    assert 'data-error-code="3"' in body and "accounts_apitoken" in body
    assert client.get(reverse("agent:query-csv", args=[query.pk])).status_code == 404


def test_a_pending_answer_polls_from_a_static_script_without_inline_code(client, stranger):
    client.force_login(stranger)
    query = AgentQuery.objects.create(user=stranger, question="Which models?")
    body = client.get(query.get_absolute_url()).content.decode()
    assert 'src="/static/agent/agent.js"' in body
    status_url = reverse("agent:query-status", args=[query.pk])
    assert f'data-status-url="{status_url}"' in body
    assert "data-wait-seconds=" in body
    assert "<script>" not in body and "onclick" not in body
    status = client.get(reverse("agent:query-status", args=[query.pk])).json()
    assert status == {"id": query.pk, "status": "pending", "done": False, "error_code": None}


def test_another_users_question_answers_404_like_a_missing_one(client, owner, stranger):
    query = AgentQuery.objects.create(
        user=owner, question="What do I own?", status="done", error_code=0, columns=["name"], rows=[["secret-llm"]]
    )
    client.force_login(stranger)
    for name in ("agent:query-detail", "agent:query-status", "agent:query-csv"):
        assert client.get(reverse(name, args=[query.pk])).status_code == 404
        assert client.get(reverse(name, args=[query.pk + 1000])).status_code == 404
    client.force_login(owner)
    assert client.get(reverse("agent:query-csv", args=[query.pk])).status_code == 200


def test_the_csv_defuses_cells_that_look_like_formulas(client, owner):
    query = AgentQuery.objects.create(
        user=owner,
        question="?",
        status="done",
        error_code=0,
        columns=["name"],
        rows=[['=HYPERLINK("http://evil")'], ["-2"]],
    )
    client.force_login(owner)
    lines = client.get(reverse("agent:query-csv", args=[query.pk])).content.decode().splitlines()
    assert lines[1].startswith("\"'=HYPERLINK") and lines[2] == "'-2"


def test_the_page_lists_only_my_recent_questions(client, owner, stranger, fake_llm):
    AgentQuery.objects.create(user=owner, question="owner question")
    AgentQuery.objects.create(user=stranger, question="stranger question")
    client.force_login(stranger)
    body = client.get(reverse("agent:ask")).content.decode()
    assert "stranger question" in body and "owner question" not in body
