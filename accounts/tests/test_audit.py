import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from accounts import audit, services
from accounts.models import AuditEvent
from catalog.tests.factories import MLModelFactory

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")


def verify() -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def tamper(sql: str, params=()) -> None:
    """Change the table as someone with direct database access would (bypassing the trigger)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.fixture
def chain(owner):
    for i in range(5):
        audit.record("test.event", actor=owner, details={"i": i, "text": "ünïcode", "nested": {"b": 1, "a": [1.5]}})
    return list(AuditEvent.objects.order_by("seq"))


def test_an_intact_chain_verifies(chain):
    assert "5 events verified" in verify()


def test_an_edited_event_is_found(chain):
    tamper("UPDATE accounts_auditevent SET action = 'innocent' WHERE seq = 3")
    with pytest.raises(CommandError, match="event #3: content does not match its hash"):
        verify()


def test_an_edited_detail_is_found(chain):
    tamper("UPDATE accounts_auditevent SET details = %s WHERE seq = 2", ['{"i": 99}'])
    with pytest.raises(CommandError, match="event #2"):
        verify()


def test_a_removed_event_is_found(chain):
    tamper("DELETE FROM accounts_auditevent WHERE seq = 2")
    with pytest.raises(CommandError, match="event #2: missing"):
        verify()


def test_a_removed_last_event_is_found(chain):
    tamper("DELETE FROM accounts_auditevent WHERE seq = 5")
    with pytest.raises(CommandError, match="events at the end were removed"):
        verify()


def test_an_event_inserted_out_of_order_is_found(chain):
    # Make room at #4 by moving the tail, then forge an event with a self-consistent hash there.
    tamper("UPDATE accounts_auditevent SET seq = seq + 100 WHERE seq >= 4")
    forged = AuditEvent(seq=4, created_at=chain[3].created_at, actor_name="mallory", action="forged",
                        prev_hash=chain[2].hash, details={})
    forged.hash = audit.event_hash(forged)
    forged.save(force_insert=True)
    tamper("UPDATE accounts_auditevent SET seq = seq - 99 WHERE seq >= 100")
    with pytest.raises(CommandError, match="event #5: does not link"):
        verify()


@on_postgres
def test_the_database_refuses_updates_and_deletes_of_events(chain):
    for sql in ("UPDATE accounts_auditevent SET action = 'x'", "DELETE FROM accounts_auditevent"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql)
    assert AuditEvent.objects.count() == 5


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_make_one_valid_chain(owner):
    errors = []

    def append(n: int) -> None:
        try:
            for i in range(10):
                with transaction.atomic():
                    audit.record("test.concurrent", details={"thread": n, "i": i})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert AuditEvent.objects.filter(action="test.concurrent").count() == 80
    checked, problem = audit.verify_chain()
    assert problem is None and checked == AuditEvent.objects.count()


def test_sharing_tokens_and_logins_are_audited(client, owner, grantee):
    model = MLModelFactory(owner=owner, visibility="private")
    grant = services.grant_access(by=owner, asset=model, permission="read", user=grantee)
    services.revoke_grant(by=owner, grant=grant)
    invitation, token = services.invite(by=owner, asset=model, permission="read", invited_user=grantee)
    services.accept_invitation(user=grantee, token=token)
    services.revoke_invitation(by=owner, invitation=invitation)
    api_token, _ = services.create_api_token(user=owner, name="t", scope="read")
    services.revoke_api_token(by=owner, token=api_token)
    client.post("/accounts/login/", {"username": "owner", "password": "wrong"})
    client.post("/accounts/login/", {"username": "owner", "password": "owner-pass-123"})
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == ["grant.create", "grant.revoke", "invitation.send", "invitation.accept", "invitation.revoke",
                       "token.create", "token.revoke", "login.failed", "login"]
    failed = AuditEvent.objects.get(action="login.failed")
    assert failed.details == {"username": "owner"} and failed.ip_address == "127.0.0.1"
    assert AuditEvent.objects.get(action="grant.create").target_type == "catalog.MLModel"
    assert "verified" in verify()


def test_asset_changes_in_the_admin_are_audited(client, admin_user, owner):
    model = MLModelFactory(owner=owner)
    client.force_login(admin_user)
    url = f"/admin/catalog/mlmodel/{model.pk}/delete/"
    client.post(url, {"post": "yes"})
    event = AuditEvent.objects.get(action="asset.delete")
    assert event.target_id == str(model.pk) and event.details["name"] == model.full_name
