"""Compliance analysis along lineage (the ModelGo idea, over our lineage and model–dataset links).

``load_graph`` reads everything the analysis of some models needs — the models, all their
ancestors, every lineage edge between them, the datasets they were trained or fine-tuned on, and
the licence terms of all of these — in ONE recursive query (or, for the whole catalogue, one plain
query). ``analyse`` is pure: it walks the in-memory graph and returns findings and verdicts that
refer to assets by kind and id. ``present`` turns a stored result into text for one viewer, naming
only the assets that viewer may see.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field

from django.db import connection

from licensing.knowledge import default_reuse
from licensing.models import LicenseCategory as Cat
from licensing.models import Relicensing, Reuse, Severity

PURPOSES = ("commercial", "research", "redistribution")
# Most to least permissive: an OR resolves to the first the user may choose, an AND to the last.
CATEGORY_RANK = [
    "public_domain",
    "permissive",
    "weak_copyleft",
    "copyleft",
    "use_restricted",
    "no_derivatives",
    "non_commercial",
    "proprietary",
    "unknown",
]
ANSWER_RANK = {"yes": 0, "conditional": 1, "unclear": 2, "no": 3}
REUSE_RANK = [Reuse.FORBIDDEN, Reuse.UNSHARED, Reuse.UNDEFINED, Reuse.DERIVATIVE, Reuse.COPY, Reuse.INDEPENDENT]
TRAINING_ROLES = ("trained_on", "fine_tuned_on")
HIDDEN_NAME = "a private upstream asset"

CODES = {
    "relicensed-derivative": "A derivative of an agreement or proprietary licence is declared under another licence.",
    "copyleft-not-preserved": "A copyleft (share-alike) work upstream, but this model is not under the same licence.",
    "non-commercial-upstream": "A non-commercial model or dataset upstream of a licence that allows commercial use.",
    "use-restrictions-not-propagated": "Use-based restrictions upstream (OpenRAIL), none in this model's licence.",
    "missing-license": "The model, an ancestor or a training dataset declares no licence.",
    "unknown-license": "A licence string that matches no known licence, or a licence whose terms are unknown.",
    "attribution-required": "An upstream licence requires notices, the licence text or credit to be kept.",
    "incompatible-merge": "Merged parents whose terms cannot both be honoured.",
    "use-restrictions-apply": "Upstream use restrictions (acceptable-use policy) bind every user of this model.",
    "reuse-not-permitted": "The upstream licence forbids this kind of reuse.",
    "derivative-not-shareable": (
        "A no-derivatives licence upstream: this derived model may be made and used, not shared."
    ),
    "successor-licence": "Released under a later version of the upstream licence's family; the earlier terms still "
    "govern the upstream material.",
    "licence-choice": "A licence expression offers a choice (A OR B): the analysis takes the most permissive "
    "choice that satisfies the terms or the purpose, and says which.",
}
MAX_CHOICES = 16  # an expression offering more alternatives than this is read by its resolved licence only


@dataclass(frozen=True, slots=True)
class Terms:
    id: int
    key: str
    spdx_id: str
    name: str
    category: str
    is_agreement: bool
    commercial_use: bool | None
    redistribution: bool | None
    relicensing: str
    share_alike: bool
    attribution: bool | None
    use_restrictions: bool | None
    reuse: dict
    compatible: tuple[str, ...]
    successors: tuple[str, ...]  # later versions of the family a derivative may be released under
    is_known: bool  # the terms are known (the category is not "unknown")
    keys: tuple[str, ...] = ()  # the licences combined by AND into these terms (``combine``); () for one licence

    @property
    def label(self) -> str:
        if self.keys:
            return self.name
        return self.spdx_id if self.spdx_id and not self.spdx_id.startswith("LicenseRef-") else self.name

    @property
    def all_keys(self) -> tuple[str, ...]:
        return self.keys or (self.key,)

    def carries(self, upstream: Terms) -> bool:
        """These terms include ``upstream``'s licence or one it names as compatible (a derivative may use it)."""
        mine = {*self.all_keys, *(k.lower() for k in self.spdx_id.split(" AND ") if k)}
        return upstream.key in mine or bool(mine & set(upstream.compatible))

    @property
    def keeps_own_terms(self) -> bool:
        """Derivatives must stay under exactly this licence (agreements, proprietary, copyleft)."""
        return self.relicensing == Relicensing.SAME

    def outcome(self, relation: str) -> str:
        return self.reuse.get(relation) or default_reuse(self.category).get(relation, Reuse.DERIVATIVE)


@dataclass(slots=True)
class Node:
    kind: str  # "model" | "dataset"
    id: int
    name: str
    visibility: str
    license: Terms | None
    declared: str
    ref: str = ""  # "model:12" / "dataset:3": how findings refer to it
    expression: str = ""  # the stored AND / OR expression of licence keys ("" for one licence)
    choices: list[tuple[Terms, ...]] = field(default_factory=list)  # what the licensee may choose between

    def __post_init__(self) -> None:
        self.ref = f"{self.kind}:{self.id}"


