"""Reads compiled once per process: a queryset whose SQL depends only on the shape of its arguments (which
values it filters on, the caller's visibility shape), not on the values themselves, is built and compiled
the first time with marker values in place of the arguments; later calls run the same SQL with their own
values in the markers' places. Building and compiling a queryset cost a model detail more CPU than its
statements took in the database (issue 18). A member's visibility holds their id and the time (a grant
expires), so their reads are built and compiled each time, by the same function.

    ROWS = Statement(lambda user, pk: MLModel.objects.visible_to(user).filter(pk=pk).values_list("name"))
    ROWS.rows(request.user, pk=3)  # [("bert",)]: what list(ROWS.build(request.user, pk=3)) gives
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import connections
from django.db.models import QuerySet

from catalog.models.base import visibility_shape

_markers = itertools.count(1)


class Slot:
    """The place of an argument in a compiled statement's parameters."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class Statement:
    """``build(user, **values)`` -> a values_list queryset; ``rows(user, **values)`` -> its rows.

    ``values`` may be ints or strings that the queryset compares as they are (an exact lookup, not an
    ``__in`` list, whose SQL grows with it). ``visible=False``: the statement does not depend on the user."""

    def __init__(self, build: Callable[..., QuerySet], *, visible: bool = True):
        self.build, self.visible = build, visible
        self._compiled: dict[tuple, tuple] = {}
        self._lock = threading.Lock()

    def rows(self, user, **values) -> list[tuple]:
        shape = visibility_shape(user) if self.visible else "any"
        if shape is None:
            return list(self.build(user, **values))
        key = (shape, tuple(sorted(values)))
        compiled = self._compiled.get(key) or self._compile(key, user, values)
        alias, sql, params, compiler, converters, prepared = compiled
        arguments = [values[p.name] if isinstance(p, Slot) else p for p in params]
        connection = connections[alias]
        with connection.cursor() as cursor:
            if prepared is not None and connection.vendor == "postgresql" and settings.DB_PREPARED_STATEMENTS:
                cursor.execute(_prepared_on(connection, cursor, *prepared), arguments)
            else:
                cursor.execute(sql, arguments)
            rows = cursor.fetchall()
        return [tuple(row) for row in compiler.apply_converters(rows, converters)] if converters else rows

    def _compile(self, key: tuple, user, values: dict) -> tuple:
        markers = {name: _marker(value) for name, value in values.items()}
        queryset = self.build(user, **markers)
        compiler = queryset.query.get_compiler(queryset.db)
        sql, params = compiler.as_sql()
        by_marker = {(type(marker), marker): Slot(name) for name, marker in markers.items()}
        slots = [by_marker.get((type(p), p), p) if isinstance(p, int | str) else p for p in params]
        missing = set(markers) - {p.name for p in slots if isinstance(p, Slot)}
        if missing:  # an argument the SQL holds in another form: this statement cannot be compiled once
            raise ValueError(f"{', '.join(sorted(missing))}: not a parameter of the compiled statement")
        fields = [column[0] for column in compiler.select[: compiler.col_count]]
        types = [_type_of(values[p.name] if isinstance(p, Slot) else p) for p in slots]
        prepared = None if None in types else (sql, tuple(types))
        compiled = (queryset.db, sql, slots, compiler, compiler.get_converters(fields), prepared)
        with self._lock:
            self._compiled[key] = compiled
        return compiled


def _marker(value):
    """A value of the argument's type that no statement holds as a constant."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{type(value).__name__}: only ints and strings are compiled as parameters")
    number = next(_markers)
    return -(7_919_000_000 + number) if isinstance(value, int) else f"\x1fomh-statement-marker-{number}\x1f"


def _type_of(value) -> str | None:
    """The PostgreSQL type of a prepared statement's parameter (None: the statement runs unprepared)."""
    for kind, name in ((bool, "boolean"), (int, "bigint"), (str, "text")):  # bool is an int: first
        if isinstance(value, kind):
            return name
    return None


_PLACEHOLDER = re.compile(r"%s|%%")


def _prepared_on(connection, cursor, sql: str, types: tuple[str, ...]) -> str:
    """``EXECUTE name(%s, ...)`` of ``sql``, prepared on this connection the first time. PostgreSQL plans a
    prepared statement once its generic plan costs no more than the custom ones (these read a few rows by
    index: from the sixth run), which took a model detail's planning from ~5 ms to nothing (bench/README.md).
    Prepared statements last as long as the session: the names prepared are kept on the connection."""
    digest = hashlib.sha1(f"{sql}\0{types}".encode()).hexdigest()[:20]
    name = f"omh_{digest}"
    raw = connection.connection
    done = getattr(raw, "_omh_prepared", None)
    if done is None:
        done = raw._omh_prepared = set()
    if name not in done:
        numbers = itertools.count(1)
        body = _PLACEHOLDER.sub(lambda m: f"${next(numbers)}" if m.group() == "%s" else "%", sql)
        cursor.execute(f"PREPARE {name} ({', '.join(types)}) AS {body}")  # no parameters: sent as written
        done.add(name)
    return f"EXECUTE {name}({', '.join(['%s'] * len(types))})" if types else f"EXECUTE {name}"
