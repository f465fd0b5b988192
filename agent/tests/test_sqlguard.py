import pytest
import sqlglot
from sqlglot import exp

from agent.sqlguard import RejectedSQL, guard

pytestmark = pytest.mark.django_db


def run(sql, user, dialect="postgres", **kwargs):
    return guard(sql, user=user, dialect=dialect, **kwargs)


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_every_table_reference_becomes_a_filtered_subquery_under_the_same_alias(dialect, stranger):
    out = run(
        "SELECT m.name FROM catalog_mlmodel AS m JOIN catalog_modellineage ON catalog_modellineage.model_id = m.id",
        stranger,
        dialect,
    ).sql
    tree = sqlglot.parse_one(out, read=dialect)
    aliases = {s.alias for s in tree.find_all(exp.Subquery) if s.alias}
    assert {"m", "catalog_modellineage"} <= aliases
    assert "'public'" in out and "accounts_grant" in out


def test_star_expands_to_exposed_columns_only(stranger):
    out = run("SELECT * FROM accounts_user", stranger).sql
    assert '"username"' in out
    for secret in ("password", "email", "last_login"):
        assert secret not in out


def test_admins_read_assets_without_a_filter(admin_user):
    out = run("SELECT name FROM catalog_mlmodel", admin_user).sql
    assert "WHERE" not in out


@pytest.mark.parametrize(
    ("sql", "limit"),
    [
        ("SELECT name FROM catalog_mlmodel", 1000),
        ("SELECT name FROM catalog_mlmodel LIMIT 5", 5),
        ("SELECT name FROM catalog_mlmodel LIMIT 100000", 1000),
        ("SELECT name FROM catalog_mlmodel LIMIT 10 + 10", 1000),
        ("SELECT name FROM catalog_mlmodel UNION SELECT name FROM catalog_dataset LIMIT 5000", 1000),
    ],
)
def test_a_limit_is_added_or_capped(stranger, settings, sql, limit):
    settings.AGENT_MAX_ROWS = 1000
    tree = sqlglot.parse_one(run(sql, stranger).sql, read="postgres")
    assert tree.args["limit"].expression.this == str(limit)


def test_a_trailing_semicolon_and_quoted_lowercase_names_are_fine(stranger):
    run('SELECT "name" FROM "catalog_mlmodel";', stranger)


def test_comments_never_reach_the_database(stranger):
    out = run("SELECT name /* ; DROP TABLE x */ FROM catalog_mlmodel -- tail", stranger).sql
    assert "DROP" not in out and "--" not in out and "/*" not in out


def test_ctes_window_functions_and_case_are_fine(stranger):
    run(
        "WITH sized AS (SELECT name, parameter_count FROM catalog_mlmodel) "
        "SELECT name, RANK() OVER (ORDER BY parameter_count DESC) AS r, "
        "CASE WHEN parameter_count > 1000 THEN 'big' ELSE 'small' END AS size, "
        "COALESCE(LOWER(name), '') AS lower_name FROM sized WHERE name LIKE '%a%' OR name ILIKE 'B%'",
        stranger,
    )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 1; SELECT 2", "Exactly one statement"),
        ("DELETE FROM catalog_mlmodel", "Only SELECT"),
        ("WITH d AS (DELETE FROM catalog_mlmodel RETURNING id) SELECT * FROM d", "WITH clause may only hold SELECT"),
        ("SELECT * INTO t FROM catalog_mlmodel", "SELECT INTO"),
        ("SELECT * FROM catalog_mlmodel FOR UPDATE", "locking"),
        ("SELECT pg_sleep(1)", "pg_sleep"),
        ("SELECT username, password FROM accounts_user", "password"),
        ("SELECT * FROM accounts_apitoken", "accounts_apitoken"),
        ("SELECT * FROM pg_catalog.pg_roles", "without a schema"),
        ("SELECT * FROM generate_series(1, 3)", "generate_series"),
        ("SELECT * FROM pragma_table_info('accounts_user')", "pragma_table_info"),
        ("WITH catalog_dataset AS (SELECT 1) SELECT * FROM catalog_dataset", "may not be named"),
        ("SELECT FROM WHERE", "parsed"),
        ('WITH "ACCOUNTS_APITOKEN" AS (SELECT 1) SELECT * FROM accounts_apitoken', "lowercase"),
    ],
)
def test_unsafe_sql_is_rejected_with_a_reason(stranger, sql, message):
    with pytest.raises(RejectedSQL, match=message):
        run(sql, stranger)