@dataclass
class Graph:
    models: dict[int, Node] = field(default_factory=dict)
    datasets: dict[int, Node] = field(default_factory=dict)
    bases: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    training: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    terms: dict[str, Terms] = field(default_factory=dict)  # by licence key, for the terms of expressions


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _license_columns() -> str:
    """The licence terms the analysis needs; of the JSON terms only the reuse table, the compatible licences
    and the successor versions (the rest — rights, obligations, notes — is for pages, and costs parsing on
    every row)."""
    if connection.vendor == "postgresql":
        extra = "lic.terms -> 'reuse', lic.terms -> 'compatible', lic.terms -> 'successors'"
    else:
        extra = (
            "json_extract(lic.terms, '$.reuse'), json_extract(lic.terms, '$.compatible'), "
            "json_extract(lic.terms, '$.successors')"
        )
    return (
        "lic.id, lic.key, lic.spdx_id, lic.name, lic.category, lic.is_agreement, lic.commercial_use, "
        f"lic.redistribution, lic.relicensing, lic.share_alike, lic.attribution, lic.use_restrictions, {extra}"
    )


NO_LICENSE = ", ".join(["NULL"] * 15)


def _graph_sql(scoped: bool, count: int = 0) -> str:
    """One statement. Scoped: a recursive CTE collects the lineage edges above the given models
    (each step an index lookup on the edge's model), the ancestors are their bases, and models,
    edges and training datasets are read by joining on those ids. Unscoped: the whole catalogue."""
    from accounts.models import User
    from catalog.models import Dataset, MLModel, ModelDataset, ModelLineage
    from licensing.models import License

    m, d, md, ln = (
        MLModel._meta.db_table,
        Dataset._meta.db_table,
        ModelDataset._meta.db_table,
        ModelLineage._meta.db_table,
    )
    u, lic = User._meta.db_table, License._meta.db_table
    roles = ", ".join(f"'{r}'" for r in TRAINING_ROLES)
    if scoped:
        placeholders = ", ".join(["%s"] * count)
        cte = f"""WITH RECURSIVE edges(model_id, base_id, relation) AS (
                SELECT l.model_id, l.base_id, l.relation FROM {ln} l WHERE l.model_id IN ({placeholders})
                UNION
                SELECT l.model_id, l.base_id, l.relation FROM edges e JOIN {ln} l ON l.model_id = e.base_id
            ),
            anc(id) AS (SELECT id FROM {m} WHERE id IN ({placeholders}) UNION SELECT base_id FROM edges)
        """
        # LATERAL ... OFFSET 0: one index lookup per ancestor, whatever the planner guesses of the
        # CTE's size (it guesses ~100 rows and would hash-join against the whole link table).
        if connection.vendor == "postgresql":
            models_from = f"anc CROSS JOIN LATERAL (SELECT * FROM {m} WHERE id = anc.id OFFSET 0) m"
            links_from = f"anc CROSS JOIN LATERAL (SELECT * FROM {md} WHERE model_id = anc.id OFFSET 0) md"
        else:  # SQLite has no LATERAL, and loops over the small side with the index anyway
            models_from = f"anc JOIN {m} m ON m.id = anc.id"
            links_from = f"anc JOIN {md} md ON md.model_id = anc.id"
        edges_from = "edges l"
    else:
        cte, models_from, edges_from, links_from = "", f"{m} m", f"{ln} l", f"{md} md"
    LICENSE_COLUMNS = _license_columns()  # noqa: N806
    return f"""{cte}
        SELECT 'm', m.id, (SELECT username FROM {u} WHERE id = m.owner_id), m.name, m.visibility,
               m.license_declared, NULL, NULL, {LICENSE_COLUMNS}, m.license_expression
          FROM {models_from} LEFT JOIN {lic} lic ON lic.id = m.license_id
        UNION ALL
        SELECT 'e', l.base_id, NULL, NULL, NULL, NULL, l.model_id, l.relation, {NO_LICENSE}, NULL
          FROM {edges_from}
        UNION ALL
        SELECT 'd', d.id, (SELECT username FROM {u} WHERE id = d.owner_id), d.name, d.visibility,
               d.license_declared, md.model_id, md.role, {LICENSE_COLUMNS}, d.license_expression
          FROM {links_from} JOIN {d} d ON d.id = md.dataset_id LEFT JOIN {lic} lic ON lic.id = d.license_id
         WHERE md.role IN ({roles})
    """


PREPARED_NAME = "omh_licensing_lineage_2"  # renamed when the statement's columns change


def load_graph(model_ids: list[int] | None) -> Graph:
    """The models (all of them when ``model_ids`` is None), their ancestors, edges, training datasets, terms."""
    if model_ids is not None and not model_ids:
        return Graph()
    ids = list(model_ids or [])
    with connection.cursor() as cursor:
        if len(ids) == 1 and _use_prepared_statement():
            _prepare(cursor)
            cursor.execute(f"EXECUTE {PREPARED_NAME}(%s)", ids)
        else:
            cursor.execute(_graph_sql(model_ids is not None, len(ids)), ids * 2 if model_ids is not None else [])
        rows = cursor.fetchall()
    graph = build_graph(rows)
    _load_expression_terms(graph)
    return graph


def dataset_nodes(dataset_ids: list[int]) -> dict[int, Node]:
    """The licence nodes (terms included) of some datasets by id, linked to no model: what ``analyse_with``
    adds to a model's graph to ask what training on them would mean (catalog.discovery.data)."""
    from accounts.models import User
    from catalog.models import Dataset
    from licensing.models import License

    if not dataset_ids:
        return {}
    d, u, lic = Dataset._meta.db_table, User._meta.db_table, License._meta.db_table
    placeholders = ", ".join(["%s"] * len(dataset_ids))
    sql = f"""SELECT 'd', d.id, (SELECT username FROM {u} WHERE id = d.owner_id), d.name, d.visibility,
                     d.license_declared, NULL, NULL, {_license_columns()}, d.license_expression
                FROM {d} d LEFT JOIN {lic} lic ON lic.id = d.license_id WHERE d.id IN ({placeholders})"""
    with connection.cursor() as cursor:
        cursor.execute(sql, list(dataset_ids))
        graph = build_graph(cursor.fetchall())
    _load_expression_terms(graph)
    return graph.datasets


