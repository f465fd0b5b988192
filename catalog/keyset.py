"""Keyset ("cursor") pagination of querysets, shared by the API, the HTML lists and the Hub API: fast
at any depth, stable while rows are added.

The cursor holds the last row's sort value and id; the next page is ``WHERE key <= v AND (key, id)
< (v, id)`` in the list's order (then the NULLs), which the (key, id) indexes answer as a range —
no OFFSET, and no skipping of the rows before, however deep. The previous page is the same
comparison the other way, read in the reverse order (the same index, backwards). NULL sort values
(parameter counts, instances) come last in either direction.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Q
from django.db.models.expressions import OrderBy

from catalog.search import ids_in

MAX_CURSOR_LENGTH = 1024  # a real cursor is a key value (a name: at most 200 characters) and an id
BIGINT = 2**63 - 1  # the widest integer column; beyond it SQLite raises OverflowError, PostgreSQL an error


class InvalidCursor(ValueError):
    """A cursor this list did not give out (the API answers 400, the pages and the Hub API too)."""

    def __init__(self):
        super().__init__("Invalid cursor: use the link the previous page gave.")


class ExactJSONEncoder(DjangoJSONEncoder):
    """Full microseconds (DjangoJSONEncoder keeps milliseconds, which would skip rows on a cursor)."""

    def default(self, o):
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)


@dataclass
class KeysetPage:
    rows: list
    next: str | None  # cursor of the following page
    previous: str | None  # cursor of the preceding page
    at_start: bool  # nothing comes before this page


class Keyset:
    """Pages of a queryset in ``ordering`` ((key, id), key NULLs last) around an opaque cursor.

    A cursor is the base64 of ``[key value, id]`` ("the rows after this one") or of
    ``[key value, id, 1]`` ("the rows before this one", read in the reverse order, which the same
    index answers backwards).
    """

    def __init__(self, ordering: list[OrderBy]):
        self.ordering = ordering
        self.key, self.descending = ordering[0].expression.name, ordering[0].descending

    def page(self, queryset, token: str | None, size: int) -> KeysetPage:
        cursor = self.decode(token, queryset)
        rank = queryset.query.annotations.get("rank")
        head = getattr(rank, "head", None)
        if self.key == "rank" and self.descending and head is not None:
            return self._search_page(queryset, cursor, size, ids_in(head), tail=not rank.complete)
        if cursor is not None and cursor[2]:  # backwards: the rows before the cursor, nearest first
            value, pk, _ = cursor
            reverse = [o.copy().reverse_ordering() for o in self.ordering]
            rows = self._read(queryset.order_by(*reverse), self.before(value, pk), size + 1)
            more = len(rows) > size
            rows = rows[:size][::-1]
            return KeysetPage(
                rows,
                self.encode(rows[-1]) if rows else None,
                self.encode(rows[0], before=True) if more else None,
                at_start=not more,
            )
        ordered = queryset.order_by(*self.ordering)
        if cursor is None:
            rows = list(ordered[: size + 1])
        else:
            rows = self._read(ordered, self.after(cursor[0], cursor[1]), size + 1)
        more = len(rows) > size
        rows = rows[:size]
        previous = None
        if cursor is not None:  # something came before: the rows before this page's first row
            previous = self.encode(rows[0], before=True) if rows else self._token(cursor[0], cursor[1], True)
        return KeysetPage(rows, self.encode(rows[-1]) if more else None, previous, at_start=cursor is None)

    def _search_page(self, queryset, cursor, size: int, in_head: Q, tail: bool = True) -> KeysetPage:
        """A search's pages (catalog.search.HeadRank): the scored head read through its ids in rank order,
        then the tail (rank 0, every other match) through the id index, highest id first; each segment
        is read with its own ORDER BY so that the tail's never computes a rank."""
        by_rank, by_id = [F("rank").desc(), F("id").desc()], [F("id").desc()]
        up_rank, up_id = [F("rank").asc(), F("id").asc()], [F("id").asc()]
        backwards = cursor is not None and cursor[2]
        if cursor is None:
            segments = [(in_head, by_rank), (~in_head, by_id)]
        elif not backwards:
            value, pk, _ = cursor
            later = Q(rank__lt=value) | Q(rank=value, id__lt=pk)
            segments = (
                [(in_head & later, by_rank), (~in_head, by_id)] if value > 0 else [(~in_head & Q(id__lt=pk), by_id)]
            )
        else:
            value, pk, _ = cursor
            earlier = Q(rank__gt=value) | Q(rank=value, id__gt=pk)
            segments = (
                [(in_head & earlier, up_rank)] if value > 0 else [(~in_head & Q(id__gt=pk), up_id), (in_head, up_rank)]
            )
        if not tail:  # the head is every match (catalog.search.HeadRank.complete): nothing to look for past it
            segments = [(condition, order) for condition, order in segments if order is by_rank or order is up_rank]
        rows: list = []
        for condition, order in segments:
            rows += list(queryset.filter(condition).order_by(*order)[: size + 1 - len(rows)])
            if len(rows) > size:
                break
        more = len(rows) > size
        rows = rows[:size]
        if backwards:
            rows = rows[::-1]
            return KeysetPage(
                rows,
                self.encode(rows[-1]) if rows else None,
                self.encode(rows[0], before=True) if more else None,
                at_start=not more,
            )
        previous = None
        if cursor is not None:
            previous = self.encode(rows[0], before=True) if rows else self._token(cursor[0], cursor[1], True)
        return KeysetPage(rows, self.encode(rows[-1]) if more else None, previous, at_start=cursor is None)

    @staticmethod
    def _read(ordered, segments: list[Q], limit: int) -> list:
        """Up to ``limit`` rows of ``ordered`` from consecutive segments of the order, each a condition
        the index answers as a range (``key <= v``, ``key IS NULL``), so that a page deep in the list
        starts where it is instead of skipping every row before it; the next segment (the NULLs) is
        read only when the first runs out."""
        rows: list = []
        for segment in segments:
            rows += list(ordered.filter(segment)[: limit - len(rows)])
            if len(rows) >= limit:
                break
        return rows

    def after(self, value, pk) -> list[Q]:
        """The rows after (value, pk) in the list's order, as consecutive segments."""
        past, key = ("lt" if self.descending else "gt"), self.key
        if value is None:  # among the NULLs (last): the NULLs after this id
            return [Q(**{f"{key}__isnull": True, f"id__{past}": pk})]
        rest = [Q(**{f"{key}__isnull": True})] if self.key != "rank" else []
        return [
            Q(**{f"{key}__{past}e": value}) & (Q(**{f"{key}__{past}": value}) | Q(**{key: value, f"id__{past}": pk})),
            *rest,
        ]

    def before(self, value, pk) -> list[Q]:
        """The rows before (value, pk), nearest first (for the reversed order), as consecutive segments."""
        ahead, key = ("gt" if self.descending else "lt"), self.key
        if value is None:  # among the NULLs: the NULLs before this id, then every row with a key
            return [Q(**{f"{key}__isnull": True, f"id__{ahead}": pk}), Q(**{f"{key}__isnull": False})]
        return [
            Q(**{f"{key}__{ahead}e": value}) & (Q(**{f"{key}__{ahead}": value}) | Q(**{key: value, f"id__{ahead}": pk}))
        ]

    def encode(self, row, before: bool = False) -> str:
        return self._token(getattr(row, self.key), row.pk, before)

    @staticmethod
    def _token(value, pk, before: bool) -> str:
        raw = json.dumps([value, pk, 1] if before else [value, pk], cls=ExactJSONEncoder, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode(self, token: str | None, queryset):
        """(key value, id, backwards) from a cursor this list gave out; anything else is InvalidCursor,
        never a value the database would refuse (a NUL, an integer past 64 bits, an infinite number, a date
        past the calendar's ends)."""
        if not token:
            return None
        try:
            if len(token) > MAX_CURSOR_LENGTH:
                raise ValueError
            raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if not isinstance(raw, list) or len(raw) not in (2, 3) or raw[2:] not in ([], [1]):
                raise ValueError
            value, pk = raw[0], raw[1]
            if not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk <= BIGINT:
                raise ValueError
            if value is not None:
                value = self.to_python(queryset, value)
        except (ValueError, TypeError, OverflowError, DjangoValidationError):  # binascii and JSON errors too
            raise InvalidCursor() from None
        return value, pk, len(raw) == 3

    def to_python(self, queryset, value):
        if isinstance(value, bool) or not isinstance(value, str | int | float) or "\x00" in str(value):
            raise ValueError
        if self.key == "rank":  # always a double (catalog.search), which JSON writes with a point or exponent
            if not isinstance(value, float):
                raise ValueError
            converted = value
        else:
            converted = queryset.model._meta.get_field(self.key).to_python(value)
        if isinstance(converted, str | int) and type(value) is not type(converted):  # as encode() wrote it
            raise ValueError
        if isinstance(converted, float) and not math.isfinite(converted):
            raise ValueError
        if isinstance(converted, int) and not -BIGINT <= converted <= BIGINT:
            raise ValueError
        if isinstance(converted, datetime):
            if converted.tzinfo is None:
                raise ValueError
            converted = converted.astimezone(UTC)  # OverflowError at year 1 or 9999
        return converted
