"""Check generated SQL and rewrite it so that it can only read what the asking user may see.

``guard(sql, user=..., dialect=...)`` parses with sqlglot and either raises ``RejectedSQL`` or
returns the statement to execute, regenerated from the syntax tree (comments dropped, so nothing
the parser did not see reaches the database):

- exactly one SELECT (or UNION/INTERSECT/EXCEPT of SELECTs): no second statement, no writing CTE,
  no SELECT INTO, no FOR UPDATE/SHARE, no placeholders;
- only the tables of ``agent.schema`` (or CTEs defined around the reference), never qualified by a
  schema, never table functions; CTE names may not shadow a table;
- no secret column name referenced (output aliases may be named anything); only allow-listed
  functions (a few read-only table functions over JSON too), and bare keywords only as date units;
- every table reference replaced by a subquery projecting the exposed columns of the rows the user
  may see (so ``SELECT *`` expands to the exposed columns only);
- a LIMIT added, or capped, at ``AGENT_MAX_ROWS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import sqlglot
from django.conf import settings
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from agent import schema
from agent.visibility import row_subquery

# Read-only expansions of a JSON value into rows (e.g. a column's example values): allowed in FROM.
TABLE_FUNCTIONS: frozenset[str] = frozenset(
    {
        "json_each",
        "jsonb_each",
        "json_array_elements",
        "jsonb_array_elements",
        "json_array_elements_text",
        "jsonb_array_elements_text",
    }
)

# Functions the model may call, as written in SQL. Anything else (pg_sleep, pg_read_file,
# set_config, current_setting, dblink, lo_import, load_extension, query_to_xml ...) is refused.
ALLOWED_FUNCTIONS: frozenset[str] = (
    frozenset(
        {
            # aggregates and windows
            "count",
            "sum",
            "avg",
            "min",
            "max",
            "string_agg",
            "group_concat",
            "array_agg",
            "bool_and",
            "bool_or",
            "every",
            "stddev",
            "stddev_pop",
            "stddev_samp",
            "variance",
            "var_pop",
            "var_samp",
            "median",
            "percentile_cont",
            "percentile_disc",
            "mode",
            "row_number",
            "rank",
            "dense_rank",
            "percent_rank",
            "cume_dist",
            "ntile",
            "lag",
            "lead",
            "first_value",
            "last_value",
            "nth_value",
            # conditionals and casts
            "coalesce",
            "nullif",
            "greatest",
            "least",
            "ifnull",
            "iif",
            "cast",
            "try_cast",
            "case",
            "if",
            # numbers
            "abs",
            "round",
            "ceil",
            "ceiling",
            "floor",
            "trunc",
            "sign",
            "mod",
            "power",
            "pow",
            "sqrt",
            "ln",
            "log",
            "log10",
            "exp",
            "div",
            # text
            "lower",
            "upper",
            "length",
            "char_length",
            "character_length",
            "substr",
            "substring",
            "trim",
            "ltrim",
            "rtrim",
            "btrim",
            "replace",
            "concat",
            "concat_ws",
            "left",
            "right",
            "position",
            "strpos",
            "instr",
            "split_part",
            "initcap",
            "lpad",
            "rpad",
            "reverse",
            "starts_with",
            "printf",
            "format",
            "typeof",
            # dates (SQLite: strftime, date, time, datetime, julianday, unixepoch; PostgreSQL: the rest)
            "extract",
            "date_part",
            "date_trunc",
            "strftime",
            "date",
            "time",
            "datetime",
            "julianday",
            "unixepoch",
            "now",
            "current_date",
            "current_time",
            "current_timestamp",
            "localtimestamp",
            "to_char",
            "to_date",
            "to_timestamp",
            "age",
            "make_date",
            "justify_interval",
            "justify_days",
            # json
            "json_extract",
            "json_array_length",
            "jsonb_array_length",
            "json_typeof",
            "jsonb_typeof",
        }
    )
    | TABLE_FUNCTIONS
)

# Bare keywords (sqlglot's Var) are allowed only as these units of EXTRACT, DATE_TRUNC and INTERVAL.
DATE_UNITS: frozenset[str] = frozenset(
    {
        "millennium",
        "century",
        "decade",
        "year",
        "years",
        "isoyear",
        "quarter",
        "month",
        "months",
        "week",
        "weeks",
        "day",
        "days",
        "dow",
        "isodow",
        "doy",
        "hour",
        "hours",
        "minute",
        "minutes",
        "second",
        "seconds",
        "millisecond",
        "milliseconds",
        "microsecond",
        "microseconds",
        "epoch",
        "timezone",
        "timezone_hour",
        "timezone_minute",
    }
)
MAX_SQL_CHARS = 20_000

# Node types that never belong in a read-only question.
FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, name)
    for name in (
        "Insert",
        "Update",
        "Delete",
        "Merge",
        "Create",
        "Drop",
        "Alter",
        "Command",
        "Into",
        "Lock",
        "Set",
        "SetItem",
        "Pragma",
        "Transaction",
        "Commit",
        "Rollback",
        "Copy",
        "Use",
        "Grant",
        "Revoke",
        "Describe",
        "Kill",
        "Analyze",
        "Refresh",
        "Cache",
        "Uncache",
        "LoadData",
        "TruncateTable",
        "Attach",
        "Detach",
        "Show",
        "Declare",
        "Execute",
        "Comment",
        "Placeholder",
        "Parameter",
        "SessionParameter",
    )
    if hasattr(exp, name)
)

# sqlglot models some operators (AND, OR, ->, @>, ~ ...) as functions; they are syntax, not calls.
OPERATORS = (exp.Binary, exp.Connector, exp.Unary)
QUERY_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except)
RESERVED_PREFIXES = ("pg_", "sqlite_", "information_schema")


class RejectedSQL(Exception):
    """The SQL is not a safe, read-only question over the exposed tables."""


def dialect_for(vendor: str) -> str:
    return {"postgresql": "postgres", "sqlite": "sqlite"}.get(vendor, vendor)


@cache
def _allowed_function_classes(dialect: str) -> frozenset[str]:
    """The sqlglot expression classes that the allowed function names parse into."""
    classes = {"Anonymous"}  # checked by name below
    for name in ALLOWED_FUNCTIONS:
        for args in ("x", "x, y", "x, y, z", ""):
            try:
                tree = sqlglot.parse_one(f"SELECT {name}({args})", read=dialect)
            except (ParseError, TokenError, ValueError):
                continue
            # Every function node the name parses into: strftime(f, x) is TimeToStr(TsOrDsToTimestamp(x)).
            node = tree.expressions[0] if tree.expressions else None
            if isinstance(node, exp.Func):
                classes.update(type(n).__name__ for n in node.walk() if isinstance(n, exp.Func))
    # Syntax that sqlglot models as functions.
    classes.update({"Cast", "TryCast", "Case", "If", "Extract", "Coalesce", "Count", "Interval", "Array", "Exists"})
    return frozenset(classes)


def _function_name(node: exp.Func) -> str:
    return node.name.lower() if isinstance(node, exp.Anonymous) else type(node).__name__


def _shown_name(node: exp.Func, dialect: str) -> str:
    """The function as the SQL names it (for messages), not sqlglot's class or an argument."""
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    written = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(", node.sql(dialect=dialect))
    return (written.group(1) if written else node.sql_name()).lower()


def parse_single_select(sql: str, dialect: str) -> exp.Expression:
    if len(sql) > MAX_SQL_CHARS:
        raise RejectedSQL(f"The SQL is {len(sql)} characters long; at most {MAX_SQL_CHARS} are allowed.")
    if "\x00" in sql:
        raise RejectedSQL("The SQL contains a NUL character.")
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except (ParseError, TokenError) as exc:
        raise RejectedSQL(f"The SQL could not be parsed: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise RejectedSQL(f"Exactly one statement is allowed; found {len(statements)}.")
    tree = statements[0]
    if not isinstance(tree, QUERY_ROOTS):
        raise RejectedSQL(f"Only SELECT queries are allowed, not {tree.key.upper()}.")
    return tree


def _check_nodes(tree: exp.Expression, dialect: str) -> None:
    allowed_classes = _allowed_function_classes(dialect)
    aliases = _alias_names(tree)
    for node in tree.walk():
        if isinstance(node, FORBIDDEN_NODES):
            raise RejectedSQL(f"{node.key.upper()} is not allowed in a read-only question.")
        if isinstance(node, exp.Var):
            _check_keyword(node)
        if isinstance(node, exp.Select) and (node.args.get("into") or node.args.get("locks")):
            raise RejectedSQL("SELECT INTO and locking clauses (FOR UPDATE/SHARE) are not allowed.")
        if isinstance(node, exp.CTE) and not isinstance(node.this, QUERY_ROOTS):
            raise RejectedSQL("A WITH clause may only hold SELECT queries.")
        if isinstance(node, exp.Func) and not isinstance(node, OPERATORS):
            name = _function_name(node)
            allowed = name in ALLOWED_FUNCTIONS if isinstance(node, exp.Anonymous) else name in allowed_classes
            if not allowed:
                raise RejectedSQL(f"The function {_shown_name(node, dialect)}() is not allowed.")
        if isinstance(node, exp.Identifier) and not node.quoted and node.name[:1] in ("$", ":", "@", "?"):
            raise RejectedSQL("Query parameters are not allowed; write the values into the query.")
        if isinstance(node, exp.Column) and node.name.lower() in schema.SECRET_COLUMN_NAMES - aliases:
            raise RejectedSQL(f"The column {node.name!r} is not available to the agent.")


def _check_keyword(node: exp.Var) -> None:
    """A bare keyword is fine as the unit of EXTRACT(YEAR FROM ...), DATE_TRUNC('month', ...) or INTERVAL."""
    parent = node.parent
    is_unit = node.arg_key == "unit" or (isinstance(parent, exp.Extract) and node.arg_key == "this")
    if not (is_unit and node.name.lower() in DATE_UNITS):
        where = f" in {parent.key.upper()}" if parent is not None and not isinstance(parent, exp.Select) else ""
        raise RejectedSQL(
            f"The keyword {node.name.upper()}{where} is not allowed; only date units such as "
            "YEAR or MONTH in EXTRACT, DATE_TRUNC and INTERVAL are."
        )


def _alias_names(tree: exp.Expression) -> set[str]:
    """Names the query itself defines for its outputs (AS hash, t(a, b)): not the catalogue's columns."""
    names = {node.alias.lower() for node in tree.find_all(exp.Alias)}
    for alias in tree.find_all(exp.TableAlias):
        names.update(column.name.lower() for column in alias.columns)
    return names


def _lowercase_name(identifier: exp.Expression | None) -> str:
    """The name, lowercase; a quoted name that is not lowercase is refused, so that comparing names
    in lowercase means the same on PostgreSQL (where quoted names are case-sensitive) and SQLite."""
    if not isinstance(identifier, exp.Identifier):
        raise RejectedSQL("Every table and WITH query needs a plain name.")
    if identifier.quoted and identifier.name != identifier.name.lower():
        raise RejectedSQL(f"Use lowercase names for tables and WITH queries, not {identifier.name!r}.")
    return identifier.name.lower()


def _cte_names(tree: exp.Expression) -> set[str]:
    names: list[str] = []
    for cte in tree.find_all(exp.CTE):
        alias = cte.args.get("alias")
        names.append(_lowercase_name(alias.this if isinstance(alias, exp.TableAlias) else None))
    if len(names) != len(set(names)):
        raise RejectedSQL("Each WITH query needs a distinct name.")
    # A WITH query named like a real table would also capture that name inside the visibility
    # filters (e.g. a fake accounts_grant granting everything): no table name may be reused.
    tables = _table_names()
    for name in names:
        if name in tables or name.startswith(RESERVED_PREFIXES):
            raise RejectedSQL(f"A WITH query may not be named {name!r}.")
    return set(names)


@cache
def _table_names() -> frozenset[str]:
    from django.apps import apps

    from agent.readonly import support_tables

    models = apps.get_models(include_auto_created=True)
    return frozenset(schema.exposed_tables()) | support_tables() | {m._meta.db_table.lower() for m in models}


def _defines_cte(node: exp.Expression, name: str) -> bool:
    """Whether a WITH clause around ``node`` defines ``name`` (so the reference reaches the CTE)."""
    current = node.parent
    while current is not None:
        with_clause = current.args.get("with_") or current.args.get("with")
        if isinstance(with_clause, exp.With) and any(
            cte.alias_or_name.lower() == name for cte in with_clause.expressions
        ):
            return True
        current = current.parent
    return False


def _table_name(table: exp.Table) -> str:
    if isinstance(table.this, exp.Anonymous) and table.this.name.lower() in TABLE_FUNCTIONS:
        return ""  # a JSON expansion; its arguments are checked like any expression
    if not isinstance(table.this, exp.Identifier):
        shown = table.this.name if isinstance(table.this, exp.Func) else table.this.key
        raise RejectedSQL(f"The table function {shown.lower()}() is not allowed in FROM; read the catalogue tables.")
    if table.args.get("db") or table.args.get("catalog"):
        raise RejectedSQL(f"Use table names without a schema: {table.sql()!r}.")
    extra = {k for k, v in table.args.items() if v and k not in ("this", "alias", "db", "catalog")}
    if extra:
        raise RejectedSQL(f"Table modifiers ({', '.join(sorted(extra))}) are not allowed.")
    return _lowercase_name(table.this)


def _rewrite_tables(tree: exp.Expression, *, user, dialect: str, cte_names: set[str]) -> exp.Expression:
    tables = schema.tables_for(user)
    for table in list(tree.find_all(exp.Table)):
        name = _table_name(table)
        if not name:
            continue
        if name in cte_names:
            if not _defines_cte(table, name):
                raise RejectedSQL(f"{name!r} is used outside the WITH query that defines it.")
            continue
        if name not in tables:
            raise RejectedSQL(f"The table {name!r} is not available; use only the tables described.")
        # The alias as written: a quoted "M" stays quoted, so that "M".name still finds it on PostgreSQL.
        alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
        subquery = row_subquery(tables[name], user=user, dialect=dialect)
        table.replace(exp.Subquery(this=subquery, alias=alias))
    return tree


def _cap_limit(tree: exp.Expression, max_rows: int) -> None:
    limit = tree.args.get("limit")
    if isinstance(limit, exp.Limit):
        value = limit.expression
        if isinstance(value, exp.Literal) and value.is_int and int(value.this) <= max_rows:
            return
    elif isinstance(limit, exp.Fetch):
        count = limit.args.get("count")
        if isinstance(count, exp.Literal) and count.is_int and int(count.this) <= max_rows:
            return
    tree.set("limit", exp.Limit(expression=exp.Literal.number(max_rows)))


@dataclass(frozen=True)
class GuardedSQL:
    sql: str
    cte_names: frozenset[str]


def guard(sql: str, *, user, dialect: str, max_rows: int | None = None) -> GuardedSQL:
    """The SQL to execute for this user, or RejectedSQL saying why not."""
    max_rows = max_rows or settings.AGENT_MAX_ROWS
    tree = parse_single_select(sql, dialect)
    _check_nodes(tree, dialect)
    cte_names = _cte_names(tree)
    tree = _rewrite_tables(tree, user=user, dialect=dialect, cte_names=cte_names)
    _cap_limit(tree, max_rows)
    return GuardedSQL(sql=tree.sql(dialect=dialect, comments=False), cte_names=frozenset(cte_names))
