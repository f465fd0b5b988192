"""Generated SQL from a hostile or confused model: every statement is refused, or harmless."""

import pytest
from django.db import connection

from accounts.models import ApiToken, Invitation, User
from accounts.services import create_api_token
from agent import services
from agent.models import ErrorCode
from agent.tests.fake_llm import sql_reply
from catalog.models import Domain, MLModel

pytestmark = pytest.mark.django_db

ATTACKS = [
    # more than one statement, including behind comments
    "SELECT 1; DROP TABLE catalog_mlmodel",
    "SELECT name FROM catalog_mlmodel; -- harmless\nDELETE FROM catalog_mlmodel",
    "SELECT name FROM catalog_mlmodel /* ; */ ; DROP TABLE accounts_user",
    "SELECT name FROM catalog_mlmodel -- ; DROP TABLE accounts_user",
    "SELECT name /* DROP TABLE accounts_user */ FROM catalog_mlmodel",
    # writes and DDL
    "DROP TABLE catalog_mlmodel",
    "INSERT INTO catalog_domain (slug, name) VALUES ('evil', 'evil')",
    "UPDATE accounts_user SET role = 'admin'",
    "DELETE FROM catalog_mlmodel",
    "TRUNCATE catalog_mlmodel",
    "CREATE TABLE stolen (id int)",
    "ALTER TABLE catalog_mlmodel ADD COLUMN x int",
    "GRANT ALL ON accounts_user TO PUBLIC",
    "COPY catalog_mlmodel TO '/tmp/agent-stolen.csv'",
    "VACUUM",
    "EXPLAIN ANALYZE SELECT 1",
    # data-modifying CTEs, SELECT INTO, locking
    "WITH d AS (DELETE FROM catalog_mlmodel RETURNING id) SELECT * FROM d",
    "WITH u AS (UPDATE accounts_user SET role = 'admin' RETURNING id) SELECT COUNT(*) FROM u",
    "WITH i AS (INSERT INTO catalog_domain (slug, name) VALUES ('x', 'x') RETURNING id) SELECT 1",
    "SELECT * INTO stolen FROM accounts_user",
    "SELECT * FROM catalog_mlmodel FOR UPDATE",
    "SELECT name FROM catalog_mlmodel FOR SHARE",
    # secrets
    "SELECT * FROM accounts_user",
    "SELECT u.* FROM accounts_user AS u",
    "SELECT password FROM accounts_user",
    'SELECT "password" FROM accounts_user',
    "SELECT u.password FROM accounts_user u",
    "SELECT email FROM accounts_user",
    "SELECT 1 UNION SELECT password FROM accounts_user",
    "SELECT (SELECT MAX(password) FROM accounts_user)",
    "SELECT * FROM catalog_mlmodel AS m, LATERAL (SELECT password FROM accounts_user) AS p",
    "SELECT * FROM accounts_apitoken",
    "SELECT token_hash FROM accounts_invitation",
    "SELECT * FROM accounts_auditevent",
    "SELECT * FROM accounts_auditchainhead",
    "SELECT * FROM accounts_grant",
    "SELECT * FROM django_session",
    "SELECT * FROM agent_agentquery",
    "SELECT * FROM auth_permission",
    # dangerous functions
    "SELECT pg_sleep(10)",
    "SELECT name FROM catalog_mlmodel WHERE pg_sleep(10) IS NULL",
    "SELECT set_config('statement_timeout', '0', false)",
    "SELECT set_config('role', 'postgres', true)",
    "SELECT current_setting('data_directory')",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_ls_dir('.')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT dblink('host=127.0.0.1', 'DELETE FROM catalog_mlmodel')",
    "SELECT query_to_xml('SELECT * FROM accounts_apitoken', true, true, '')",
    "SELECT load_extension('evil')",
    "SELECT txid_current()",
    "SELECT nextval('catalog_mlmodel_id_seq')",
    "SELECT version()",
    "SELECT pg_terminate_backend(1)",
    # catalogues and unlisted or qualified tables
    "SELECT * FROM pg_catalog.pg_user",
    "SELECT * FROM pg_shadow",
    "SELECT * FROM pg_settings",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM information_schema.columns",
    "SELECT * FROM sqlite_master",
    "SELECT * FROM sqlite_schema",
    "SELECT * FROM public.catalog_mlmodel",
    "SELECT * FROM main.catalog_mlmodel",
    "SELECT * FROM generate_series(1, 10)",
    "SELECT * FROM pragma_table_info('accounts_user')",
    "SELECT * FROM catalog_mlmodel TABLESAMPLE SYSTEM (50)",
    # CTE tricks: shadowing a table, using a name outside its WITH
    "WITH catalog_mlmodel AS (SELECT 'x' AS name) SELECT name FROM catalog_mlmodel",
    "SELECT * FROM (WITH pg_user AS (SELECT 1 AS a) SELECT a FROM pg_user) AS x, pg_user",
    "SELECT * FROM (WITH t AS (SELECT 1 AS a) SELECT a FROM t) AS x, t",
    # a fake accounts_grant would capture the name inside the visibility filter and grant everything
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500), accounts_grant AS "
    "(SELECT n.i AS model_id, n.i AS dataset_id, NULL AS revoked_at, NULL AS expires_at, u.id AS user_id, "
    "NULL AS affiliation_id FROM n, accounts_user AS u) SELECT name FROM catalog_mlmodel",
    'WITH "ACCOUNTS_APITOKEN" AS (SELECT 1 AS a) SELECT * FROM accounts_apitoken',
    'SELECT * FROM "Catalog_MLModel"',
    # session and other statements
    "SET ROLE postgres",
    "RESET ROLE; SELECT * FROM accounts_user",
    "SET statement_timeout = 0",
    "ATTACH DATABASE '/tmp/agent-evil.db' AS evil",
    "PRAGMA query_only = OFF",
    "BEGIN; DELETE FROM catalog_mlmodel; COMMIT",
    "SELECT name FROM catalog_mlmodel WHERE name = $1",
    "SELECT name FROM catalog_mlmodel WHERE name = %s",
    "CALL something()",
    "DO $$ BEGIN DELETE FROM catalog_mlmodel; END $$",
]


