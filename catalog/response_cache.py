"""A cache of the rendered JSON answers of the hot GETs (the API's model and dataset lists, details and
facets; the Hub protocol's repository list and info), shared by every process through Redis.

**What is cached.** A 200 answer to a GET or HEAD rendered as JSON, with the headers that describe it
(an allow-list: ``KEPT_HEADERS``), never one that sets a cookie or changed the session, never the
browsable API's HTML. Authentication, permissions and throttles run before the cache is read, so they
apply to a hit as to a miss (``CachedResponseMixin.initial``); so do the middlewares.

**The key** names everything the answer depends on: scheme, host and path (the pagination links are
absolute), the query string (pairs sorted by name, each name's values in their order: the order the
links and filters read them in), the negotiated media type (``indent=`` included), the language, and
the caller's *scope* (``catalog.cache_scopes.cache_scope``): "public" for anonymous callers, "all" for
admins and curators (whose querysets are the same: every serializer depends on the caller only through
``visible_to``), else one signed-in user with the active grants reaching them, so that a grant, a
revocation and an expiry change the key. The variable part is hashed (bounded length).

**Invalidation, by construction.** Every answer is stored with the *content generation* read before it
was computed; it is served only while that generation is still the current one (the generation and
the entry come in one round trip). The generation moves after every committed write to the database
by any process of the hub (web workers, Celery workers, management commands): a wrapper installed on
every database connection (``connection_created``) sees each statement, and an INSERT, UPDATE, DELETE,
REPLACE, MERGE, TRUNCATE, COPY ... FROM, DDL or any statement it does not know as a read moves the
generation once the transaction commits (at once in autocommit), unless it writes only to a table of
``UNCACHED_TABLES`` (the tables no cached answer shows). A connection with uncommitted writes neither
reads nor fills the cache: its transaction sees rows other processes do not. The generation is
seeded from the clock, so that a lost counter (eviction, a cache restart) comes back above every
value stored with an entry. Writes made outside the hub (psql) are not seen: the entries' lifetime
(``RESPONSE_CACHE_SECONDS``) bounds their age.

**Where it runs.** Only on a cache the processes share (``REDIS_URL``): a per-process cache under
several workers would serve an answer that another worker's write retired. ``OMH_RESPONSE_CACHE``
turns it on or off explicitly.
"""

from __future__ import annotations

import hashlib
import functools
import re
import time
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction
from django.db.backends.signals import connection_created
from django.http import HttpResponse
from django.utils import translation
from rest_framework.renderers import JSONRenderer

from catalog.cache_scopes import cache_scope

GENERATION_KEY = "response:generation"
KEY_VERSION = "v1"
# The headers of an answer kept with it; the rest (cookies, anything a view sets for one caller) never is.
KEPT_HEADERS = ("Content-Type", "Content-Language", "Link", "ETag", "Last-Modified", "Vary", "Allow")
# Written to, they change no cached answer: sessions (log-ins), API tokens (authentication runs before the
# cache is read; a token's last use is written at most every OMH_TOKEN_LAST_USED_SECONDS) and the agent's
# query log.
UNCACHED_TABLES = frozenset({"django_session", "accounts_apitoken", "agent_agentquery"})


def enabled() -> bool:
    return settings.RESPONSE_CACHE


# --- the content generation ----------------------------------------------------------------------


def _seed() -> int:
    # Microseconds of the clock: above every earlier value unless a million writes a second went by.
    return time.time_ns() // 1000