def analyse_with(graph: Graph, model_id: int, dataset: Node, role: str = "trained_on") -> Result:
    """The analysis of the model as if it were also ``role`` the dataset (a node of ``dataset_nodes``); the
    graph is left as it was."""
    links = graph.training.setdefault(model_id, [])
    known = graph.datasets.get(dataset.id)
    graph.datasets[dataset.id] = dataset
    links.append((dataset.id, role))
    try:
        return analyse(graph, model_id)
    finally:
        links.pop()
        if known is None:
            del graph.datasets[dataset.id]


def _load_expression_terms(graph: Graph) -> None:
    """The terms of every licence named in an expression (one more query, only when there are any)."""
    from licensing.models import License

    nodes = [n for n in [*graph.models.values(), *graph.datasets.values()] if n.expression]
    if not nodes:
        return
    keys = sorted({key for n in nodes for key in expression_keys(n.expression)} - graph.terms.keys())
    if keys:
        placeholders = ", ".join(["%s"] * len(keys))
        sql = f"SELECT {_license_columns()} FROM {License._meta.db_table} lic WHERE lic.key IN ({placeholders})"
        with connection.cursor() as cursor:
            cursor.execute(sql, keys)
            cache: dict[int, Terms] = {}
            for row in cursor.fetchall():
                terms = _terms(row, cache)
                graph.terms[terms.key] = terms
    for node in nodes:
        node.choices = expression_choices(node.expression, graph.terms) or node.choices


def expression_keys(expression: str) -> list[str]:
    from license_expression import Licensing

    return [symbol.key for symbol in Licensing().license_symbols(expression)]


def expression_choices(expression: str, terms: dict[str, Terms]) -> list[tuple[Terms, ...]]:
    """The alternatives an expression offers, each the licences that all bind together (its disjunctive
    form: ``a AND (b OR c)`` -> [(a, b), (a, c)]); [] when a licence of it is not in ``terms`` or it
    offers more than MAX_CHOICES alternatives (the resolved licence then speaks for it)."""
    from license_expression import AND, OR, Licensing

    def options(node) -> list[tuple[Terms, ...]] | None:
        if isinstance(node, (AND, OR)):
            parts = [options(arg) for arg in node.args]
            if any(p is None for p in parts):
                return None
            if isinstance(node, OR):
                return [option for part in parts for option in part]
            combined: list[tuple[Terms, ...]] = [()]
            for part in parts:
                combined = [(*a, *(t for t in b if t.id not in {x.id for x in a})) for a in combined for b in part]
                if len(combined) > MAX_CHOICES:
                    return None
            return combined
        key = getattr(node, "key", None) or getattr(getattr(node, "license_symbol", None), "key", None)
        return [(terms[key],)] if key in terms else None

    try:
        found = options(Licensing().parse(expression, simple=False))
    except Exception:  # noqa: BLE001 - a stored expression that no longer parses is read by its licence
        return []
    if not found or len(found) > MAX_CHOICES:
        return []
    return _distinct(found)


def _use_prepared_statement() -> bool:
    """On PostgreSQL the one-model query is prepared once per connection: planning the recursive
    union costs more than running it. Off with LICENSING_PREPARED_STATEMENTS=0 in the environment (e.g. behind
    a transaction-pooling PgBouncer, which does not keep prepared statements)."""
    from django.conf import settings

    return connection.vendor == "postgresql" and settings.LICENSING_PREPARED_STATEMENTS


def _prepare(cursor) -> None:
    raw = connection.connection
    if getattr(raw, "_omh_licensing_prepared", False):
        return
    sql = _graph_sql(True, 1).replace("%s", "$1")
    cursor.execute(f"PREPARE {PREPARED_NAME} (bigint) AS {sql}")
    raw._omh_licensing_prepared = True


def build_graph(rows) -> Graph:
    graph = Graph()
    terms: dict[int, Terms] = {}
    for row in rows:
        kind, pk, owner, name, visibility, declared, parent, relation = row[:8]
        if kind == "e":
            graph.bases.setdefault(parent, []).append((pk, relation))
            continue
        lic = _terms(row[8:], terms) if row[8] is not None else None
        node = Node("model" if kind == "m" else "dataset", pk, f"{owner}/{name}", visibility, lic, declared or "")
        if lic is not None:
            node.choices = [(lic,)]
            node.expression = (row[23] or "") if len(row) > 23 else ""
        if kind == "m":
            graph.models[pk] = node
        else:
            graph.datasets[pk] = node
            graph.training.setdefault(parent, []).append((pk, relation))
    for edges in graph.bases.values():
        edges.sort()
    return graph


def _terms(cols, cache: dict[int, Terms]) -> Terms:
    pk = cols[0]
    if pk not in cache:
        reuse, compatible, successors = (json.loads(v) if isinstance(v, str) else v for v in cols[12:15])
        cache[pk] = Terms(
            id=pk,
            key=cols[1],
            spdx_id=cols[2] or "",
            name=cols[3],
            category=cols[4],
            is_agreement=bool(cols[5]),
            commercial_use=_bool(cols[6]),
            redistribution=_bool(cols[7]),
            relicensing=cols[8],
            share_alike=bool(cols[9]),
            attribution=_bool(cols[10]),
            use_restrictions=_bool(cols[11]),
            reuse=reuse or {},
            compatible=tuple(compatible or ()),
            successors=tuple(successors or ()),
            is_known=cols[4] != Cat.UNKNOWN,
        )
    return cache[pk]


