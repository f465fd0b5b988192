import json
import re
import threading
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from accounts import audit, checkpoints, services
from accounts.models import AuditChainHead, AuditEvent
from accounts.tasks import write_audit_checkpoint
from catalog.tests.factories import MLModelFactory

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")


def verify() -> str:
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
    forged = AuditEvent(
        seq=4,
        created_at=chain[3].created_at,
        actor_name="mallory",
        action="forged",
        prev_hash=chain[2].hash,
        details={},
    )
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
    assert actions == [
        "grant.create",
        "grant.revoke",
        "invitation.send",
        "invitation.accept",
        "invitation.revoke",
        "token.create",
        "token.revoke",
        "login.failed",
        "login",
    ]
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


# --- Guards and checkpoints against a lost tail, a wipe, a rewrite, a rolled-back head (issue 13, item 5) ---------


@pytest.fixture
def checkpoint_dir(settings, tmp_path):
    settings.OMH_AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    settings.OMH_AUDIT_CHECKPOINT_KEY = "a-test-key-kept-off-the-database-host"
    return tmp_path / "checkpoints"


@pytest.fixture
def checkpointed(chain, checkpoint_dir) -> checkpoints.Checkpoint:
    checkpoint = checkpoints.write_checkpoint()
    assert checkpoint.seq == 5 and checkpoint.hash == chain[-1].hash
    return checkpoint


def set_head(seq: int, hash_: str) -> None:
    tamper("UPDATE accounts_auditchainhead SET last_seq = %s, last_hash = %s WHERE id = 1", [seq, hash_])


def test_a_checkpoint_is_signed_when_the_chain_grows_and_only_then(chain, checkpoint_dir):
    out = StringIO()
    call_command("checkpoint_audit", "--dry-run", stdout=out)
    assert "Would sign event #5" in out.getvalue() and not checkpoint_dir.exists()
    call_command("checkpoint_audit", stdout=out)
    assert "at event #5" in out.getvalue()
    assert write_audit_checkpoint() is None  # unchanged: nothing written, safe to run twice
    audit.record("test.more")
    assert write_audit_checkpoint() == 6
    assert sorted(path.name[:12] for path in checkpoint_dir.iterdir()) == ["000000000005", "000000000006"]
    assert "consistent with 2 signed checkpoint(s); the latest is the checkpoint of" in verify().lower()


def test_beat_signs_checkpoints_periodically(settings):
    from openmodelhub.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert entry["schedule"] == settings.OMH_AUDIT_CHECKPOINT_SECONDS
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


def test_a_truncated_tail_is_detected(chain, checkpointed):
    tamper("DELETE FROM accounts_auditevent WHERE seq > 3")
    set_head(3, chain[2].hash)  # what a database superuser would do to hide it
    assert audit.verify_chain() == (3, None)  # the chain alone looks whole
    with pytest.raises(
        CommandError,
        match=r"event #4: missing: the checkpoint of .* at event #5 .* events after #3 "
        r"were removed",
    ):
        verify()


def test_a_full_wipe_is_detected(chain, checkpointed):
    tamper("TRUNCATE accounts_auditevent" if connection.vendor == "postgresql" else "DELETE FROM accounts_auditevent")
    set_head(0, audit.GENESIS)
    with pytest.raises(CommandError, match="events after #0 were removed"):
        verify()


def test_a_full_wipe_and_rewrite_is_detected(chain, checkpointed):
    tamper("DELETE FROM accounts_auditevent")
    set_head(0, audit.GENESIS)
    for i in range(7):  # a new, self-consistent history, longer than the old one
        audit.record("test.rewritten", details={"i": i})
    assert audit.verify_chain() == (7, None)
    with pytest.raises(CommandError, match="event #5: differs from the checkpoint of .*: the chain was rewritten"):
        verify()
    with pytest.raises(CommandError, match="not signing the audit chain: broken at event #5"):
        call_command("checkpoint_audit", stdout=StringIO())


def test_a_rolled_back_head_is_detected(chain, checkpointed):
    set_head(3, chain[2].hash)
    with pytest.raises(CommandError, match="the chain head records #3 but events run to #5: the head was rolled back"):
        verify()


def test_events_after_the_last_checkpoint_can_be_lost_undetected(chain, checkpointed):
    """What the README says the checkpoint does not protect: the tail written since it."""
    audit.record("test.after-checkpoint")
    tamper("DELETE FROM accounts_auditevent WHERE seq = 6")
    set_head(5, chain[-1].hash)
    assert "5 events verified" in verify()


