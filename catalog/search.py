"""Search over models and datasets: repository-id matching fused with full-text rank (``keyword``),
plus vector similarity (``hybrid``), or vectors alone (``vector``).

One implementation for the API's ``?search=``, the pages and the Hub protocol's ``list_models(search=)``.
``apply(queryset, text, mode)`` takes a queryset already narrowed by ``visible_to`` and the active
filters and returns it narrowed to the matches, annotated with ``rank`` (higher first).

Matching
  * repository id (``owner/name``): exact > prefix > substring > fuzzy (one edit for short queries, two
    past eight characters), case-insensitive. Candidates come from trigram indexes: pg_trgm GIN indexes
    on PostgreSQL (catalog 0011), an FTS5 ``trigram`` table on SQLite (catalog 0014); the tiers and
    scores are computed here, the same on both engines.
  * full text (name, card, tasks, architecture; datasets also objective and domains): PostgreSQL's
    weighted ``tsvector`` (catalog 0004/0005) with ``ts_rank``; SQLite's FTS5 (porter stemming) with
    ``bm25``, kept by triggers (catalog 0014).

Bounded ranking
  Ranking every match of a common word costs as much as the matches. Only a bounded candidate set (the
  *head*: id candidates, the ``SEARCH_RANKED_CANDIDATES`` most downloaded full-text matches, the vector
  neighbours) is scored; every other match (the *tail*) has rank 0 and follows by id. Rank is a pure
  function of the row and the query, so keyset pages (catalog.keyset) return every match exactly once:
  the head is read through its ids, the tail through the id index.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.db.models.expressions import RawSQL
from rapidfuzz.distance import Levenshtein

MAX_QUERY = 200
MODES = ("keyword", "hybrid", "vector")
VECTOR_WEIGHT = (
    0.05  # of the cosine against the keyword score (tiers 1-4, full text up to 0.49): bench/search_quality.py
)
VECTOR_K = 100  # nearest neighbours of the whole catalogue a hybrid or vector search takes
WALK = 5000  # most downloaded rows a common word's full-text head is looked for among (PostgreSQL)
# the fuzzy tier walks this many times as far: sorting its matches re-reads each one's row to check its similarity
# (a typo of a common name's family: 12,000 matches, 100 ms), where the walk reads the downloads index alone
FUZZY_WALK_TIMES = 4
PROBE = 1000  # most downloaded rows read first: how many match decides between walking them and sorting matches
FEW_MATCHES = 1000  # SQLite: matches of an id fragment read through FTS5 and sorted, past which rows are walked
FEW = 5  # full-text matches below which a query of several words matches any of them
FUZZY_CANDIDATES = 100  # names sharing trigrams with a query that matched almost nothing, checked for typos


def apply(queryset: QuerySet, text: str, mode: str | None = None) -> QuerySet:
    text = " ".join((text or "").split())[:MAX_QUERY]
    if not text:
        return queryset
    mode = mode or settings.SEARCH_DEFAULT_MODE
    plan = ranking(queryset, text, mode)
    return plan.narrow(queryset)


# --- the plan: scored head, matching condition --------------------------------------------------


class HeadRank(Func):
    """``rank``: the head's scores by id (0 for the tail). Keyset pagination reads ``head`` to page the
    head through its ids and the tail through the id index, and ``complete`` (the head is every match: no
    tail to read) (catalog.keyset)."""

    output_field = FloatField()

    def __init__(self, scores: dict[int, float], complete: bool = False):
        self.head, self.complete = sorted(scores), complete
        if not scores:
            expression = Value(0.0, output_field=FloatField())
        elif connection.vendor == "postgresql":  # a jsonb lookup per row: cheap at any head size
            payload = json.dumps({str(pk): score for pk, score in scores.items()})
            expression = Func(
                Value(payload, output_field=TextField()),
                Cast(F("pk"), output_field=TextField()),
                arg_joiner="::jsonb ->> ",
                template="COALESCE((%(expressions)s)::float8, 0.0)",
                output_field=FloatField(),
            )
        else:  # SQLite: one CASE on the id, written out (ints and floats: a head of 1,000 compiles in ~1 ms,
            # where as many When() expressions took Django ~0.5 s)
            arms = " ".join(f"WHEN {int(pk)} THEN {float(score)!r}" for pk, score in scores.items())
            expression = Func(F("pk"), template=f"CASE %(expressions)s {arms} ELSE 0.0 END", output_field=FloatField())
        super().__init__(expression, function="", template="(%(expressions)s)")


class _AnyOf(Func):
    """``pk = ANY(%s)``: the ids as one array parameter (PostgreSQL)."""

    output_field = BooleanField()

    def __init__(self, ids: list[int]):
        super().__init__(F("pk"))
        self.ids = ids

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"{sql} = ANY(%s)", [*params, self.ids]


def ids_in(ids) -> Q:
    """The rows of these ids. On PostgreSQL one array parameter: an ``IN`` list of the head's hundreds of ids
    cost Django ~2 ms of Python per statement to prepare, and a search runs several (bench/README.md,
    "Search")."""
    ids = list(ids)
    return Q(_AnyOf(ids)) if connection.vendor == "postgresql" and ids else Q(pk__in=ids)


@dataclass
class Ranking:
    scores: dict[int, float]  # the head: id -> score (> 0)
    condition: Q | None  # the rest of the matches (None: the head is every match)

    def narrow(self, queryset: QuerySet) -> QuerySet:
        matches = ids_in(self.scores)
        if self.condition is not None:
            matches |= self.condition
        return queryset.filter(matches).annotate(rank=HeadRank(self.scores, complete=self.condition is None))


def ranking(queryset: QuerySet, text: str, mode: str) -> Ranking:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if mode == "vector":
        near = nearest(queryset, text)
        return Ranking({pk: 1.0 + score for pk, score in near}, None)  # cosine in [-1, 1] -> (0, 2]
    if mode == "keyword":
        by_id, by_text, condition = keyword_matches(queryset, text)
        return Ranking(keyword_scores(by_id, by_text), condition)
    near = dict(_neighbours(queryset.model, text))
    by_id, by_text, condition, near = _keyword_matches(queryset, text, near)
    return Ranking(hybrid_scores(keyword_scores(by_id, by_text), near), condition)


def keyword_matches(queryset: QuerySet, text: str) -> tuple[dict[int, float], dict[int, float], Q | None]:
    """(id scores of the head, full-text scores of the head, the condition of every match; None when the
    head already holds every match, so that no page looks for more: a rare word's tail would be a walk of
    the whole id index that finds nothing)."""
    by_id, by_text, condition, _ = _keyword_matches(queryset, text, {})
    return by_id, by_text, condition


def _keyword_matches(
    queryset: QuerySet, text: str, near: dict[int, float]
) -> tuple[dict[int, float], dict[int, float], Q | None, dict[int, float]]:
    """``keyword_matches``, and the vector neighbours ``near`` the caller may see: which of them and of the
    id candidates the caller may see is read in the full-text statement on PostgreSQL (one statement less)."""
    model_cls, bound = queryset.model, settings.SEARCH_RANKED_CANDIDATES
    candidates = id_candidates(model_cls, text, bound)
    # every query behind the id tiers reads up to ``bound`` rows: fewer substring matches than that are all
    ids_complete = len(text) >= 3 and sum(score >= 2 for score in candidates.values()) < bound
    wanted = {**near, **candidates}
    if "/" in text and " " not in text:  # a repository id ("owner/na..."): matched as one
        allowed = _restrict(queryset, wanted)
        by_id = {pk: score for pk, score in candidates.items() if pk in allowed}
        near = {pk: score for pk, score in near.items() if pk in allowed}
        return by_id, {}, None if ids_complete else id_condition(model_cls, text), near
    by_text, text_matches, allowed = _full_text_and_visible(queryset, text, bound, wanted)
    by_id = {pk: score for pk, score in candidates.items() if pk in allowed}
    near = {pk: score for pk, score in near.items() if pk in allowed}
    if ids_complete and len(by_text) < bound:
        return by_id, by_text, None, near
    return by_id, by_text, text_matches | id_condition(model_cls, text), near


def nearest(queryset: QuerySet, text: str, depth: int = VECTOR_K) -> list[tuple[int, float]]:
    """The ``depth`` nearest assets of the whole catalogue, then those of ``queryset`` among them: which
    assets match never depends on how the queryset is split (facet counts add public and private parts)."""
    near = _neighbours(queryset.model, text, depth)
    allowed = _restrict(queryset, dict(near))
    return [(pk, score) for pk, score in near if pk in allowed]


def _neighbours(model_cls, text: str, depth: int = VECTOR_K) -> list[tuple[int, float]]:
    """The ``depth`` nearest assets of the whole catalogue, nearest first (visible or not)."""
    from catalog import semantic

    return semantic.vector_index(model_cls.kind).nearest(semantic.encode([text])[0], depth)


def keyword_scores(by_id: dict[int, float], by_text: dict[int, float]) -> dict[int, float]:
    """Id tier first (exact 4 > prefix 3 > substring 2 > fuzzy 1, plus up to 0.5 within it), then the
    full-text rank (scaled into [0, 0.49])."""
    scores = {}
    for pk in by_id.keys() | by_text.keys():
        scores[pk] = round(by_id.get(pk, 0.0) + 0.49 * by_text.get(pk, 0.0), 9) or 1e-9
    return scores


def hybrid_scores(
    keyword: dict[int, float], cosine: dict[int, float], weight: float = VECTOR_WEIGHT
) -> dict[int, float]:
    """The keyword score plus ``weight`` times the cosine similarity of the vector neighbours: the id
    tiers keep their order, meaning reorders within a tier and brings in what no word matched. The weight
    and the neighbours' depth are chosen by cross-validation on the judged set (bench/search_quality.py);
    reciprocal-rank fusion of the id, full-text and vector lists scored below keyword alone there."""
    scores = {
        pk: keyword.get(pk, 0.0) + weight * max(cosine.get(pk, 0.0), 0.0) for pk in keyword.keys() | cosine.keys()
    }
    return {pk: round(score, 9) or 1e-9 for pk, score in scores.items()}


def _restrict(queryset: QuerySet, scores: dict[int, float]) -> dict[int, float]:
    """The candidates the caller may see under the active filters (one query by primary key)."""
    if not scores:
        return {}
    allowed = set(queryset.order_by().filter(ids_in(scores)).values_list("pk", flat=True))  # a set: no sort
    return {pk: score for pk, score in scores.items() if pk in allowed}


# --- repository ids -----------------------------------------------------------------------------


def id_score(query: str, owner: str, name: str) -> float:
    """0 (no match) or tier + closeness: exact 4, prefix 3, substring 2, fuzzy 1 (within one edit, two
    for queries past eight characters), plus up to 0.5 for a name close to the query's length."""
    q, name, full = query.lower(), name.lower(), f"{owner}/{name}".lower()
    closeness = 0.5 * min(1.0, len(q) / max(len(name), 1))
    if q in (name, full):
        return 4.0 + closeness
    if name.startswith(q) or full.startswith(q):
        return 3.0 + closeness
    if q in full:
        return 2.0 + closeness
    allowed = _edits_allowed(q)
    distance = _fuzzy_distance(q, name, allowed)
    if len(q) >= 4 and distance <= allowed:  # (distance > allowed: no match)
        return 1.0 + 0.5 * (1 - distance / (allowed + 1)) * (closeness * 2)
    return 0.0