def _bool(value) -> bool | None:
    return None if value is None else bool(value)


def _all_allow(values) -> bool | None:
    """Allowed under licences that all bind: only if each allows it (unknown if one is unknown)."""
    values = list(values)
    return False if False in values else None if None in values else True


def _any_requires(values) -> bool | None:
    values = list(values)
    return True if True in values else None if None in values else False


def combine(terms: tuple[Terms, ...]) -> Terms:
    """The terms of licences that all bind together (``A AND B``): every restriction of each applies."""
    if len(terms) == 1:
        return terms[0]
    given = {t.relicensing for t in terms}
    strict = (Relicensing.SAME, Relicensing.CONDITIONAL, Relicensing.UNKNOWN)
    relicensing = next((r for r in strict if r in given), Relicensing.ALLOWED)
    relations = {relation for t in terms for relation in t.reuse}
    reuse = {r: min((t.outcome(r) for t in terms), key=REUSE_RANK.index) for r in relations}
    compatible = set(terms[0].compatible).intersection(*(t.compatible for t in terms[1:]))
    successors = set(terms[0].successors).intersection(*(t.successors for t in terms[1:]))
    return Terms(
        id=-abs(hash(tuple(t.key for t in terms))),
        key=terms[0].key,
        spdx_id=" AND ".join(t.spdx_id or t.key for t in terms),
        name=" AND ".join(t.label for t in terms),
        category=max((t.category for t in terms), key=CATEGORY_RANK.index),
        is_agreement=any(t.is_agreement for t in terms),
        commercial_use=_all_allow(t.commercial_use for t in terms),
        redistribution=_all_allow(t.redistribution for t in terms),
        relicensing=relicensing,
        share_alike=any(t.share_alike for t in terms),
        attribution=_any_requires(t.attribution for t in terms),
        use_restrictions=_any_requires(t.use_restrictions for t in terms),
        reuse=reuse,
        compatible=tuple(sorted(compatible)),
        successors=tuple(sorted(successors)),
        is_known=all(t.is_known for t in terms),
        keys=tuple(t.key for t in terms),
    )


def option_label(option: tuple[Terms, ...]) -> str:
    return " AND ".join(t.label for t in option)


def offered(options: list[tuple[Terms, ...]]) -> str:
    """How a choice reads: ``MIT OR (Apache-2.0 AND CC-BY-4.0)``."""
    return " OR ".join(option_label(o) if len(o) == 1 else f"({option_label(o)})" for o in options)


def known_choices(node: Node) -> list[tuple[Terms, ...]]:
    """The alternatives of a node's licence, each with the licences whose terms are known ([] when none)."""
    if node.license is None or not node.license.is_known:
        return []
    options = [tuple(t for t in option if t.is_known) for option in node.choices]
    return _distinct([o for o in options if o])


def _distinct(options: list[tuple[Terms, ...]]) -> list[tuple[Terms, ...]]:
    """Options in order, each once (by the licences in it; Terms hold dicts and are not hashable)."""
    by_ids = {}
    for option in options:
        by_ids.setdefault(tuple(t.id for t in option), option)
    return list(by_ids.values())


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


class Upstream:
    """An ancestor or training dataset whose terms reach the analysed model.

    The path back to the model is rebuilt from the walk's parent links only when a finding needs
    it: most upstream assets produce no finding, and copying paths would cost O(depth²).
    """

    __slots__ = ("node", "relation", "outcome", "holder", "_parents", "_models")

    def __init__(self, node: Node, relation: str, outcome: str, holder: int, parents: dict, models: dict):
        self.node, self.relation, self.outcome, self.holder = node, relation, outcome, holder
        self._parents, self._models = parents, models

    @property
    def path(self) -> list[Node]:
        chain = [self.node]
        current = self.holder
        while current is not None:
            chain.append(self._models[current])
            current = self._parents[current]
        chain.reverse()
        return chain


@dataclass
class Result:
    model_id: int
    findings: list[dict]
    verdicts: dict
    ancestor_count: int
    dataset_count: int
    graph: Graph = field(repr=False)

    @property
    def assets(self) -> dict[str, str]:
        """ "model:12" -> "owner/name" for every asset the findings and reasons refer to (not stored:
        names are looked up for each viewer, see ``present``)."""
        return _names(self.graph, self.findings, self.verdicts)

    @property
    def has_violations(self) -> bool:
        return any(f["severity"] == Severity.VIOLATION for f in self.findings)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f["severity"] == severity)


def walk(graph: Graph, model_id: int) -> tuple[list[Upstream], list[Upstream]]:
    """Ancestors and training datasets whose terms reach the model, each with its shortest path.

    An edge whose reuse produces an independent work (per the base's licence) does not carry the
    base's terms, nor those of anything above it.
    """
    ancestors: list[Upstream] = []
    parents: dict[int, int | None] = {model_id: None}  # model -> the derived model it was reached from
    queue = deque([model_id])
    while queue:
        child = queue.popleft()
        for base_id, relation in graph.bases.get(child, ()):
            if base_id in parents or base_id not in graph.models:
                continue
            base = graph.models[base_id]
            outcome = base.license.outcome(relation) if base.license else Reuse.DERIVATIVE
            if outcome == Reuse.INDEPENDENT:
                continue
            parents[base_id] = child
            ancestors.append(Upstream(base, relation, outcome, child, parents, graph.models))
            queue.append(base_id)
    datasets: list[Upstream] = []
    seen: set[int] = set()
    for holder_id in parents:  # in walk order: the nearest holder of a dataset comes first
        for dataset_id, role in graph.training.get(holder_id, ()):
            if dataset_id in seen:
                continue
            seen.add(dataset_id)
            node = graph.datasets[dataset_id]
            outcome = node.license.outcome("training") if node.license else Reuse.UNDEFINED
            if outcome != Reuse.INDEPENDENT:
                datasets.append(Upstream(node, role, outcome, holder_id, parents, graph.models))
    return ancestors, datasets


