import pytest
from django.urls import reverse

from agent.models import AgentQuery

pytestmark = pytest.mark.django_db


def test_the_agent_log_is_read_only_in_the_admin(client, admin_user, owner):
    query = AgentQuery.objects.create(user=owner, question="Which models?", status="done", error_code=0, sql="SELECT 1")
    client.force_login(admin_user)
    listing = client.get(reverse("admin:agent_agentquery_changelist"))
    assert listing.status_code == 200 and "Which models?" in listing.content.decode()
    detail = client.get(reverse("admin:agent_agentquery_change", args=[query.pk]))
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert client.get(reverse("admin:agent_agentquery_add")).status_code == 403
    assert client.post(reverse("admin:agent_agentquery_delete", args=[query.pk]), {"post": "yes"}).status_code == 403
    assert AgentQuery.objects.filter(pk=query.pk).exists()


def test_curators_and_users_do_not_see_the_agent_log(client, curator, stranger):
    for user in (curator, stranger):
        client.force_login(user)
        assert client.get(reverse("admin:agent_agentquery_changelist")).status_code in (302, 403)
