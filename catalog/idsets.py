"""A set of ids sent to the database as ONE parameter, whatever its size.

Django's ``pk__in=ids`` sends one parameter per id: with thousands of ids, building, quoting and parsing
them costs more than the query itself (the recommendation checks ~1,300 model ids against ``visible_to``
several times a request). Here the set is one array on PostgreSQL (``= ANY(%s)``) and one JSON text on
SQLite (``json_each``), the table function both engines read as a relation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection
from django.db.models import BooleanField, Expression, F


def id_rows(ids: Iterable[int], *, using=None) -> tuple[str, list]:
    """SQL selecting each id as one row (a relation to join or to put in ``IN (...)``), and its parameter."""
    values = sorted({int(i) for i in ids})
    if (using or connection).vendor == "postgresql":  # the array's text: one string, not a list to adapt
        return "SELECT unnest(%s::bigint[])", ["{" + ",".join(map(str, values)) + "}"]
    return "SELECT value FROM json_each(%s)", [json.dumps(values)]


class InIds(Expression):
    """``filter(InIds("model_id", ids))``: the field's value is one of ``ids`` (``exclude`` for none of them)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, field: str | Expression, ids: Iterable[int]):
        super().__init__()
        self.target = F(field) if isinstance(field, str) else field
        self.ids = sorted({int(i) for i in ids})

    def get_source_expressions(self):
        return [self.target]

    def set_source_expressions(self, exprs):
        (self.target,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.target)
        rows, row_params = id_rows(self.ids, using=connection)
        if connection.vendor == "postgresql":
            return f"{sql} = ANY(%s::bigint[])", [*params, *row_params]
        return f"{sql} IN ({rows})", [*params, *row_params]