def _edits_allowed(query: str) -> int:
    return 1 if len(query) <= 8 else 2


def _may_be_a_typo(text: str, found: int) -> bool:
    """Whether fuzzy id candidates are looked for: when fewer than 10 ids matched, for a query of 4
    characters or more that may be a mistyped name, not a description: a query holding more spaces than the
    edits allowed can only be within them of a name holding spaces as well (the look-up, one trigram-index
    scan, costs ~27 ms for a sentence of 4 words at 1,000,000 models; bench/README.md, "Search")."""
    return len(text) >= 4 and found < 10 and text.count(" ") <= _edits_allowed(text)


def _fuzzy_distance(q: str, name: str, allowed: int) -> int:
    """The smallest edit distance between the query and the name, a prefix of it or a run of its
    ``-_.`` separated parts (a typo in ``mobilnet`` still finds ``mobilenet_v3``); only pieces within
    ``allowed`` characters of the query's length are compared."""
    parts = [part for part in name.replace("_", "-").replace(".", "-").split("-") if part]
    pieces = {name, *(name[:length] for length in range(len(q) - allowed, len(q) + allowed + 1) if length > 0)}
    pieces |= {"-".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, min(len(parts), i + 3) + 1)}
    close = [piece for piece in pieces if abs(len(piece) - len(q)) <= allowed]
    return min((_levenshtein(q, piece, allowed) for piece in close), default=allowed + 1)


