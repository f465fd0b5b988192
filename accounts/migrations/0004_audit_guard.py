"""PostgreSQL guards for the audit trail beyond 0003's row-level append-only trigger.

- TRUNCATE (which row-level triggers never see) is refused on the events and the chain head, unless
  a superuser sets ``omh.audit_maintenance = on`` for the transaction (``SET LOCAL``): the test
  suite's flush does; a superuser can bypass any trigger anyway.
- The chain head can only advance by exactly one, to the event just appended with that number,
  that hash and the head's hash as its predecessor; it cannot be deleted, rolled back or re-created
  while events exist.

Running the application as a role that does not own these tables (docs/audit.md) keeps it from
dropping or disabling the triggers. SQLite has no such guards: there the signed checkpoints
(accounts.checkpoints) are what detects truncation and rewrites.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION accounts_audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('is_superuser') = 'on'
       AND coalesce(current_setting('omh.audit_maintenance', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: TRUNCATE refused on %', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION accounts_auditchainhead_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- A second head is refused by the primary key and the singleton check (get_or_create's race).
        IF EXISTS (SELECT 1 FROM accounts_auditchainhead) OR (
            NEW.last_seq = 0 AND NEW.last_hash = repeat('0', 64) AND NOT EXISTS (SELECT 1 FROM accounts_auditevent)
        ) THEN
            RETURN NEW;
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.id = OLD.id AND NEW.last_seq = OLD.last_seq + 1 AND EXISTS (
            SELECT 1 FROM accounts_auditevent
            WHERE seq = NEW.last_seq AND hash = NEW.last_hash AND prev_hash = OLD.last_hash
        ) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the audit chain head is append-only: % refused (it only advances by one, to the event '
                    'just appended)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS accounts_auditevent_no_truncate ON accounts_auditevent;
CREATE TRIGGER accounts_auditevent_no_truncate
    BEFORE TRUNCATE ON accounts_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_audit_refuse_truncate();
DROP TRIGGER IF EXISTS accounts_auditchainhead_no_truncate ON accounts_auditchainhead;
CREATE TRIGGER accounts_auditchainhead_no_truncate
    BEFORE TRUNCATE ON accounts_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_audit_refuse_truncate();
DROP TRIGGER IF EXISTS accounts_auditchainhead_guard ON accounts_auditchainhead;
CREATE TRIGGER accounts_auditchainhead_guard
    BEFORE INSERT OR UPDATE OR DELETE ON accounts_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION accounts_auditchainhead_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS accounts_auditchainhead_guard ON accounts_auditchainhead;
DROP TRIGGER IF EXISTS accounts_auditchainhead_no_truncate ON accounts_auditchainhead;
DROP TRIGGER IF EXISTS accounts_auditevent_no_truncate ON accounts_auditevent;
DROP FUNCTION IF EXISTS accounts_auditchainhead_guard();
DROP FUNCTION IF EXISTS accounts_audit_refuse_truncate();
"""


def create_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_audit_append_only")]

    operations = [migrations.RunPython(create_guards, drop_guards)]
