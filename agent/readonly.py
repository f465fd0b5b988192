"""Which tables the executing side may read, and the PostgreSQL role that may read only those.

The reader role holds SELECT on the exposed tables (only the exposed columns where some are
hidden) and on the few tables the visibility filters consult (grants, affiliations). It is kept in
step with the schema after every ``migrate`` (post_migrate, see apps.py) and by the
``agent_setup_role`` command, which a database owner can also run by hand.
"""

from __future__ import annotations

import logging
from functools import cache

import sqlglot
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from sqlglot import exp

from agent import schema
from agent.visibility import compiled_sql

log = logging.getLogger(__name__)


def reader_role() -> str:
    return settings.AGENT_DB_ROLE


@cache
def support_tables() -> frozenset[str]:
    """Tables the visibility filters read besides the exposed ones (found by compiling them)."""
    from accounts.models import User

    probe = User(pk=0, username="probe", role=User.Role.USER, is_active=True)
    found: set[str] = set()
    for table in schema.exposed_tables().values():
        rows = schema.visible_rows(table.label, probe)
        if rows is not None:
            tree = sqlglot.parse_one(compiled_sql(rows.values("pk")), read="postgres")
            found.update(t.name for t in tree.find_all(exp.Table))
    return frozenset(found - set(schema.exposed_tables()))


def role_statements() -> list[str]:
    """The SQL that (re)creates the reader role's privileges, from nothing, idempotently."""
    quote = connection.ops.quote_name
    role = quote(reader_role())
    name = reader_role().replace("'", "''")
    statements = [
        # Tolerates another process creating the role at the same moment (parallel test databases).
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN "
        f"BEGIN CREATE ROLE {role} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END; "
        "END IF; END $$",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
    ]
    for table in schema.exposed_tables().values():
        if table.hidden:
            columns = ", ".join(quote(c) for c in table.column_names)
            statements.append(f"GRANT SELECT ({columns}) ON {quote(table.db_table)} TO {role}")
        else:
            statements.append(f"GRANT SELECT ON {quote(table.db_table)} TO {role}")
    for name in sorted(support_tables()):
        statements.append(f"GRANT SELECT ON {quote(name)} TO {role}")
    return statements


def setup_reader_role(*, grant_to_current_user: bool = True) -> list[str]:
    """Create or refresh the role; returns the statements run. PostgreSQL only."""
    statements = role_statements()
    if grant_to_current_user:
        name = reader_role().replace("'", "''")
        statements.append(
            f"DO $$ BEGIN IF NOT pg_has_role(current_user, '{name}', 'MEMBER') THEN "
            f"BEGIN GRANT {connection.ops.quote_name(reader_role())} TO CURRENT_USER; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END; END IF; END $$"
        )
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    role_exists.cache_clear()
    return statements


def setup_after_migrate(**kwargs) -> None:
    """post_migrate: keep the role's privileges in step with the tables; warn when not allowed to."""
    if connection.vendor != "postgresql" or kwargs.get("using", "default") != "default":
        return
    try:
        setup_reader_role()
    except DatabaseError as exc:
        log.warning(
            "agent: could not set up the read-only database role %s (%s); a database owner can run "
            "`manage.py agent_setup_role` (or apply `manage.py agent_setup_role --dry-run`).",
            reader_role(),
            str(exc).strip().splitlines()[0],
        )


@cache
def role_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [reader_role()])
        return cursor.fetchone() is not None
