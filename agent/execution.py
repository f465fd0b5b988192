"""Run guarded SQL read-only, with a time limit.

PostgreSQL: inside a savepoint that is always rolled back: ``SET TRANSACTION READ ONLY``,
``SET LOCAL statement_timeout`` and ``SET LOCAL ROLE`` to the reader role (SELECT on the exposed
tables only), then the query.

SQLite: on the same connection (so that it also works on the in-memory test database):
``PRAGMA query_only`` plus an authorizer that allows reading only the exposed tables and columns
(every other action is denied), and a progress handler that interrupts the query at the deadline.

Either way the answer is bounded: at most ``max_rows`` rows whose JSON takes at most
``AGENT_MAX_ANSWER_BYTES``; past that the rows stop (or, for a first row alone too large, its long
texts are cut) and ``ResultSet.truncated`` says so. NUL characters, which PostgreSQL cannot store
in text or JSON, come back as U+FFFD.
"""

from __future__ import annotations

import datetime
import decimal
import json
import sqlite3
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from agent import schema
from agent.readonly import reader_role, role_exists, support_tables


class ExecutionFailed(Exception):
    """The database refused or failed the query (the message is safe to show and to give the model)."""


class QueryTimedOut(ExecutionFailed):
    pass


class ExecutorUnavailable(ExecutionFailed):
    """The database is not set up for the agent: no point in asking the model again."""


@dataclass
class ResultSet:
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    truncated: str = ""  # why the rows stop early, when they do


def max_answer_bytes() -> int:
    return settings.AGENT_MAX_ANSWER_BYTES


def clean_text(text: str) -> str:
    """Text that PostgreSQL can store (no NUL)."""
    return text.replace("\x00", "\ufffd")


def jsonable(value):
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, decimal.Decimal):
        return float(value) if value == value.to_integral_value() or abs(value) < 1e15 else str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID | datetime.timedelta):
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): jsonable(v) for k, v in value.items()}
    return clean_text(str(value))


def _json_bytes(value) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


def _shorten(row: list, budget: int) -> list:
    """The row with its texts cut so that its JSON fits ``budget`` bytes."""
    texts = [i for i, v in enumerate(row) if isinstance(v, str)]
    share = max(0, budget // max(1, len(texts)))
    while True:
        cut = [
            v.encode()[:share].decode(errors="ignore") + "…" if i in texts and len(v.encode()) > share else v
            for i, v in enumerate(row)
        ]
        if share == 0 or _json_bytes(cut) < budget:
            return cut
        share //= 2


def fetch_bounded(cursor, *, max_rows: int, max_bytes: int) -> tuple[list[list], str]:
    """Rows as JSON values, at most ``max_rows`` of them in at most ``max_bytes``; and why they stop early."""
    rows: list[list] = []
    used = 2  # the brackets of the list
    while len(rows) < max_rows:
        batch = cursor.fetchmany(min(100, max_rows - len(rows)))
        if not batch:
            break
        for raw in batch:
            row = [jsonable(v) for v in raw]
            size = _json_bytes(row) + 1
            if used + size > max_bytes:
                shortened = not rows  # one row alone too large: show it with its texts cut
                if shortened:
                    rows.append(_shorten(row, max_bytes - used))
                return rows, (
                    f"The answer was cut at {max_bytes} bytes: {len(rows)} row{'' if len(rows) == 1 else 's'} shown"
                    f"{' with long texts shortened' if shortened else ''}. Ask for fewer rows or columns to see all."
                )
            rows.append(row)
            used += size
    return rows, ""


def execute_readonly(sql: str, *, cte_names: frozenset[str] = frozenset(), max_rows: int | None = None) -> ResultSet:
    max_rows = max_rows or settings.AGENT_MAX_ROWS
    timeout_ms = int(settings.AGENT_STATEMENT_TIMEOUT_MS)
    if connection.vendor == "postgresql":
        return _run_postgres(sql, max_rows=max_rows, timeout_ms=timeout_ms)
    if connection.vendor == "sqlite":
        return _run_sqlite(sql, cte_names=cte_names, max_rows=max_rows, timeout_ms=timeout_ms)
    raise ExecutorUnavailable(f"The agent does not support the {connection.vendor} database.")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _run_postgres(sql: str, *, max_rows: int, timeout_ms: int) -> ResultSet:
    if not role_exists():
        raise ExecutorUnavailable(
            f"The read-only database role {reader_role()!r} is missing: run `manage.py agent_setup_role`."
        )
    quote = connection.ops.quote_name
    with transaction.atomic():
        savepoint = transaction.savepoint()
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
                cursor.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
                cursor.execute(f"SET LOCAL ROLE {quote(reader_role())}")
                cursor.execute(sql)
                columns = [clean_text(c.name) for c in cursor.description or ()]
                rows, truncated = fetch_bounded(cursor, max_rows=max_rows, max_bytes=max_answer_bytes())
        except DatabaseError as exc:
            transaction.savepoint_rollback(savepoint)
            if getattr(exc.__cause__, "sqlstate", None) == "57014":
                raise QueryTimedOut(f"The query took longer than {timeout_ms} ms and was cancelled.") from None
            raise ExecutionFailed(_first_line(exc.__cause__ or exc)) from None
        transaction.savepoint_rollback(savepoint)
    return ResultSet(columns=columns, rows=rows, truncated=truncated)


# SQLite functions that reach outside the query, whatever the guard thinks of them.
SQLITE_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})
# Table-valued functions that only expand a JSON value of the query (read as virtual tables).
SQLITE_TABLE_FUNCTIONS = frozenset({"json_each"})