def _finding(code: str, severity: str, path: list[Node], text: str, **params) -> dict:
    return {"code": code, "severity": str(severity), "path": [n.ref for n in path], "text": text, **params}


def analyse(graph: Graph, model_id: int) -> Result:
    model = graph.models[model_id]
    ancestors, datasets = walk(graph, model_id)
    findings: list[dict] = []
    findings += _licence_presence(model, ancestors, datasets)
    # The model's own licence: A AND B binds with both; under A OR B a recipient may take either, so each
    # alternative must honour the upstream terms.
    owns = [combine(option) for option in known_choices(model)]
    if owns:
        checked: set[tuple] = set()  # the nearest asset under a licence speaks for the others
        seen: set[tuple[str, int]] = set()
        for up in [*ancestors, *datasets]:
            options = known_choices(up.node)
            if not options:
                continue
            terms = options[0]
            if len(options) > 1:  # A OR B upstream: the most permissive choice whose terms this model honours
                terms, choice = _choose(model, owns, up, options)
                findings.append(choice)
            for lic in terms:  # A AND B upstream: every term binds
                special = up.outcome in (Reuse.COPY, Reuse.FORBIDDEN, Reuse.UNSHARED) and up.outcome
                case = (lic.id, up.node.kind, special)
                if case in checked:
                    continue
                checked.add(case)
                for own in owns:
                    for finding in _check_terms(model, own, up, lic):
                        dedupe = (finding["code"], lic.id)
                        if dedupe not in seen:
                            seen.add(dedupe)
                            findings.append(finding)
    findings += _merges(graph, model, ancestors)
    order = {Severity.VIOLATION: 0, Severity.WARNING: 1, Severity.OBLIGATION: 2, Severity.INFO: 3}
    findings.sort(key=lambda f: (order[f["severity"]], len(f["path"])))
    verdicts = _verdicts(model, ancestors, datasets, findings)
    return Result(model_id, findings, verdicts, len(ancestors), len(datasets), graph)


def _choose(model: Node, owns: list[Terms], up: Upstream, options: list[tuple[Terms, ...]]) -> tuple[tuple, dict]:
    """The alternative of an upstream ``A OR B`` to analyse: the fewest violations, then warnings, then the most
    permissive licence; and the finding that states the choice."""
    order = {Severity.VIOLATION: 0, Severity.WARNING: 1}

    def cost(option: tuple[Terms, ...]) -> tuple:
        found = [f for lic in option for own in owns for f in _check_terms(model, own, up, lic)]
        counts = [sum(1 for f in found if order.get(f["severity"]) == i) for i in (0, 1)]
        return (*counts, max(CATEGORY_RANK.index(t.category) for t in option), len(option))

    best = min(options, key=cost)
    violations, warnings = cost(best)[:2]
    why = (
        "whose terms this model honours"
        if not violations and not warnings
        else "with the fewest conflicts with this model's licence"
    )
    return best, _finding(
        "licence-choice",
        Severity.INFO,
        up.path,
        f"{{asset}} is offered under {offered(options)}: the analysis takes {option_label(best)}, the most permissive "
        f"choice {why}.",
    )


def _names(graph: Graph, findings: list[dict], verdicts: dict) -> dict[str, str]:
    refs = set(report_refs(findings, verdicts))
    names = {}
    for ref in refs:
        kind, _, pk = ref.partition(":")
        node = (graph.models if kind == "model" else graph.datasets).get(int(pk))
        names[ref] = node.name if node else ref
    return names


def _licence_presence(model: Node, ancestors: list[Upstream], datasets: list[Upstream]) -> list[dict]:
    """Missing or unknown licences: the model's own, then one finding per kind of problem upstream
    (the nearest asset, with how many more share it), so a long lineage gives a short report."""
    findings = []
    seen: dict[tuple, dict] = {}
    for up in [None, *ancestors, *datasets]:
        node = model if up is None else up.node
        if node is not model:
            missing = node.license is None and not node.declared
            unknown = not missing and (node.license is None or not node.license.is_known)
            key = (node.kind, "missing" if missing else "unknown" if unknown else "")
            if key[1] and key in seen:
                seen[key]["also"] = seen[key].get("also", 0) + 1
                continue
        if node.license is not None and node.license.is_known:
            continue
        path = [model] if up is None else up.path
        who = (
            "This model"
            if node is model
            else (
                "{asset}, upstream of this model,"
                if node.kind == "model"
                else "{asset}, a dataset this model was trained on,"
            )
        )
        if node.license is None and not node.declared:
            findings.append(
                _finding(
                    "missing-license",
                    Severity.WARNING,
                    path,
                    f"{who} declares no licence: nobody has been granted any right to use, share or adapt it.",
                )
            )
        elif node.license is None or not node.license.is_known:
            declared = node.declared or node.license.name
            findings.append(
                _finding(
                    "unknown-license",
                    Severity.WARNING,
                    path,
                    f'{who} declares the licence "{{declared}}", which matches no licence whose terms are known; '
                    "read it before relying on it.",
                    declared=declared,
                )
            )
        else:
            continue
        if node is not model:
            seen[key] = findings[-1]
    return findings


