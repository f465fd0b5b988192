"""INSERTs of new rows with their statement written once per table and database.

``insert(objs)`` does what ``Model.objects.bulk_create(objs)`` does for rows of plain values (the write
path's: assets, their links and architecture rows, audit events): the related objects' ids taken, each
field's ``pre_save`` (``auto_now_add``) and ``get_db_prep_save``, one multi-row INSERT per batch with the
new ids returned and set, the rows marked saved. What differs is the cost: Django compiles the statement
for every call (field by field and row by row: ~60% of an INSERT of a model's 86 columns); here the
column list and the row's placeholders are built once. A model this cannot write exactly as Django would
(a field with its own placeholder or a database default, a generated field, an auto id given) goes
through ``bulk_create``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db import connections, models, router
from django.db.models.fields import NOT_PROVIDED


@dataclass(frozen=True)
class _Plan:
    fields: tuple  # the columns written, in order
    head: str  # INSERT INTO table (columns) VALUES
    row: str  # (%s, ...)
    returning: str  # " RETURNING id" for an auto id, else ""


def insert(objs: list[models.Model], *, using: str | None = None) -> None:
    """Insert ``objs`` (new rows of one model, no id given) and set their ids."""
    if not objs:
        return
    model = type(objs[0])
    alias = using or router.db_for_write(model)
    connection = connections[alias]
    plan = _plan(model, alias)
    if plan is None or (plan.returning and any(obj.pk is not None for obj in objs)):
        model._base_manager.using(alias).bulk_create(objs)
        return
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    size = max(1, _max_params(connection) // len(plan.fields))
    for start in range(0, len(objs), size):
        chunk = objs[start : start + size]
        params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in chunk for f in plan.fields]
        with connection.cursor() as cursor:
            cursor.execute(plan.head + ", ".join([plan.row] * len(chunk)) + plan.returning, params)
            if plan.returning:
                for obj, row in zip(chunk, connection.ops.fetch_returned_insert_rows(cursor), strict=True):
                    obj.pk = row[0]
        for obj in chunk:
            obj._state.adding, obj._state.db = False, alias


@functools.cache
def _plan(model: type[models.Model], alias: str) -> _Plan | None:
    connection = connections[alias]
    meta = model._meta
    auto = isinstance(meta.pk, models.AutoField)  # else the id is a field the row gives (a one-to-one)
    for f in meta.concrete_fields:
        if hasattr(f, "get_placeholder") or f.db_default is not NOT_PROVIDED or f.generated:
            return None
    if meta.parents or (auto and not connection.features.can_return_rows_from_bulk_insert):
        return None  # (an SQLite before 3.35 cannot return the ids: the ORM reads them its own way)
    fields = tuple(f for f in meta.concrete_fields if not (auto and f.primary_key))
    quote = connection.ops.quote_name
    returning = " " + connection.ops.return_insert_columns([meta.pk])[0] if auto else ""
    return _Plan(
        fields=fields,
        head=f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES ",
        row="(" + ", ".join(["%s"] * len(fields)) + ")",
        returning=returning,
    )


def _max_params(connection) -> int:
    """Parameters per statement: SQLite's own limit (32,766 by default since 3.32; Django assumes 999),
    PostgreSQL's 65,535."""
    if connection.vendor == "sqlite":
        import sqlite3

        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return connection.features.max_query_params or 65535