def _sqlite_authorizer(cte_names: frozenset[str]):
    tables = schema.exposed_tables()
    readable = {name: table.hidden for name, table in tables.items()}
    readable.update({name: frozenset() for name in support_tables() | SQLITE_TABLE_FUNCTIONS})

    def authorize(action, arg1, arg2, _db, _source) -> int:
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            table, column = (arg1 or "").lower(), (arg2 or "").lower()
            if table in cte_names:
                return sqlite3.SQLITE_OK
            if table in readable and column not in readable[table]:
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION:
            name = (arg2 or "").lower()
            denied = name in SQLITE_DENIED_FUNCTIONS or name.startswith("django_")
            return sqlite3.SQLITE_DENY if denied else sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    return authorize


def _run_sqlite(sql: str, *, cte_names: frozenset[str], max_rows: int, timeout_ms: int) -> ResultSet:
    connection.ensure_connection()
    raw = connection.connection
    deadline = time.monotonic() + timeout_ms / 1000
    timed_out = False

    def progress() -> int:
        nonlocal timed_out
        if time.monotonic() > deadline:
            timed_out = True
            return 1
        return 0

    cursor = raw.cursor()
    cursor.execute("PRAGMA query_only = ON")
    # json_each is built on its first use in a connection, which the authorizer would see as a schema
    # update; build it before the authorizer is installed, so that the authorizer stays strict.
    cursor.execute("SELECT COUNT(*) FROM json_each('[]')").fetchall()
    raw.set_authorizer(_sqlite_authorizer(cte_names))
    raw.set_progress_handler(progress, 1000)
    try:
        cursor.execute(sql)
        columns = [clean_text(c[0]) for c in cursor.description or ()]
        rows, truncated = fetch_bounded(cursor, max_rows=max_rows, max_bytes=max_answer_bytes())
    except sqlite3.Error as exc:
        if timed_out:
            raise QueryTimedOut(f"The query took longer than {timeout_ms} ms and was cancelled.") from None
        raise ExecutionFailed(_first_line(exc)) from None
    finally:
        raw.set_authorizer(None)
        raw.set_progress_handler(None, 0)
        cursor.execute("PRAGMA query_only = OFF")
        cursor.close()
    return ResultSet(columns=columns, rows=rows, truncated=truncated)