def _not_shareable(model: Node, up: Upstream, lic: Terms, via: str) -> dict:
    """No-derivatives upstream (CC BY-ND 4.0 §2(a)(1)(B): adapted material may be produced, not shared)."""
    term = (
        f"{{asset}} is under {lic.label}, whose no-derivatives term allows adapted material (this {via}) to be "
        "made and used but not shared"
    )
    if model.visibility == "public":
        return _finding(
            "derivative-not-shareable",
            Severity.VIOLATION if up.node.kind == "model" else Severity.WARNING,
            up.path,
            f"{term}; this model is public, so it shares it.",
        )
    return _finding(
        "derivative-not-shareable",
        Severity.OBLIGATION,
        up.path,
        f"{term}: keep this model private, whatever licence it declares.",
    )


def _successor(own: Terms, up: Upstream, lic: Terms) -> dict:
    return _finding(
        "successor-licence",
        Severity.OBLIGATION,
        up.path,
        f"This model declares {own.label}, a later version of {lic.label} (the licence of {{asset}}), which "
        f"derivatives may move to; {lic.label} still governs the material taken from {{asset}}: ship its text too "
        "and follow its conditions.",
    )


def _check_terms(model: Node, own: Terms, up: Upstream, lic: Terms) -> list[dict]:
    """What ``lic`` (the licence of ``up``, or one term of its expression) requires of a model under ``own``."""
    path, is_data = up.path, up.node.kind == "dataset"
    via = "trained on" if is_data else up.relation.replace("_", "-")
    found = []
    params: dict = {}
    if up.outcome == Reuse.FORBIDDEN:
        found.append(
            _finding(
                "reuse-not-permitted",
                Severity.VIOLATION,
                path,
                f"{{asset}} is under {lic.label}, which does not permit {via.replace('-', ' ')} of the work.",
                **params,
            )
        )
    unshared = up.outcome == Reuse.UNSHARED
    if unshared:
        found.append(_not_shareable(model, up, lic, "training" if is_data else via.replace("-", " ")))
    successor = any(key in lic.successors for key in own.all_keys)
    if successor:
        found.append(_successor(own, up, lic))
    same = own.carries(lic) or successor or unshared  # unshared: which licence it would go under is moot
    relicensed = False
    if lic.keeps_own_terms and not lic.share_alike and not same:
        relicensed = True
        found.append(
            _finding(
                "relicensed-derivative",
                Severity.WARNING if is_data else Severity.VIOLATION,
                path,
                f"This model is a {via} derivative of {{asset}}, which is under {lic.label}"
                f"{' (an agreement, not an open licence)' if lic.is_agreement else ''}; derivatives must stay under "
                f"{lic.label}, but this model declares {own.label}. "
                f"Only the holder of {lic.label} can permit relicensing.",
                **params,
            )
        )
    elif up.outcome == Reuse.COPY and not same and lic.category != Cat.PUBLIC_DOMAIN and not is_data:
        found.append(
            _finding(
                "relicensed-derivative",
                Severity.WARNING,
                path,
                f"A {via} is a copy of {{asset}}, and a copy keeps its licence ({lic.label}); this model declares "
                f"{own.label}.",
                **params,
            )
        )
    if lic.share_alike and not same:
        severity = Severity.WARNING if is_data or lic.category == Cat.WEAK_COPYLEFT else Severity.VIOLATION
        found.append(
            _finding(
                "copyleft-not-preserved",
                severity,
                path,
                f"{{asset}} is under the share-alike licence {lic.label}: works derived from it must be released under "
                f"the same licence, but this model declares {own.label}.",
                **params,
            )
        )
    if lic.use_restrictions and own.use_restrictions is not True and not relicensed:
        found.append(
            _finding(
                "use-restrictions-not-propagated",
                Severity.VIOLATION,
                path,
                f"{{asset}} is under {lic.label}, whose use-based restrictions must be passed on to every derivative "
                f"and user; this model's licence ({own.label}) carries none.",
                **params,
            )
        )
    elif lic.use_restrictions and own.use_restrictions:
        found.append(
            _finding(
                "use-restrictions-apply",
                Severity.OBLIGATION,
                path,
                f"The use restrictions of {lic.label} (from {{asset}}) bind every user of this model.",
                **params,
            )
        )
    if lic.commercial_use is False and own.commercial_use is not False:
        found.append(
            _finding(
                "non-commercial-upstream",
                Severity.VIOLATION if own.commercial_use else Severity.WARNING,
                path,
                f"{{asset}} is under the non-commercial licence {lic.label}, but this model declares {own.label}, "
                "which allows commercial use: the model may not be used commercially.",
                **params,
            )
        )
    if lic.attribution:
        found.append(
            _finding(
                "attribution-required",
                Severity.OBLIGATION,
                path,
                f"Keep the notices and licence text of {lic.label} (from {{asset}}) and say that this model was "
                "modified from it when you share it.",
                **params,
            )
        )
    return found


