"""The database side holds even if the guard were bypassed: read-only, exposed tables only, time-limited."""

import pytest
from django.core.management import call_command
from django.db import connection

from agent.execution import ExecutionFailed, QueryTimedOut, execute_readonly
from catalog.models import Domain, MLModel

pytestmark = pytest.mark.django_db

UNGUARDED = [
    "SELECT password FROM accounts_user",
    "SELECT email FROM accounts_user",
    "SELECT token_hash FROM accounts_apitoken",
    "SELECT * FROM accounts_auditevent",
    "SELECT * FROM django_session",
    "DELETE FROM catalog_mlmodel",
    "INSERT INTO catalog_domain (slug, name) VALUES ('evil', 'evil')",
    "UPDATE accounts_user SET role = 'admin'",
]


@pytest.mark.parametrize("sql", UNGUARDED)
def test_the_database_refuses_secrets_and_writes_even_without_the_guard(catalogue, sql):
    with pytest.raises(ExecutionFailed):
        execute_readonly(sql)
    assert MLModel.objects.count() == 4 and not Domain.objects.filter(slug="evil").exists()


def test_exposed_columns_of_users_are_readable(catalogue):
    result = execute_readonly("SELECT username FROM accounts_user ORDER BY username")
    assert result.columns == ["username"] and ["owner"] in result.rows


def test_a_slow_query_is_stopped_at_the_statement_timeout(settings, catalogue):
    settings.AGENT_STATEMENT_TIMEOUT_MS = 150
    slow = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 500000000) SELECT COUNT(*) FROM c"
    with pytest.raises(QueryTimedOut):
        execute_readonly(slow, cte_names=frozenset({"c"}))
    assert MLModel.objects.count() == 4  # the connection is usable afterwards


def test_rows_are_capped(catalogue):
    result = execute_readonly("SELECT name FROM catalog_mlmodel", max_rows=2)
    assert len(result.rows) == 2


@pytest.mark.postgres
def test_the_postgres_reader_role_holds_only_select_on_exposed_tables(catalogue):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    call_command("agent_setup_role")
    call_command("agent_setup_role")  # twice: idempotent
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege('omh_agent_reader', 'catalog_mlmodel', 'SELECT'),"
            " has_table_privilege('omh_agent_reader', 'catalog_mlmodel', 'INSERT'),"
            " has_table_privilege('omh_agent_reader', 'accounts_apitoken', 'SELECT'),"
            " has_column_privilege('omh_agent_reader', 'accounts_user', 'password', 'SELECT'),"
            " has_column_privilege('omh_agent_reader', 'accounts_user', 'username', 'SELECT')"
        )
        assert cursor.fetchone() == (True, False, False, False, True)


def test_the_setup_command_prints_the_sql_on_a_dry_run(capsys):
    call_command("agent_setup_role", "--dry-run")
    out = capsys.readouterr().out
    if connection.vendor == "postgresql":
        assert 'GRANT SELECT ON "catalog_mlmodel"' in out and "accounts_apitoken" not in out
        assert '"password"' not in out
    else:
        assert "Nothing to do" in out