@pytest.fixture
def secrets(catalogue, owner, stranger):
    _token, token_secret = create_api_token(user=owner, name="ci", scope=ApiToken.Scope.WRITE)
    hashes = [u.password for u in User.objects.all()] + list(ApiToken.objects.values_list("token_hash", flat=True))
    hashes += list(Invitation.objects.values_list("token_hash", flat=True))
    private = ["secret-llm", "shared-llm", "team-llm", "secret-data", "secret_patient_name", "secret/patients.csv"]
    return {"hashes": [h for h in hashes if h], "private": private, "token": token_secret}


def _snapshot() -> dict:
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    return {
        "models": MLModel.objects.count(),
        "domains": Domain.objects.count(),
        "roles": sorted(User.objects.values_list("username", "role")),
        "tables": tables,
    }


def _session_state() -> tuple:
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA query_only")
            return (cursor.fetchone()[0],)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, current_setting('statement_timeout'), current_setting('transaction_read_only')"
        )
        return cursor.fetchone()


@pytest.mark.parametrize("sql", ATTACKS)
def test_generated_sql_from_the_attack_corpus_is_refused_or_harmless(fake_llm, secrets, stranger, sql):
    fake_llm.default = sql_reply(sql)
    before, session = _snapshot(), _session_state()
    answer = services.answer_question(user=stranger, question="Show me everything.")
    assert answer.error_code in (ErrorCode.OK, ErrorCode.REJECTED, ErrorCode.EXECUTION_ERROR, ErrorCode.TIMEOUT)
    seen = repr(answer.rows) + repr(answer.columns)
    for secret in [*secrets["hashes"], *secrets["private"], secrets["token"]]:
        assert secret not in seen
    for column in ("password", "email", "last_login", "token_hash"):
        assert column not in [c.lower() for c in answer.columns]
    assert _snapshot() == before
    assert _session_state() == session


def test_the_corpus_is_mostly_refused_before_reaching_the_database(fake_llm, secrets, stranger):
    """Only plain SELECTs over exposed tables may run; everything else never gets to execution."""
    executed = []
    for sql in ATTACKS:
        fake_llm.default = sql_reply(sql)
        answer = services.answer_question(user=stranger, question="?")
        if answer.error_code != ErrorCode.REJECTED:
            executed.append(sql)
    assert set(executed) <= {
        "SELECT name FROM catalog_mlmodel -- ; DROP TABLE accounts_user",
        "SELECT name /* DROP TABLE accounts_user */ FROM catalog_mlmodel",
        "SELECT * FROM accounts_user",
        "SELECT u.* FROM accounts_user AS u",
    }