def _merges(graph: Graph, model: Node, ancestors: list[Upstream]) -> list[dict]:
    findings = []
    for up in [None, *ancestors]:
        node = model if up is None else up.node
        if len(graph.bases.get(node.id, ())) < 2:
            continue
        path = [model] if up is None else up.path
        parents = [graph.models[b] for b, _ in graph.bases.get(node.id, ()) if b in graph.models]
        licensed = [p for p in parents if p.license is not None and p.license.is_known]
        for i, first in enumerate(licensed):
            for second in licensed[i + 1 :]:
                reason = _conflict(first.license, second.license)
                if reason:
                    findings.append(
                        _finding(
                            "incompatible-merge",
                            Severity.VIOLATION,
                            [*path, first],
                            f"{'This model' if node is model else '{holder}'} merges {{asset}} ({first.license.label}) "
                            f"with {{other}} ({second.license.label}): {reason}",
                            other=second.ref,
                            holder=node.ref,
                        )
                    )
    return findings


def _conflict(a: Terms, b: Terms) -> str:
    if a.key == b.key:
        return ""
    if a.keeps_own_terms and b.keeps_own_terms:
        return "each requires derivatives to stay under its own terms, so no licence can honour both."
    if (a.share_alike and b.use_restrictions) or (b.share_alike and a.use_restrictions):
        return "a copyleft licence forbids the additional use restrictions that the other requires."
    return ""


def _verdicts(model: Node, ancestors: list[Upstream], datasets: list[Upstream], findings: list[dict]) -> dict:
    """May the model be used for each purpose? One pass over the licences that reach it."""
    unlicensed = _verdicts_without_known_licence(model)
    if unlicensed is not None:
        return unlicensed
    verdicts = {p: {"answer": "yes", "reasons": [], "conditions": []} for p in PURPOSES}
    seen: set = set()  # one reason per licence (or per missing licence), from the nearest asset
    for up in [None, *ancestors, *datasets]:
        node = model if up is None else up.node
        unshared = up is not None and up.outcome == Reuse.UNSHARED and up.node.kind == "model"
        options = known_choices(node)
        case = (node.expression or node.license.id, unshared) if options else "unknown"
        if case in seen:
            continue
        seen.add(case)
        if not options:
            _apply_upstream(verdicts, model, up, None, unshared=unshared)
        elif len(options) == 1:
            for lic in options[0]:  # A AND B: every term binds
                _apply_upstream(verdicts, model, up, lic, unshared=unshared)
        else:
            _apply_choice(verdicts, model, up, options, unshared=unshared)
    _apply_findings(verdicts, model, findings)
    return verdicts


def _verdicts_without_known_licence(model: Node) -> dict | None:
    """The same answer for every purpose when the model's own licence is missing or unknown; else None."""
    own = model.license
    if own is None and not model.declared:
        reason = "The model declares no licence: no right has been granted."
        answer = {"answer": "no", "reasons": [_reason([model], reason)], "conditions": []}
        return {p: answer for p in PURPOSES}
    if own is None or not own.is_known:
        reason = "The model's licence is not one whose terms are known."
        answer = {"answer": "unclear", "reasons": [_reason([model], reason)], "conditions": []}
        return {p: answer for p in PURPOSES}
    return None


def _apply_upstream(verdicts: dict, model: Node, up: Upstream | None, lic: Terms | None, *, unshared: bool) -> None:
    """Applies the terms of the model's own licence (``up`` None) or of one upstream asset's (``lic`` None: unknown)."""
    path = [model] if up is None else up.path
    holder = "The model" if up is None else "{asset}"
    purposes = PURPOSES if up is None or up.node.kind == "model" else ("commercial",)
    if lic is None:
        for p in purposes:
            _worsen(verdicts[p], "unclear")
            verdicts[p]["reasons"].append(_reason(path, f"{holder} has no licence whose terms are known."))
        return
    if unshared:
        verdicts["redistribution"]["reasons"].append(
            _reason(
                path,
                f"{holder} is under {lic.label}, whose no-derivatives term forbids sharing a model derived from it.",
            )
        )
        _worsen(verdicts["redistribution"], "no")
        purposes = tuple(p for p in purposes if p != "redistribution")
    if up is None:
        _own_conditions(verdicts["redistribution"], lic)
    allowed = {"commercial": lic.commercial_use, "redistribution": lic.redistribution, "research": True}
    for p in purposes:
        _apply_allowance(verdicts[p], p, allowed[p], lic, path, holder)


def _apply_choice(verdicts: dict, model: Node, up: Upstream | None, options: list, *, unshared: bool) -> None:
    """``A OR B``: for each purpose, the most permissive alternative that allows it, and a reason saying so."""
    path = [model] if up is None else up.path
    holder = "The model" if up is None else "{asset}"
    for purpose in PURPOSES:
        trials = []
        for option in options:
            trial = {p: {"answer": "yes", "reasons": [], "conditions": []} for p in PURPOSES}
            for lic in option:
                _apply_upstream(trial, model, up, lic, unshared=unshared)
            rank = max(CATEGORY_RANK.index(t.category) for t in option)
            trials.append((ANSWER_RANK[trial[purpose]["answer"]], rank, len(trials), option, trial[purpose]))
        _, _, _, option, best = min(trials)
        verdict = verdicts[purpose]
        if ANSWER_RANK[best["answer"]] > ANSWER_RANK[verdict["answer"]]:
            verdict["answer"] = best["answer"]
        verdict["reasons"] += best["reasons"]
        verdict["conditions"] += best["conditions"]
        verdict["reasons"].append(
            _reason(
                path,
                f"{holder} is offered under {offered(options)}: for {purpose} use the choice is "
                f"{option_label(option)}, the most permissive alternative for it.",
            )
        )