def _levenshtein(a: str, b: str, limit: int) -> int:
    """The edit distance of two strings, or ``limit + 1`` past the limit (rapidfuzz's C++: the fuzzy tier
    compares each candidate name's pieces with the query, ~7 ms of Python for a typo's 100 candidates)."""
    return Levenshtein.distance(a, b, score_cutoff=limit)


def id_condition(model_cls, text: str) -> Q:
    """Every asset whose ``owner/name`` contains the text (the tail of an id search)."""
    if "/" in text:
        left, _, right = text.partition("/")
        return Q(owner__username__iendswith=left, name__istartswith=right)
    if connection.vendor == "sqlite" and len(text) >= 3:
        table = f"{model_cls._meta.db_table}_fts_id"
        return Q(pk__in=RawSQL(f"SELECT rowid FROM {table} WHERE repo_id LIKE %s{_escape(text)}", [_like(text)]))
    # one semi-join of two index lookups (trigram indexes on names and on usernames, catalog 0011); an OR of
    # a name and a joined username is a scan of the whole table
    names = model_cls.objects.order_by().filter(name__icontains=text).values("pk")
    return Q(
        pk__in=names.union(model_cls.objects.order_by().filter(owner__username__icontains=text).values("pk"), all=True)
    )


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _escape(text: str) -> str:
    """The ESCAPE clause of a LIKE on ``_like(text)``, only when the text has something to escape: FTS5's
    trigram index serves no LIKE with an ESCAPE clause, which then scans the whole table."""
    return " ESCAPE '\\'" if any(c in text for c in "\\%_") else ""


