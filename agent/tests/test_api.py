import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import create_api_token
from agent.models import AgentQuery
from agent.tests.fake_llm import sql_reply

pytestmark = pytest.mark.django_db

URL = "/api/v1/agent/query"
NAMES = "SELECT name FROM catalog_mlmodel ORDER BY name"


@pytest.fixture
def api():
    return APIClient()


def post(api, data):
    return api.post(URL, data, format="json")


def test_the_query_endpoint_lives_at_api_v1_agent_query():
    assert reverse("api:agent-query") == URL


def test_anonymous_callers_are_refused(api, fake_llm):
    assert api.post(URL, {"question": "Which models?"}, format="json").status_code in (401, 403)
    assert AgentQuery.objects.count() == 0


def test_a_stranger_gets_error_code_sql_columns_and_rows_of_public_models_only(api, fake_llm, catalogue, stranger):
    api.force_authenticate(stranger)
    fake_llm.script(sql_reply(NAMES))
    response = post(api, {"question": "Which models?", "entity_type": "model"})
    assert response.status_code == 200
    body = response.json()
    assert body["error_code"] == 0 and body["status"] == "done"
    assert body["sql"] == NAMES and body["columns"] == ["name"] and body["rows"] == [["open-llm"]]
    assert "one row per model" in fake_llm.messages(0)[0]["content"]
    assert api.get(body["url"]).json()["rows"] == [["open-llm"]]


def test_the_owner_gets_their_private_models(api, fake_llm, catalogue, owner):
    api.force_authenticate(owner)
    fake_llm.script(sql_reply(NAMES))
    body = post(api, {"question": "Which models?", "entity_type": 1}).json()
    assert [r[0] for r in body["rows"]] == ["open-llm", "secret-llm", "shared-llm", "team-llm"]
    assert AgentQuery.objects.get().entity_type == "model"


def test_a_write_scope_token_may_ask(api, fake_llm, catalogue, owner):
    _token, secret = create_api_token(user=owner, name="script", scope=ApiToken.Scope.WRITE)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    fake_llm.script(sql_reply(NAMES))
    assert post(api, {"question": "Which models?"}).json()["error_code"] == 0


def test_without_a_key_the_answer_is_error_code_1_with_a_clear_message(api, no_llm, stranger):
    api.force_authenticate(stranger)
    body = api.post(URL, {"question": "Which models?"}, format="json").json()
    assert body["error_code"] == 1 and "not configured" in body["message"]


def test_bad_input_is_a_400(api, fake_llm, stranger):
    api.force_authenticate(stranger)
    assert api.post(URL, {"question": ""}, format="json").status_code == 400
    assert api.post(URL, {"question": "x" * 5000}, format="json").status_code == 400
    assert api.post(URL, {"question": "x", "entity_type": "planet"}, format="json").status_code == 400
    assert api.post(URL, {"question": "x", "entity_type": 9}, format="json").status_code == 400
    assert len(fake_llm.requests) == 0


def test_someone_elses_query_is_a_404(api, owner, stranger):
    query = AgentQuery.objects.create(user=owner, question="mine")
    api.force_authenticate(stranger)
    assert api.get(f"{URL}/{query.pk}").status_code == 404


def test_a_query_not_answered_within_the_wait_is_a_202_with_a_url_to_poll(api, settings, fake_llm, stranger):
    from openmodelhub.celery import app

    app.conf.task_always_eager = False  # a worker would take it after the commit, which never comes in a test
    settings.AGENT_API_WAIT_SECONDS = 0.3
    api.force_authenticate(stranger)
    response = api.post(URL, {"question": "Which models?"}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "pending" and response.json()["url"].endswith(
        f"{URL}/{AgentQuery.objects.get().pk}"
    )