def _apply_allowance(verdict: dict, purpose: str, allowed: bool | None, lic: Terms, path: list, holder: str) -> None:
    if allowed is False:
        _worsen(verdict, "no")
        verdict["reasons"].append(_reason(path, f"{holder} is under {lic.label}, which does not allow {purpose} use."))
    elif allowed is None:
        _worsen(verdict, "unclear")
        verdict["reasons"].append(
            _reason(path, f"{holder} is under {lic.label}; whether it allows {purpose} use is not known.")
        )
    elif lic.is_agreement:
        verdict["conditions"].append(
            {"text": f"Accept and follow {lic.label}, an agreement with conditions.", "path": []}
        )


def _apply_findings(verdicts: dict, model: Node, findings: list[dict]) -> None:
    """Violations make commercial use and sharing conditional; obligations become conditions of both."""
    has_violations = any(f["severity"] == Severity.VIOLATION for f in findings)
    obligations = [{"finding": i} for i, f in enumerate(findings) if f["severity"] == Severity.OBLIGATION]
    for p, verdict in verdicts.items():
        if has_violations and p in ("commercial", "redistribution") and verdict["answer"] == "yes":
            verdict["answer"] = "conditional"
            verdict["reasons"].append(
                _reason(
                    [model],
                    "The declared licence conflicts with upstream terms (see the "
                    "violations); the upstream terms govern, not the declared licence.",
                )
            )
        if p != "research":
            verdict["conditions"] += obligations
        if verdict["answer"] == "yes" and verdict["conditions"]:
            verdict["answer"] = "conditional"


def _own_conditions(verdict: dict, lic: Terms) -> None:
    """What sharing a verbatim copy of the model requires under its own licence (CC BY-ND 4.0 §3(a))."""
    if lic.attribution:
        verdict["conditions"].append(
            {"text": f"Keep the notices and the licence text of {lic.label} with every copy you share.", "path": []}
        )
    if lic.commercial_use is False and lic.redistribution:
        verdict["conditions"].append(
            {"text": f"Share it only for non-commercial purposes, as {lic.label} requires.", "path": []}
        )


def _worsen(verdict: dict, answer: str) -> None:
    if verdict["answer"] != "no":
        verdict["answer"] = answer


def _reason(path: list[Node], text: str) -> dict:
    return {"text": text, "path": [n.ref for n in path]}


# --------------------------------------------------------------------------------------------
# Presentation for one viewer
# --------------------------------------------------------------------------------------------


def visible_names(user, refs) -> dict[str, str]:
    """Current names of the referenced assets that ``user`` may see (one query per kind)."""
    from catalog.models import Dataset, MLModel

    names: dict[str, str] = {}
    for kind, cls in (("model", MLModel), ("dataset", Dataset)):
        ids = {int(r.partition(":")[2]) for r in refs if r.startswith(kind + ":")}
        if ids:
            rows = cls.objects.visible_to(user).filter(pk__in=ids).values_list("pk", "owner__username", "name")
            names.update({f"{kind}:{pk}": f"{owner}/{name}" for pk, owner, name in rows})
    return names


def report_refs(findings: list[dict], verdicts: dict) -> list[str]:
    """The assets a report's findings and reasons name."""
    return _all_refs([*findings, *(r for v in verdicts.values() for r in v.get("reasons", []))])


def _all_refs(items: list[dict]) -> list[str]:
    refs = []
    for item in items:
        refs += item.get("path", [])
        refs += [item[k] for k in ("other", "holder") if item.get(k)]
    return refs


def present(
    findings: list[dict], verdicts: dict, user, *, purpose: str | None = None, visible: dict[str, str] | None = None
) -> dict:
    """Findings and verdicts as plain text for ``user``: hidden assets are not named. ``visible``: the
    ``visible_names`` of ``user`` already read for several reports at once (``report_refs`` of each)."""
    if visible is None:
        visible = visible_names(user, report_refs(findings, verdicts))

    def name(ref: str) -> str:
        return visible.get(ref, HIDDEN_NAME)

    def path(refs: list[str]) -> list[dict]:
        return [{"kind": r.partition(":")[0], "name": name(r), "hidden": r not in visible} for r in refs]

    def text(item: dict) -> str:
        if "finding" in item:
            item = findings[item["finding"]]
        refs = item.get("path") or []
        rendered = item["text"]
        declared = item.get("declared", "")
        if declared and refs and refs[-1] not in visible:  # a hidden asset's own words are not shown
            rendered, declared = rendered.replace('the licence "{declared}"', "a licence"), "(not shown)"
        values = {
            "asset": name(refs[-1]) if refs else "",
            "declared": declared,
            "other": name(item["other"]) if item.get("other") else "",
            "holder": name(item["holder"]) if item.get("holder") else "",
        }
        for placeholder, value in values.items():  # not str.format: licence names may contain braces
            rendered = rendered.replace("{" + placeholder + "}", value)
        if item.get("also"):
            rendered += f" {item['also']} more upstream asset{'s' if item['also'] > 1 else ''} of the same kind too."
        return rendered

    shown = [
        {"code": f["code"], "severity": f["severity"], "path": path(f["path"]), "explanation": text(f)}
        for f in findings
    ]
    wanted = [purpose] if purpose else list(verdicts)
    answers = {
        p: {
            "answer": verdicts[p]["answer"],
            "reasons": [text(r) for r in verdicts[p].get("reasons", [])],
            "conditions": list(dict.fromkeys(text(c) for c in verdicts[p].get("conditions", []))),
        }
        for p in wanted
        if p in verdicts
    }
    return {"findings": shown, "verdicts": answers}