def id_candidates(model_cls, text: str, bound: int) -> dict[int, float]:
    """Id -> id score for up to ~``bound`` assets whose ``owner/name`` matches the text closely: exact and
    prefix matches first, then substrings, then fuzzy ones (only when few substrings match)."""
    rows = _id_rows(model_cls, text, bound)
    scores = {pk: id_score(text, owner, name) for pk, owner, name in rows}
    return {pk: score for pk, score in scores.items() if score > 0}


def _id_rows(model_cls, text: str, bound: int) -> list[tuple[int, str, str]]:
    """Up to ``bound`` candidates per tier, each tier's most downloaded matches (ties by id): which rows come
    back never depends on the plan or the table's physical order, so two identical requests, and the pages
    of one keyset walk, rank the same head."""
    if connection.vendor == "sqlite":
        return list({row[0]: row for row in _sqlite_id_rows(model_cls, text, bound)}.values())
    name, owners = "UPPER(name::text)", "owner_id IN (SELECT u.id FROM accounts_user u WHERE UPPER(u.username::text)"
    if "/" in text:  # a repository id: an owner ending with the left part, a name starting with the right one
        left, _, right = text.partition("/")
        tier = (f"{owners} LIKE UPPER(%s)) AND {name} LIKE UPPER(%s)", ["%" + _like(left)[1:-1], _like(right)[1:]])
        return _ranked_rows(model_cls, [tier], [], bound)
    first = [(f"{name} = UPPER(%s)", [text]), (f"{name} LIKE UPPER(%s)", [_like(text)[1:]])]
    # substrings of the name and of the owner: only when the exact names and prefixes are fewer than the bound
    then = [(f"{name} LIKE UPPER(%s)", [_like(text)]), (f"{owners} LIKE UPPER(%s))", [_like(text)])]
    rows = _ranked_rows(model_cls, first, then if len(text) >= 3 else [], bound)
    if _may_be_a_typo(text, len({row[0] for row in rows})):
        # names sharing trigrams with the text (pg_trgm's ``<%``, served by the 0011 GIN index; its threshold,
        # 0.3, where the default 0.6 misses one-edit typos, is set as the connection opens: settings.DATABASES)
        fuzzy = [(f"UPPER(%s) <%% {name}", [text])]
        rows += _ranked_rows(model_cls, fuzzy, [], FUZZY_CANDIDATES, walk=WALK * FUZZY_WALK_TIMES)
    return list({row[0]: row for row in rows}.values())


Condition = tuple[str, list]  # SQL over the asset table's columns, its parameters


