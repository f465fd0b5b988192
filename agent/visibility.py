"""Row visibility as SQL: the subquery that stands in for an exposed table in the agent's SQL.

The subquery is an optimisation fence (see ``fence``), so the outer query's expressions only ever
run on visible rows.

The filter is the SQL Django compiles for ``schema.visible_rows(label, user)`` (itself built on
``visible_to``), with its parameters inlined as literals of the few types such querysets use.
"""

from __future__ import annotations

import datetime
import decimal

import sqlglot
from django.db import connection
from sqlglot import exp

from agent.schema import TableInfo, visible_rows


def sql_literal(value) -> str:
    """A SQL literal for a query parameter; refuses any type it does not know how to quote."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if connection.vendor == "postgresql" else str(int(value))
    if isinstance(value, int | decimal.Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime.datetime):
        value = connection.ops.adapt_datetimefield_value(value)
        value = value.isoformat() if isinstance(value, datetime.datetime) else str(value)
    elif isinstance(value, datetime.date):
        value = value.isoformat()
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("NUL in a query parameter")
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot inline a parameter of type {type(value).__name__}")


def compiled_sql(queryset) -> str:
    sql, params = queryset.order_by().query.sql_with_params()
    return sql % tuple(sql_literal(p) for p in params)


def row_subquery(table: TableInfo, *, user, dialect: str) -> exp.Select:
    """SELECT <exposed columns> FROM <table> [WHERE pk IN (<rows the user may see>)]."""
    select = exp.select(*[exp.column(name, quoted=True) for name in table.column_names]).from_(
        exp.table_(table.db_table, quoted=True)
    )
    rows = visible_rows(table.label, user)
    if rows is not None:
        pk = table.model._meta.pk.column
        condition = sqlglot.parse_one(compiled_sql(rows.values("pk")), read=dialect)
        select = select.where(exp.In(this=exp.column(pk, quoted=True), query=exp.Subquery(this=condition)))
        select = fence(select, dialect)
    return select


def fence(select: exp.Select, dialect: str) -> exp.Select:
    """Stop the planner from merging the subquery into the outer query (or pushing conditions into it).

    Without it, PostgreSQL may evaluate the outer query's conditions on rows the filter would drop,
    and an error such as ``invalid input syntax for type integer: "<private name>"`` leaks them (the
    leaky-view problem). A subquery with OFFSET (SQLite: LIMIT/OFFSET) is never flattened.
    """
    if dialect == "sqlite":
        return select.limit(-1).offset(0)
    return select.offset(0)
