"""Ordinary date SQL (and the other idioms issue 14 found refused) passes the real guard and runs on its engine."""

import pytest
from django.db import connection
from django.utils import timezone

from agent.eval.runner import run_sql
from agent.sqlguard import RejectedSQL, dialect_for, guard
from catalog.models import FileColumn

pytestmark = pytest.mark.django_db

BOTH = [
    "SELECT name AS hash FROM catalog_mlmodel ORDER BY hash",
    'SELECT name AS "Name" FROM catalog_mlmodel ORDER BY "Name"',
    'SELECT "M".name FROM catalog_mlmodel AS "M" WHERE "M".parameter_count > 0',
    "SELECT CAST(created_at AS DATE) AS day FROM catalog_mlmodel",
    "SELECT name FROM catalog_mlmodel WHERE release_date IS NULL OR release_date >= '2024-01-01'",
    "SELECT CURRENT_DATE AS today, CURRENT_TIMESTAMP AS now",
]
SQLITE = [
    "SELECT strftime('%Y', created_at) AS year FROM catalog_mlmodel",
    "SELECT date(created_at) AS d, datetime(created_at) AS dt, time(created_at) AS t FROM catalog_mlmodel",
    "SELECT julianday('now') - julianday(created_at) AS age_days FROM catalog_mlmodel",
    "SELECT name FROM catalog_mlmodel WHERE created_at >= date('now', '-30 days')",
    "SELECT printf('%s has %d parameters', name, parameter_count) AS line, typeof(parameter_count) AS t "
    "FROM catalog_mlmodel",
    "SELECT c.name, j.value FROM catalog_filecolumn AS c, json_each(c.example_values) AS j",
]
POSTGRES = [
    "SELECT EXTRACT(YEAR FROM created_at) AS year FROM catalog_mlmodel",
    "SELECT date_part('year', created_at) AS y, date_trunc('month', created_at) AS m FROM catalog_mlmodel",
    "SELECT name FROM catalog_mlmodel WHERE created_at > NOW() - INTERVAL '30 days'",
    "SELECT name FROM catalog_mlmodel WHERE created_at > CURRENT_DATE - INTERVAL '1' DAY",
    "SELECT AGE(NOW(), created_at) AS age FROM catalog_mlmodel",
    "SELECT created_at::date AS d, '2024-01-01'::timestamp AS t, CAST(created_at AS TIMESTAMP) AS ts "
    "FROM catalog_mlmodel",
    "SELECT EXTRACT(EPOCH FROM NOW() - created_at) AS seconds FROM catalog_mlmodel",
    "SELECT to_char(created_at, 'YYYY-MM') AS month, format('%s!', name) AS f FROM catalog_mlmodel",
    "SELECT c.name, e FROM catalog_filecolumn AS c, jsonb_array_elements_text(c.example_values) AS e",
]


def engine_cases():
    vendor_cases = SQLITE if connection.vendor == "sqlite" else POSTGRES
    return [*BOTH, *vendor_cases]


@pytest.fixture
def examples(catalogue):
    FileColumn.objects.filter(name="label").update(example_values=["cat", "dog"])
    FileColumn.objects.filter(name="secret_patient_name").update(example_values=["Alice Private"])
    return catalogue


@pytest.mark.parametrize("sql", [*BOTH, *SQLITE, *POSTGRES])
def test_date_and_everyday_idioms_pass_the_guard_and_run_on_their_engine(examples, stranger, sql):
    mine = sql in BOTH or (sql in SQLITE) == (connection.vendor == "sqlite")
    if not mine:
        pytest.skip(f"written for the other engine than {connection.vendor}")
    result = run_sql(sql, user=stranger)
    assert result.rows, sql
    assert "Alice Private" not in repr(result.rows) and "secret-llm" not in repr(result.rows)


def test_the_year_of_a_date_comes_back_on_both_engines(examples, stranger):
    sql = {
        "sqlite": "SELECT CAST(strftime('%Y', created_at) AS INTEGER) AS y FROM catalog_mlmodel",
        "postgresql": "SELECT CAST(EXTRACT(YEAR FROM created_at) AS INTEGER) AS y FROM catalog_mlmodel",
    }[connection.vendor]
    assert run_sql(sql, user=stranger).rows == [[timezone.now().year]]


def test_json_expansion_reads_only_the_columns_of_visible_datasets(examples, stranger, owner):
    sql = {
        "sqlite": "SELECT j.value FROM catalog_filecolumn AS c, json_each(c.example_values) AS j",
        "postgresql": "SELECT e FROM catalog_filecolumn AS c, jsonb_array_elements_text(c.example_values) AS e",
    }[connection.vendor]
    assert sorted(r[0] for r in run_sql(sql, user=stranger).rows) == ["cat", "dog"]
    assert sorted(r[0] for r in run_sql(sql, user=owner).rows) == ["Alice Private", "cat", "dog"]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT EXTRACT(FOO FROM created_at) FROM catalog_mlmodel", "keyword FOO"),
        ("SELECT md5(name) FROM catalog_mlmodel", "function md5()"),
        ("SELECT current_user", "function current_user()"),
        ("SELECT pg_sleep(1)", "function pg_sleep()"),
        ("SELECT * FROM generate_series(1, 3)", "generate_series()"),
        ("SELECT password AS hash FROM accounts_user", "column 'password'"),
        ("SELECT hash FROM catalog_mlmodel", "column 'hash'"),
        ("SELECT 'a\x00b' AS v", "NUL"),
        ("SELECT '" + "x" * 30_000 + "' AS v", "at most 20000"),
    ],
)
@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_refusals_name_the_construct_that_was_refused(stranger, dialect, sql, message):
    with pytest.raises(RejectedSQL, match=message):
        guard(sql, user=stranger, dialect=dialect)


def test_strftime_is_not_reported_as_a_function_named_after_its_argument(stranger):
    """Issue 14: "The function created_at() is not allowed" for strftime('%Y', created_at) on SQLite."""
    out = guard("SELECT strftime('%Y', created_at) AS y FROM catalog_mlmodel", user=stranger, dialect="sqlite").sql
    assert "STRFTIME('%Y', " in out


def test_a_quoted_upper_case_table_alias_keeps_its_quotes(stranger):
    out = guard(
        'SELECT "M".name FROM catalog_mlmodel AS "M"', user=stranger, dialect=dialect_for(connection.vendor)
    ).sql
    assert ' AS "M"' in out