def test_a_checkpoint_signed_with_another_key_or_altered_is_refused(chain, checkpointed, checkpoint_dir, settings):
    path = checkpoint_dir / checkpointed.name
    body = json.loads(path.read_text())
    path.write_text(json.dumps({**body, "seq": 3, "hash": chain[2].hash}))
    with pytest.raises(CommandError, match="signature does not verify .forged or altered"):
        verify()
    settings.OMH_AUDIT_CHECKPOINT_KEY = "someone-elses-key"
    path.write_text(json.dumps(body))
    with pytest.raises(CommandError, match="signed with another key"):
        verify()


def test_verify_says_when_there_is_no_checkpoint_and_can_require_one(chain, checkpoint_dir):
    assert "No signed checkpoint" in verify()
    with pytest.raises(CommandError, match="No signed checkpoint"):
        call_command("verify_audit", "--require-checkpoint", stdout=StringIO())
    assert not checkpoint_dir.exists()  # a read never writes


@on_postgres
def test_the_database_refuses_truncate_of_the_audit_tables(chain):
    for table in ("accounts_auditevent", "accounts_auditchainhead", "accounts_auditevent, accounts_auditchainhead"):
        with pytest.raises(DatabaseError, match="TRUNCATE refused"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {table}")
    assert AuditEvent.objects.count() == 5


@on_postgres
def test_only_a_superuser_can_switch_truncate_on(chain):
    role = f"omh_test_app_{uuid.uuid4().hex[:8]}"  # created and dropped inside this transaction
    with pytest.raises(DatabaseError, match="TRUNCATE refused"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE ROLE {role} NOLOGIN")
            cursor.execute(f"GRANT TRUNCATE ON accounts_auditevent TO {role}")
            cursor.execute(f"SET LOCAL ROLE {role}")
            cursor.execute("SET LOCAL omh.audit_maintenance = 'on'")
            cursor.execute("TRUNCATE accounts_auditevent")
    assert AuditEvent.objects.count() == 5


@on_postgres
def test_the_database_lets_the_head_only_advance_by_one_to_the_appended_event(chain):
    refused = [
        ("UPDATE accounts_auditchainhead SET last_seq = 3, last_hash = %s", [chain[2].hash]),  # roll back
        ("UPDATE accounts_auditchainhead SET last_seq = 6, last_hash = %s", ["f" * 64]),  # no such event
        ("UPDATE accounts_auditchainhead SET last_seq = 0, last_hash = %s", [audit.GENESIS]),
        ("DELETE FROM accounts_auditchainhead", []),
    ]
    for sql, params in refused:
        with pytest.raises(DatabaseError, match="chain head is append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
    assert AuditChainHead.objects.get().last_seq == 5
    audit.record("test.after-refusals")
    assert audit.verify_chain() == (6, None)


def documented_app_grants(role: str) -> list[str]:
    """The GRANT and REVOKE statements docs/audit.md tells the owner to run, for ``role`` instead of omh_app."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text()
    block = re.findall(r"```sql\n(.*?)```", text, re.S)[1]
    return [
        line.split("--")[0].strip().rstrip(";").replace("omh_app", role)
        for line in block.splitlines()
        if line.startswith(("GRANT", "REVOKE"))
    ]


@on_postgres
def test_the_documented_app_role_appends_but_cannot_truncate_alter_or_drop_the_audit_tables(chain):
    role = f"omh_test_app_{uuid.uuid4().hex[:8]}"  # created and dropped inside this test's transaction
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        for statement in documented_app_grants(role):
            cursor.execute(statement)
        cursor.execute(f"SET LOCAL ROLE {role}")
        audit.record("test.as-app-role")
        for sql in (
            "TRUNCATE accounts_auditevent",
            "DELETE FROM accounts_auditevent",
            "DELETE FROM accounts_auditchainhead",
            "ALTER TABLE accounts_auditevent DISABLE TRIGGER ALL",
            "DROP TRIGGER accounts_auditevent_append_only ON accounts_auditevent",
            "DROP TABLE accounts_auditchainhead",
        ):
            with pytest.raises(DatabaseError, match="permission denied|must be owner"), transaction.atomic():
                cursor.execute(sql)
        cursor.execute("RESET ROLE")
    assert audit.verify_chain() == (6, None)