def bump() -> None:
    """Retire every cached answer (called once a write commits)."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no counter (first use, or lost): a fresh seed is above every stored value
        cache.add(GENERATION_KEY, _seed(), None)


def generation() -> int:
    value = cache.get(GENERATION_KEY)
    return int(value) if value is not None else _start_generation()


def _start_generation() -> int:
    cache.add(GENERATION_KEY, _seed(), None)
    value = cache.get(GENERATION_KEY)
    return int(value) if value is not None else _seed()


# --- seeing every write --------------------------------------------------------------------------

_COMMENTS = re.compile(r"\s*(?:--[^\n]*(?:\n|$)|/\*.*?\*/)\s*", re.S)
_FIRST_WORD = re.compile(r"\s*([A-Za-z]+)")
# Statements that change no row (savepoints, session settings, plain reads).
_READS = frozenset(
    {"SELECT", "SHOW", "VALUES", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "START", "COMMIT", "END", "SET",
     "RESET", "PRAGMA", "FETCH", "CLOSE", "DEALLOCATE", "DECLARE", "LISTEN", "UNLISTEN"}
)  # fmt: skip
# Statements that may contain a write (a data-modifying WITH, EXPLAIN ANALYZE, ...): a write if they name one.
_MAYBE = frozenset({"WITH", "EXPLAIN"})
_WRITE_WORD = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE|REPLACE|TRUNCATE|COPY)\b", re.I)
_NAME = r'\s*(?:"((?:[^"]|"")+)"|`([^`]+)`|\[([^\]]+)\]|([A-Za-z_][\w$]*))'
_QUALIFIED = rf"(?:{_NAME}\s*\.)?{_NAME}"
_TARGET = {
    "INSERT": re.compile(rf"\s*INSERT\s+(?:OR\s+[A-Z]+\s+)?INTO{_QUALIFIED}", re.I),
    "REPLACE": re.compile(rf"\s*REPLACE\s+INTO{_QUALIFIED}", re.I),
    "UPDATE": re.compile(rf"\s*UPDATE\s+(?:OR\s+[A-Z]+\s+)?(?:ONLY\s+)?{_QUALIFIED}", re.I),
    "DELETE": re.compile(rf"\s*DELETE\s+FROM\s+(?:ONLY\s+)?{_QUALIFIED}", re.I),
}
_PREPARE = re.compile(r"\s*PREPARE\s+(\w+)\s*(?:\([^)]*\))?\s+AS\s+(.*)", re.I | re.S)
_EXECUTE = re.compile(r"\s*EXECUTE\s+(\w+)", re.I)
_COPY_FROM = re.compile(r"\bFROM\s+(?:STDIN|'|\")", re.I)


def _strip_comments(sql: str) -> str:
    while (found := _COMMENTS.match(sql)) and found.end():
        sql = sql[found.end() :]
    return sql


def _target(pattern: re.Pattern, sql: str) -> str | None:
    found = pattern.match(sql)
    if not found:
        return None
    table = next((g for g in found.groups()[4:] if g), None)  # the table's name (after any schema)
    return table.replace('""', '"') if table else None


def writes(sql: str, prepared: dict[str, bool] | None = None) -> bool:
    """Whether executing ``sql`` may change what a cached answer shows (unknown statements: yes)."""
    if not isinstance(sql, str):  # a composed statement (psycopg.sql): not read here, so a write
        return True
    verdict = _verdict(sql)
    return _writes(sql, prepared) if verdict is None else verdict


@functools.lru_cache(maxsize=512)
def _verdict(sql: str) -> bool | None:
    """``writes`` of a statement whose answer depends on its text alone (None: PREPARE and EXECUTE, which
    depend on what the connection prepared), remembered: the same statement texts come back with every
    request (a search's run to several kilobytes, read by the regular expressions each time: ~2% of its CPU)."""
    found = _FIRST_WORD.match(_strip_comments(sql).lstrip("( \t\r\n"))
    if found and found.group(1).upper() in ("PREPARE", "EXECUTE"):
        return None
    return _writes(sql, None)


def _writes(sql: str, prepared: dict[str, bool] | None) -> bool:
    sql = _strip_comments(sql).lstrip("( \t\r\n")  # "(SELECT ...) UNION ALL (SELECT ...)": a read
    if ";" in sql.rstrip().rstrip(";"):  # several statements: not read one by one, so a write
        return True
    found = _FIRST_WORD.match(sql)
    if not found:
        return bool(sql.strip())
    word = found.group(1).upper()
    if word in _READS:
        return False
    if word in _MAYBE:
        return bool(_WRITE_WORD.search(sql))
    if word in _TARGET:
        table = _target(_TARGET[word], sql)
        return table is None or table not in UNCACHED_TABLES
    if word == "COPY":  # COPY ... TO reads; COPY ... FROM writes (into a table named first)
        return bool(_COPY_FROM.search(sql))
    if word == "PREPARE" and (match := _PREPARE.match(sql)):
        result = writes(match.group(2), prepared)
        if prepared is not None:
            prepared[match.group(1).lower()] = result
        return False  # preparing runs nothing
    if word == "EXECUTE" and (match := _EXECUTE.match(sql)):
        return (prepared or {}).get(match.group(1).lower(), True)
    return True  # TRUNCATE, MERGE, DDL, CALL, DO, VACUUM, anything unknown


def _after_commit() -> None:
    bump()


def pending(connection) -> bool:
    """Whether ``connection``'s transaction has written without committing yet."""
    return any(func is _after_commit for _, func, _ in connection.run_on_commit)


def _note_write(connection) -> None:
    if connection.in_atomic_block:
        if not pending(connection):
            transaction.on_commit(_after_commit, using=connection.alias)
    else:
        bump()  # autocommit: the write is committed already


class _WriteWatcher:
    """An execute wrapper (``connection.execute_wrappers``) noting the writes of one connection."""

    def __init__(self, connection):
        self.connection = connection
        self.prepared: dict[str, bool] = {}

    def __call__(self, execute, sql, params, many, context):
        writing = writes(sql, self.prepared)
        try:
            return execute(sql, params, many, context)
        finally:
            if writing:  # after the statement (a failed one too: a bump too many costs nothing)
                _note_write(self.connection)


class _CopyWatch:
    """psycopg's ``cursor.copy()``, which the execute wrappers do not see, noted like a statement once
    the copy ends (the rows are in: committed in autocommit, else when the transaction commits)."""

    @contextmanager
    def copy(self, statement, *args, **kwargs):
        connection = getattr(self.connection, "_omh_django_connection", None)
        try:
            with super().copy(statement, *args, **kwargs) as copy:
                yield copy
        finally:
            if connection is not None and (not isinstance(statement, str) or writes(statement)):
                _note_write(connection)


_COPY_FACTORIES: dict[type, type] = {}


def watch(sender=None, connection=None, **kwargs) -> None:
    """Install the write watcher on a new database connection (the ``connection_created`` signal)."""
    if not any(isinstance(w, _WriteWatcher) for w in connection.execute_wrappers):
        connection.execute_wrappers.append(_WriteWatcher(connection))
    raw = connection.connection
    if connection.vendor == "postgresql" and raw is not None:
        base = raw.cursor_factory
        if not issubclass(base, _CopyWatch):
            if base not in _COPY_FACTORIES:
                _COPY_FACTORIES[base] = type(f"Watched{base.__name__}", (_CopyWatch, base), {})
            raw.cursor_factory = _COPY_FACTORIES[base]
        raw._omh_django_connection = connection


def install() -> None:
    """Watch every database connection of this process (CatalogConfig.ready)."""
    connection_created.connect(watch, dispatch_uid="catalog-response-cache-watch")
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            watch(connection=connection)


# --- reading and filling ---------------------------------------------------------------------------


def _dirty() -> bool:
    return any(pending(c) for c in connections.all(initialized_only=True))


def _query(request) -> str:
    pairs = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    return urlencode(sorted(pairs, key=lambda pair: pair[0]))  # stable: a name's values keep their order


class Slot:
    """One answer's place in the cache: its key and the generation it is computed under."""

    def __init__(self, key: str, generation: int, seconds: int):
        self.key, self.generation, self.seconds = key, generation, seconds

    def store(self, response, request) -> None:
        """Keep ``response`` to Django's ``request`` (rendered here if it is not yet) when it may be
        served again to the scope: a 200 without cookies, from a view that changed no session and
        wrote nothing."""
        if response.status_code != 200 or response.streaming or response.cookies or _dirty():
            return
        session = getattr(request, "session", None)
        if session is not None and session.modified:
            return
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        headers = [(name, response[name]) for name in KEPT_HEADERS if response.has_header(name)]
        cache.set(self.key, (self.generation, response.content, headers), self.seconds)


def lookup(request, *, user, variant: str = "", seconds: int | None = None) -> tuple[HttpResponse | None, Slot | None]:
    """(the cached answer, None) on a hit; (None, where to store the answer) on a miss; (None, None)
    when this request may not use the cache. ``request`` is Django's; ``variant`` names the
    negotiated format."""
    if not enabled() or request.method not in ("GET", "HEAD") or _dirty():
        return None, None
    scope = cache_scope(user)  # one small query on the grants for a signed-in user; none otherwise
    material = "\n".join(
        (
            request.scheme,
            request.get_host(),
            request.path,
            _query(request),
            variant,
            translation.get_language() or "",
            scope,
        )
    )
    key = f"response:{KEY_VERSION}:{hashlib.sha256(material.encode()).hexdigest()}"
    found = cache.get_many([GENERATION_KEY, key])
    current = found.get(GENERATION_KEY)
    current = int(current) if current is not None else _start_generation()
    entry = found.get(key)
    if entry is not None and entry[0] == current:
        _, content, headers = entry
        response = HttpResponse(content, status=200)
        for name, value in headers:
            response[name] = value
        return response, None
    return None, Slot(key, current, settings.RESPONSE_CACHE_SECONDS if seconds is None else seconds)


def _json(renderer) -> bool:
    # The JSON renderers only (ours is a subclass): never the browsable API's HTML, never another format.
    return isinstance(renderer, JSONRenderer) and renderer.media_type == "application/json"


class CachedResponseMixin:
    """For DRF views: a GET answered as JSON comes from the response cache when it holds it for the
    caller's scope, after authentication, permissions and throttles (``initial``); a miss is stored once
    rendered (``finalize_response``)."""

    response_cache_seconds: int | None = None  # None: RESPONSE_CACHE_SECONDS
    _response_slot: Slot | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not _json(request.accepted_renderer):
            return
        # What the answer's bytes depend on in the negotiated type: the renderer and its indent (other
        # parameters of the Accept header change nothing, so they make no entries of their own).
        renderer = request.accepted_renderer
        variant = f"{renderer.format}:{renderer.get_indent(request.accepted_media_type, {})}"
        hit, self._response_slot = lookup(
            request._request, user=request.user, variant=variant, seconds=self.response_cache_seconds
        )
        if hit is not None:  # served through the handler slot, so that finalize_response treats it as the view's
            self.get = self.head = lambda *args, **kwargs: hit

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._response_slot is not None:
            self._response_slot.store(response, request._request)
        return response