def _ranked_rows(
    model_cls, first: list[Condition], then: list[Condition], bound: int, walk: int | None = None
) -> list[tuple[int, str, str]]:
    """``(pk, owner, name)`` of the ``bound`` most downloaded matches of each condition, in one statement:
    those of ``then`` only when those of ``first`` are fewer than ``bound`` together. (The conditions are
    written out: compiling a queryset per tier and per path cost Django more than PostgreSQL spent.)"""
    table = model_cls._meta.db_table
    ctes, params = most_downloaded_ctes(table, [*first, *then], bound, walk=walk)
    selects, select_params = [], []
    for i in range(len(first) + len(then)):
        selects.append(f"SELECT pk FROM t{i}" + (" WHERE (SELECT n FROM early) < %s" if i >= len(first) else ""))
        select_params += [bound] if i >= len(first) else []
    if then:
        union = " UNION ".join(f"SELECT pk FROM t{i}" for i in range(len(first)))
        ctes += f", early AS MATERIALIZED (SELECT COUNT(*) AS n FROM ({union}) AS e)"
    sql = (
        f"WITH {ctes} SELECT a.id, u.username, a.name FROM ({' UNION ALL '.join(selects)}) AS c "
        f"JOIN {table} a ON a.id = c.pk JOIN accounts_user u ON u.id = a.owner_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params + select_params)
        return [tuple(row) for row in cursor.fetchall()]


def most_downloaded_ctes(
    table: str, conditions: list[Condition], bound: int, source: Condition | None = None, walk: int | None = None
) -> tuple[str, list]:
    """Common table expressions ``t0``, ``t1``, … (column ``pk``): the ids of the ``bound`` most downloaded
    rows of ``table`` matching each condition, ties by id (PostgreSQL), among ``source`` (``FROM … WHERE …``
    over the table, ``rows_of(queryset)``; every row by default).

    The ``PROBE`` most downloaded rows are read first, once for every condition (the top of the downloads
    index: the same pages for every query, cached): when enough of them match a condition for a walk of the
    index to meet ``bound`` matches within ``walk`` rows (``WALK`` by default; a common word), the probe's
    matches are taken and the index is walked on from the probe's last row until it does (the probed rows
    are not read twice);
    otherwise, or when the walk falls short, every match is read through the condition's own index (GIN
    trigram or full text, btree prefix) and sorted (a rare word: few matches). The planner's estimate plays
    no part: both paths return the same rows, and one-time filters run one of them. The walk reads the index
    alone when the conditions are on the columns it carries (name, owner: catalog 0027)."""
    rows, source_params = source or (f"FROM {table} WHERE TRUE", [])
    order = f"ORDER BY {table}.downloads DESC, {table}.id DESC LIMIT %s"
    matched = ", ".join(f"({condition}) AS m{i}" for i, (condition, _) in enumerate(conditions))
    found = ", ".join(
        f"COUNT(*) FILTER (WHERE m{i}) AS n{i}, array_agg(pk ORDER BY downloads DESC, pk DESC) FILTER (WHERE m{i}) "
        f"AS ids{i}"
        for i in range(len(conditions))
    )
    ctes = [
        f"probed AS MATERIALIZED (SELECT {table}.id AS pk, {table}.downloads, {matched} {rows} {order})",
        f"probe AS MATERIALIZED (SELECT {found} FROM probed)",
        "last AS MATERIALIZED (SELECT downloads, pk FROM probed ORDER BY downloads, pk LIMIT 1)",
    ]
    params = [*(p for _, condition_params in conditions for p in condition_params), *source_params, PROBE]
    reach = walk or WALK
    common = max(1, -(-bound * PROBE // reach))  # matches among the probed rows for the walk to meet ``bound``
    # the walk goes on where the probe stopped (the rows after its last one), for as many matches as it lacked
    after = f"({table}.downloads, {table}.id) < ((SELECT downloads FROM last), (SELECT pk FROM last))"
    for i, (condition, condition_params) in enumerate(conditions):
        walk = f"SELECT {table}.id, {table}.downloads, ({condition}) {rows} AND {after} {order}"
        # every match through the condition's own index, then sorted: ``+ likes * 0`` is a key the downloads
        # index cannot give (it carries the names: the planner would scan all of it, index-only, checking each)
        rest = (
            f"SELECT {table}.id {rows} AND ({condition}) "
            f"ORDER BY {table}.downloads + {table}.likes * 0 DESC, {table}.id DESC LIMIT %s"
        )
        walked = f"(SELECT n{i} FROM probe) >= %s"
        ctes.append(
            f"t{i}_w AS MATERIALIZED (SELECT unnest(ids{i}[1:%s]) AS pk FROM probe WHERE {walked} "
            f"UNION ALL (SELECT w.pk FROM ({walk}) AS w (pk, downloads, matched) "
            f"WHERE w.matched AND {walked} AND (SELECT n{i} FROM probe) < %s "
            f"ORDER BY w.downloads DESC, w.pk DESC LIMIT GREATEST(%s - (SELECT n{i} FROM probe), 0))), "
            f"t{i} AS MATERIALIZED (SELECT pk FROM t{i}_w UNION ALL SELECT * FROM ({rest}) AS r (pk) "
            f"WHERE (SELECT COUNT(*) FROM t{i}_w) < %s)"
        )
        params += [bound, common, *condition_params, *source_params, max(reach - PROBE, 0), common, bound, bound]
        params += [*source_params, *condition_params, bound, bound]
    return ", ".join(ctes), params


def rows_of(queryset: QuerySet) -> Condition:
    """``FROM … WHERE …`` of a queryset's rows (its filters: visibility, facets), for ``most_downloaded_ctes``.
    A queryset whose statement is not a plain ``SELECT id FROM table …`` (DISTINCT, say) is read as
    ``id IN (its ids)``: right, but its walk checks every row against the set."""
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    sql, params = _sql(queryset.order_by().values_list("pk"))
    # (Django names the column: ``SELECT "t"."id" AS "pk" FROM "t" …``; without the alias matched here every
    # walk joined the table to itself by primary key, 2.5 times the pages read: bench/README.md, "Search")
    head = re.match(
        rf"SELECT {re.escape(table)}\.{re.escape(connection.ops.quote_name(queryset.model._meta.pk.column))}"
        rf'(?: AS "\w+")? FROM {re.escape(table)}(?= |$)',
        sql,
    )
    rest = sql[head.end() :] if head else ""
    if not head or " JOIN " in rest.partition(" WHERE ")[0]:
        return f"FROM {table} WHERE {table}.id IN ({sql})", params
    where = rest.partition(" WHERE ")[2] or "TRUE"
    return f"FROM {table} WHERE ({where})", params


def _sqlite_id_rows(model_cls, text: str, bound: int) -> list[tuple[int, str, str]]:
    """FTS5 trigram table (catalog 0014): the ``bound`` most downloaded names starting with the text, and as
    many ids containing it (``owner/name``), in one statement: up to ``FEW_MATCHES`` matches read through the
    trigram table and, when that is all of them, sorted; otherwise a walk of the downloads index. Fuzzy
    candidates share trigrams with the text: the closest first (bm25 over the trigrams), then the most
    downloaded, ties by id."""
    table = model_cls._meta.db_table
    if len(text) < 3:  # below a trigram: a prefix of the name or of the owner, by a walk of the downloads index
        condition = Q(name__istartswith=text) | Q(owner__username__istartswith=text)
        ranked = model_cls.objects.filter(condition).order_by("-downloads", "-id")
        return list(ranked.values_list("pk", "owner__username", "name")[:bound])
    fts, escape = f"{table}_fts_id", _escape(text)
    tiers = [("%/" + _like(text)[1:], "a.name LIKE %s ESCAPE '\\'", _like(text)[1:])]
    tiers.append((_like(text), "(u.username || '/' || a.name) LIKE %s ESCAPE '\\'", _like(text)))
    parts, params = [], []
    for i, (pattern, walked, walk_pattern) in enumerate(tiers):
        # (SQLite evaluates a constant WHERE term per row, but a LIMIT once: LIMIT 0 reads nothing)
        sorted_limit = f"LIMIT CASE WHEN (SELECT COUNT(*) FROM f{i}) < %s THEN %s ELSE 0 END"
        walk_limit = f"LIMIT CASE WHEN (SELECT COUNT(*) FROM f{i}) >= %s THEN %s ELSE 0 END"
        parts.append(
            (
                f"f{i} AS MATERIALIZED (SELECT rowid AS pk FROM {fts} WHERE repo_id LIKE %s{escape} LIMIT %s)",
                f"SELECT * FROM (SELECT a.id, a.downloads FROM f{i} JOIN {table} a ON a.id = f{i}.pk "
                f"ORDER BY a.downloads DESC, a.id DESC {sorted_limit}) UNION ALL "
                f"SELECT * FROM (SELECT a.id, a.downloads FROM {table} a JOIN accounts_user u ON u.id = a.owner_id "
                f"WHERE {walked} ORDER BY a.downloads DESC, a.id DESC {walk_limit})",
            )
        )
        params.append(([pattern, FEW_MATCHES], [FEW_MATCHES, bound, walk_pattern, FEW_MATCHES, bound]))
    sql = (
        f"WITH {', '.join(cte for cte, _ in parts)} SELECT c.id, u.username, a.name FROM "
        f"({' UNION ALL '.join(select for _, select in parts)}) AS c JOIN {table} a ON a.id = c.id "
        "JOIN accounts_user u ON u.id = a.owner_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [p for cte, _ in params for p in cte] + [p for _, select in params for p in select])
        rows = [tuple(row) for row in cursor.fetchall()]
        if "/" not in text and _may_be_a_typo(text, len({row[0] for row in rows})):  # (an id matches as one)
            lowered = text.lower()
            grams = {lowered[i : i + 3] for i in range(len(lowered) - 2)}
            match = " OR ".join('"' + gram.replace('"', '""') + '"' for gram in sorted(grams))
            cursor.execute(  # (CROSS JOIN: SQLite reads the FTS5 matches first, then each one's row)
                f"SELECT f.rowid, f.repo_id FROM {fts} f CROSS JOIN {table} a ON a.id = f.rowid WHERE {fts} MATCH %s "
                "ORDER BY f.rank, a.downloads DESC, a.id DESC LIMIT %s",
                [f"repo_id : ({match})", FUZZY_CANDIDATES],
            )
            rows += [(pk, *repo_id.split("/", 1)) for pk, repo_id in cursor.fetchall()]
    return rows


# --- full text ----------------------------------------------------------------------------------


def full_text_candidates(queryset: QuerySet, text: str, bound: int) -> tuple[dict[int, float], Q]:
    """(id -> text score in [0, 1) for up to ``bound`` matches, the condition of all matches).

    Every word must match; when that leaves fewer than ``FEW`` matches among the candidates of a query of
    several words (a description typed as a sentence), any word may, ranked by how many and how rare."""
    scores, condition, _ = _full_text_and_visible(queryset, text, bound, {})
    return scores, condition


def _full_text_and_visible(
    queryset: QuerySet, text: str, bound: int, wanted: dict[int, float]
) -> tuple[dict[int, float], Q, set[int]]:
    """``full_text_candidates``, and which of the ids ``wanted`` are rows of ``queryset`` (``_restrict``): on
    PostgreSQL read in the same statement."""
    words = _words(text)
    try:
        if connection.vendor == "postgresql" and words:
            return _postgres_full_text(queryset, words, bound, list(wanted))
        visible = set(_restrict(queryset, wanted))
        if not words:
            return {}, Q(pk__in=[]), visible
        scores, condition = _sqlite_full_text(queryset, words, bound, every_word=True)
        if len(scores) < FEW and len(words) > 1:
            scores, condition = _sqlite_full_text(queryset, words, bound, every_word=False)
    except EmptyResultSet:  # a queryset that can match nothing (``pk__in=[]``: no private asset to count), whose
        return {}, Q(pk__in=[]), set()  # SQL is compiled by hand here; Django's evaluation would return no rows
    return scores, condition, visible


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in text.lower()).split()[:16]


def _postgres_full_text(queryset: QuerySet, words: list[str], bound: int, wanted: list[int]) -> tuple:
    """One statement: the head, the ``bound`` most downloaded matches of every word, and its ``ts_rank``;
    when fewer than ``FEW`` match every word of several, the ``bound`` most downloaded matches of each word
    instead (a rare word's matches are then all ranked, not only those among the most downloaded of every
    match, which for a sentence holding "model" is most of the catalogue), ranked against any word; and
    which of the ids ``wanted`` are rows of ``queryset``."""
    from django.contrib.postgres.search import SearchQuery

    table = connection.ops.quote_name(queryset.model._meta.db_table)
    every, either = " & ".join(words), " | ".join(words)
    query = "(to_tsquery('simple'::regconfig, %s) || to_tsquery('english'::regconfig, %s))"
    word_query = "(plainto_tsquery('simple'::regconfig, %s) || plainto_tsquery('english'::regconfig, %s))"
    conditions = [(f"{table}.search_vector @@ {query}", [every, every])]
    if len(words) > 1:
        conditions += [(f"{table}.search_vector @@ {word_query}", [word, word]) for word in words]
    source = rows_of(queryset)
    ctes, params = most_downloaded_ctes(table, conditions, bound, source)
    few = f"(SELECT COUNT(*) FROM t0) < {int(FEW)}"  # (the words' heads are read only then: one-time filters)
    heads = ["SELECT pk FROM t0", *(f"SELECT pk FROM t{i} WHERE {few}" for i in range(1, len(conditions)))]
    # normalization 1: divided by 1 + log(the document's length), as bm25 discounts long texts on SQLite
    sql = (
        f"WITH {ctes} SELECT id, {few}, CASE WHEN {few} THEN ts_rank(search_vector, {query}, 1) "
        f"ELSE ts_rank(search_vector, {query}, 1) END FROM {table} WHERE id IN ({' UNION ALL '.join(heads)}) "
        f"UNION ALL SELECT {table}.id, NULL, NULL {source[0]} AND {table}.id = ANY(%s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, either, either, every, every, *source[1], wanted])
        rows = cursor.fetchall()
    head = [(pk, fewer, value) for pk, fewer, value in rows if fewer is not None]
    # any word matched when several were asked for and fewer than ``FEW`` assets had them all (none: nothing did)
    any_word = len(words) > 1 and (head[0][1] if head else True)
    raw = either if any_word else every
    condition = Q(
        search_vector=SearchQuery(raw, config="simple", search_type="raw")
        | SearchQuery(raw, config="english", search_type="raw")
    )
    visible = {pk for pk, fewer, _ in rows if fewer is None}
    return {pk: value / (1.0 + value) for pk, _, value in head}, condition, visible


def _sql(queryset: QuerySet) -> tuple[str, list]:
    sql, params = queryset.query.get_compiler(connection=connection).as_sql()
    return sql, list(params)


def _sqlite_full_text(queryset: QuerySet, words: list[str], bound: int, every_word: bool) -> tuple[dict, Q]:
    """FTS5 (catalog 0014): the head is chosen as on PostgreSQL, the ``bound`` most downloaded matches the
    caller may see (of each word, when any may match), and only those are scored with bm25 (the name weighs
    10, the rest 1); ordering every match by bm25 would score all of them, as many as a common word has."""
    table = f"{queryset.model._meta.db_table}_fts_words"
    expression = (" AND " if every_word else " OR ").join(f'"{word}"' for word in words)
    select = f"SELECT rowid FROM {table} WHERE {table} MATCH %s"
    matches = RawSQL(select, [expression])
    per_word = [Q(pk__in=matches)] if every_word else [Q(pk__in=RawSQL(select, [f'"{word}"'])) for word in words]
    if every_word:
        ranked = queryset.filter(per_word[0]).order_by("-downloads", "-id").values_list("pk", flat=True)[:bound]
        head = list(ranked)
    else:
        # one statement: the ``bound`` most downloaded matches of each word together (no LIMIT in a compound
        # statement's arm, but in a subquery), as on PostgreSQL (``_postgres_full_text``)
        ordered = queryset.order_by("-downloads", "-id")
        arms = [_sql(ordered.filter(condition).values_list("pk", flat=True)[:bound]) for condition in per_word]
        with connection.cursor() as cursor:
            cursor.execute(
                " UNION ALL ".join(f"SELECT * FROM ({sql})" for sql, _ in arms), [p for _, ps in arms for p in ps]
            )
            head = list(dict.fromkeys(pk for (pk,) in cursor.fetchall()))
    if not head:
        return {}, Q(pk__in=matches)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rowid, -bm25({table}, 10.0, 1.0) FROM {table} WHERE {table} MATCH %s "
            f"AND +rowid IN ({', '.join(['%s'] * len(head))})",  # +: filtered as FTS5 returns the matches, in one
            # pass (a plain rowid IN is handed to FTS5 as one lookup per id: 0.2 s for 500 at 100,000 models)
            [expression, *head],
        )
        scores = {pk: max(value, 0.0) / (1.0 + max(value, 0.0)) for pk, value in cursor.fetchall()}
    return scores, Q(pk__in=matches)


# --- type-ahead -----------------------------------------------------------------------------------

SUGGEST_LIMIT = 10
SUGGEST_CANDIDATES = 200


def suggest(user, text: str, limit: int = SUGGEST_LIMIT) -> dict[str, list[dict]]:
    """The best ``limit`` models, datasets and users for what has been typed so far: id matches only
    (exact > prefix > substring), popular first within a tier, among what ``user`` may see. Users are
    listed only when they own something ``user`` may see (a private account is not revealed)."""
    from accounts.models import User
    from catalog.models import Dataset, MLModel

    text = " ".join((text or "").split())[:MAX_QUERY]
    found: dict[str, list[dict]] = {"models": [], "datasets": [], "users": []}
    if not text:
        return found
    for plural, model_cls in (("models", MLModel), ("datasets", Dataset)):
        rows = _suggest_rows(model_cls.objects.visible_to(user).order_by(), model_cls, text, limit)
        ranked = sorted(
            ((id_score(text, owner, name), downloads or 0, pk, owner, name) for pk, owner, name, downloads in rows),
            key=lambda row: (-int(row[0]), -row[1], -row[0], -row[2]),
        )
        found[plural] = [{"id": f"{owner}/{name}", "kind": model_cls.kind} for _, _, _, owner, name in ranked[:limit]]
    owners = User.objects.filter(is_active=True, username__istartswith=text).order_by("username")
    seen = Exists(MLModel.objects.visible_to(user).filter(owner=OuterRef("pk"))) | Exists(
        Dataset.objects.visible_to(user).filter(owner=OuterRef("pk"))
    )
    found["users"] = [{"username": name} for name in owners.filter(seen).values_list("username", flat=True)[:limit]]
    return found


def _suggest_rows(visible: QuerySet, model_cls, text: str, limit: int) -> list[tuple[int, str, str, int]]:
    """The candidates that can reach the top ``limit``: the most downloaded exact names and names starting
    with the text, then, when those are fewer than ``limit``, other ids containing it. On PostgreSQL each
    part is a range of an index (the prefix btree of catalog 0023 or the downloads index, whichever the
    planner finds shorter; the trigram index for substrings), the first two read in one statement."""
    fields = ("pk", "owner__username", "name", "downloads")
    prefix = visible.filter(name__istartswith=text).values_list(*fields)
    if connection.vendor == "postgresql":
        exact = visible.filter(name__iexact=text).order_by("-downloads", "-id").values_list(*fields)[:limit]
        rows = list(exact.union(prefix.order_by("-downloads", "-id")[:limit], all=True))
    else:  # (no LIMIT inside a compound statement) exact names sorted first among the prefix matches
        first = Case(When(name__iexact=text, then=Value(0)), default=Value(1))
        rows = list(prefix.order_by(first, "-downloads", "-id")[:limit])
    if len(text) >= 3 and len({row[0] for row in rows}) < limit:
        rows += visible.filter(id_condition(model_cls, text)).values_list(*fields)[:SUGGEST_CANDIDATES]
    return list({row[0]: row for row in rows}.values())
