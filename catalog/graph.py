"""The neighbourhood of an asset as nodes and edges, for the graph page and ``GET /api/v1/graph`` (issue #20).

A node's id is the reference that fetches its own neighbourhood: ``models/OWNER/NAME``,
``datasets/OWNER/NAME`` or ``licenses/KEY``. Edges: lineage (derivative -> base), model–dataset
links (the link's role), evaluations (model -> dataset, with the best results) and licences
(asset -> licence). Model nodes carry the verdict of their stored compliance analysis, and the edges
along a violation's path are marked (``licensing`` decides both; nothing is analysed here).

Access: the root answers 404 unless ``user`` may see it (``named``), and every neighbour comes from
``visible_to(user)``. The neighbours ``user`` may not see are counted, never named: each anchor with
hidden links gets one "private" node (id ``private/<anchor id>``) whose ``count`` is the number of its
links to assets the caller cannot see; no name, id, licence or verdict of a hidden asset is returned.

Bounded: at most ``limit`` new nodes per call (the root and private nodes included, licence nodes
too); what did not fit is counted in ``omitted`` and ``truncated`` is true, so a client can say so.
A read: nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Max, Q, QuerySet
from django.shortcuts import get_object_or_404

from catalog.models import Dataset, EvaluationResult, MLModel, ModelDataset, ModelLineage
from catalog.models.base import DatasetRole, Relation
from licensing.models import License
from licensing.selectors import verdict_of
from openmodelhub.params import ascii_int

MAX_DEPTH = 3
DEFAULT_LIMIT, MAX_LIMIT = 40, 150
RESULTS_PER_EDGE = 3  # the best results an evaluation edge carries (its ``count`` says how many exist)
KINDS = {"models": MLModel, "datasets": Dataset}
REFERENCE_HELP = "Give models/OWNER/NAME, datasets/OWNER/NAME or licenses/KEY."


class BadArgument(ValueError):
    """A malformed request parameter: ``field`` names it, the message says what to give."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def arguments(params) -> tuple[str, int, int]:
    """``asset``, ``depth`` and ``limit`` of a graph request (the page's and the API's)."""
    reference = params.get("asset", "").strip()
    if not reference:
        raise BadArgument("asset", REFERENCE_HELP)
    return reference, _bounded(params, "depth", 1, MAX_DEPTH), _bounded(params, "limit", DEFAULT_LIMIT, MAX_LIMIT)


def _bounded(params, name: str, default: int, highest: int) -> int:
    value = ascii_int(params.get(name, str(default)), max_digits=4)
    if value is None or not 1 <= value <= highest:
        raise BadArgument(name, f"Give a whole number from 1 to {highest}.")
    return value


def node_id(obj) -> str:
    if isinstance(obj, License):
        return f"licenses/{obj.key}"
    return f"{obj.plural}/{obj.full_name}"


def resolve(reference: str, user):
    """The asset or licence a reference names, if ``user`` may see it; Http404 otherwise (a hidden
    asset answers like a missing one), BadArgument for a malformed reference."""
    kind, _, rest = reference.strip().strip("/").partition("/")
    if kind == "licenses" and rest and "/" not in rest:
        return get_object_or_404(License, key=rest)
    owner, _, name = rest.partition("/")
    if kind not in KINDS or not owner or not name or "/" in name:
        raise BadArgument("asset", REFERENCE_HELP)
    return KINDS[kind].objects.select_related("owner").named(rest, user=user)


@dataclass
class _Builder:
    user: object
    limit: int
    nodes: dict[str, dict] = field(default_factory=dict)
    edges: dict[str, dict] = field(default_factory=dict)
    ids: dict[tuple[str, int], str] = field(default_factory=dict)  # (kind, pk) -> node id, filled at the end
    pending: dict[str, set[int]] = field(default_factory=lambda: {"model": set(), "dataset": set(), "license": set()})
    hidden: dict[tuple[str, int], int] = field(default_factory=dict)  # anchor -> links to hidden assets
    omitted: int = 0
    added: int = 0

    def room(self) -> int:
        return self.limit - self.added

    def take(self, kind: str, pk: int) -> bool:
        """Whether (kind, pk) is, or now becomes, a node of the graph."""
        if pk in self.pending[kind]:
            return True
        if self.added >= self.limit:
            self.omitted += 1
            return False
        self.pending[kind].add(pk)
        self.added += 1
        return True

    def link(self, source: tuple[str, int], target: tuple[str, int], kind: str, label: str, **extra) -> None:
        if self.take(*source) and self.take(*target):  # one end is the anchor, already a node
            key = f"{source[0]}:{source[1]}|{kind}|{target[0]}:{target[1]}"
            self.edges.setdefault(key, {"ends": (source, target), "kind": kind, "label": label, **extra})

    def hide(self, kind: str, counts: dict[int, int]) -> None:
        """Count links from anchors of ``kind`` (pk -> number) to assets the caller may not see."""
        for pk, n in counts.items():
            self.hidden[(kind, pk)] = self.hidden.get((kind, pk), 0) + n


def neighbourhood(root, user, *, depth: int = 1, limit: int = DEFAULT_LIMIT) -> dict:
    """Nodes and edges within ``depth`` links of ``root`` (from ``resolve``) that ``user`` may see."""
    graph = _Builder(user=user, limit=limit)
    root_kind = "license" if isinstance(root, License) else root.kind
    graph.take(root_kind, root.pk)
    frontier = {root_kind: {root.pk}}
    for level in range(depth):
        before = {kind: set(pks) for kind, pks in graph.pending.items()}
        if frontier.get("model"):
            _expand_models(graph, frontier["model"])
        if frontier.get("dataset"):
            _expand_datasets(graph, frontier["dataset"])
        if frontier.get("license") and level == 0:  # a licence is expanded only when asked for
            _expand_license(graph, root)
        frontier = {kind: graph.pending[kind] - before[kind] for kind in ("model", "dataset")}
    return _render(graph, root_kind, root.pk)


def _split(graph: _Builder, links: QuerySet, anchor: str, other: str) -> tuple[Q, int]:
    """The condition "the ``other`` end is visible to the caller", and how many visible ``other`` ends
    the anchors have in all; the anchors' links to hidden ones are counted on the way (one query).

    ``visible_to`` is narrowed to the linked assets first, so the cost follows the number of links,
    not the size of the catalogue. The anchors themselves are visible: they are nodes already."""
    other_cls = Dataset if other == "dataset_id" else MLModel
    visible = other_cls.objects.visible_to(graph.user).filter(pk__in=links.values(other)).values("pk")
    seen = Q(**{f"{other}__in": visible})
    counts = (
        links.order_by()
        .values(anchor)
        .annotate(linked=Count(other, distinct=True), shown=Count(other, filter=seen, distinct=True))
    )
    total = 0
    for row in counts:
        graph.hide(_kind_of(anchor), {row[anchor]: row["linked"] - row["shown"]})
        total += row["shown"]
    return seen, total


def _neighbours(graph: _Builder, edges: QuerySet, anchor: str, other: str, *extra: str) -> list[dict]:
    """The rows of ``edges`` whose ``other`` end the caller may see, most downloaded first and bounded
    (what does not fit is counted as omitted), after counting the links to hidden ones."""
    seen, total = _split(graph, edges, anchor, other)
    if not total:
        return []
    fetch = graph.room() + len(graph.pending[_kind_of(other)]) + 1
    rows = list(
        edges.filter(seen)
        .order_by(f"-{other.removesuffix('_id')}__downloads", other)
        .values(anchor, other, *extra)[:fetch]
    )
    if len(rows) == fetch:  # more than were fetched: the rest is omitted
        graph.omitted += total - fetch
    return rows


def _kind_of(column: str) -> str:
    return "dataset" if column == "dataset_id" else "model"


def _expand_models(graph: _Builder, pks: set[int]) -> None:
    relations = dict(Relation.choices)
    for row in _neighbours(graph, ModelLineage.objects.filter(model__in=pks), "model_id", "base_id", "relation"):
        graph.link(("model", row["model_id"]), ("model", row["base_id"]), "lineage", relations[row["relation"]])
    for row in _neighbours(graph, ModelLineage.objects.filter(base__in=pks), "base_id", "model_id", "relation"):
        graph.link(("model", row["model_id"]), ("model", row["base_id"]), "lineage", relations[row["relation"]])
    _license_edges(graph, MLModel, pks)
    _dataset_links(graph, ModelDataset.objects.filter(model__in=pks), "model_id", "dataset_id")
    _evaluations(graph, EvaluationResult.objects.filter(model__in=pks), "model_id", "dataset_id")


def _expand_datasets(graph: _Builder, pks: set[int]) -> None:
    _license_edges(graph, Dataset, pks)
    _dataset_links(graph, ModelDataset.objects.filter(dataset__in=pks), "dataset_id", "model_id")
    _evaluations(graph, EvaluationResult.objects.filter(dataset__in=pks), "dataset_id", "model_id")


def _dataset_links(graph: _Builder, links: QuerySet, anchor: str, other: str) -> None:
    roles = dict(DatasetRole.choices)
    for row in _neighbours(graph, links, anchor, other, "role"):
        graph.link(("model", row["model_id"]), ("dataset", row["dataset_id"]), "dataset", roles[row["role"]])


def _evaluations(graph: _Builder, results: QuerySet, anchor: str, other: str) -> None:
    """One edge per (model, dataset) pair with results, best results first (a dataset's leaderboard
    top for a dataset anchor), carrying up to RESULTS_PER_EDGE of them."""
    seen, total = _split(graph, results, anchor, other)
    if not total:
        return
    shown = results.filter(seen)
    fetch = graph.room() + len(graph.pending[_kind_of(other)]) + 1
    pairs = list(
        shown.values("model_id", "dataset_id")
        .annotate(best=Max("value"), n=Count("pk"))
        .order_by("-best", other)[:fetch]
    )
    if len(pairs) == fetch:
        graph.omitted += total - fetch
    kept = [p for p in pairs if graph.take(_kind_of(other), p[other])]
    best: dict[tuple[int, int], list[dict]] = {}
    wanted = {(p["model_id"], p["dataset_id"]) for p in kept}
    rows = results.filter(model__in={m for m, _ in wanted}, dataset__in={d for _, d in wanted})  # kept: visible
    for r in rows.order_by("metric", "split", "-value").values("model_id", "dataset_id", "metric", "split", "value"):
        pair = (r["model_id"], r["dataset_id"])
        if pair in wanted and len(best.setdefault(pair, [])) < RESULTS_PER_EDGE:
            best[pair].append({"metric": r["metric"], "split": r["split"], "value": r["value"]})
    for p in kept:
        pair = (p["model_id"], p["dataset_id"])
        first = best[pair][0]
        label = f"{first['metric']} {first['value']:g}"
        graph.link(("model", pair[0]), ("dataset", pair[1]), "evaluation", label, results=best[pair], count=p["n"])


def _license_edges(graph: _Builder, model_cls, pks: set[int]) -> None:
    licensed = model_cls.objects.filter(pk__in=pks, license__isnull=False).order_by()
    for pk, license_id in licensed.values_list("pk", "license"):
        graph.link((model_cls.kind, pk), ("license", license_id), "license", "licensed under")


def _expand_license(graph: _Builder, lic: License) -> None:
    """The assets under a licence that the caller may see, most downloaded first."""
    for model_cls in (MLModel, Dataset):
        fetch = graph.room() + 1
        under = model_cls.objects.visible_to(graph.user).filter(license=lic)
        pks = list(under.order_by("-downloads", "pk").values_list("pk", flat=True)[:fetch])
        if len(pks) == fetch:
            graph.omitted += under.count() - fetch
        for pk in pks:
            graph.link((model_cls.kind, pk), ("license", lic.pk), "license", "licensed under")


# --- the answer ------------------------------------------------------------------------------------


def _render(graph: _Builder, root_kind: str, root_pk: int) -> dict:
    models = (
        MLModel.objects.filter(pk__in=graph.pending["model"])
        .select_related("owner", "compliance")
        .only("pk", "name", "visibility", "license_id", "owner__username", *_COMPLIANCE_FIELDS)
    )
    datasets = Dataset.objects.filter(pk__in=graph.pending["dataset"]).select_related("owner")
    datasets = datasets.only("pk", "name", "visibility", "license_id", "owner__username")
    nodes: dict[tuple[str, int], dict] = {}
    violations: list[list[str]] = []
    for m in models:
        nodes[("model", m.pk)] = {**_asset_node(m), "verdict": verdict_of(m)}
        report = getattr(m, "compliance", None) if nodes[("model", m.pk)]["verdict"] != "unknown" else None
        violations += [f["path"] for f in (report.findings if report else []) if f["severity"] == "violation"]
    for d in datasets:
        nodes[("dataset", d.pk)] = _asset_node(d)
    for lic in License.objects.filter(pk__in=graph.pending["license"]).only("pk", "key", "spdx_id", "name", "category"):
        nodes[("license", lic.pk)] = {
            "id": node_id(lic),
            "kind": "license",
            "label": str(lic),
            "title": lic.name,
            "category": lic.category,
            "url": lic.get_absolute_url(),
        }
    on_path = {frozenset(pair) for path in violations for pair in zip(path, path[1:], strict=False)}
    edges = []
    for edge in graph.edges.values():
        source, target = edge.pop("ends")
        if source not in nodes or target not in nodes:
            continue
        refs = frozenset((f"{source[0]}:{source[1]}", f"{target[0]}:{target[1]}"))
        edges.append(
            {
                "id": f"{nodes[source]['id']}|{edge['kind']}|{nodes[target]['id']}",
                "source": nodes[source]["id"],
                "target": nodes[target]["id"],
                "violation": refs in on_path,
                **edge,
            }
        )
    private = _private_nodes(graph, nodes)
    edges += [edge for _, edge in private]
    root_id = nodes[(root_kind, root_pk)]["id"]
    return {
        "root": root_id,
        "nodes": [*nodes.values(), *(node for node, _ in private)],
        "edges": edges,
        "limit": graph.limit,
        "truncated": graph.omitted > 0,
        "omitted": graph.omitted,
    }


_COMPLIANCE_FIELDS = (
    "compliance__has_violations",
    "compliance__warning_count",
    "compliance__violation_count",
    "compliance__findings",
)


def _asset_node(asset) -> dict:
    return {
        "id": node_id(asset),
        "kind": asset.kind,
        "label": asset.full_name,
        "url": asset.get_absolute_url(),
        "private": asset.visibility == "private",
    }


def _private_nodes(graph: _Builder, nodes: dict) -> list[tuple[dict, dict]]:
    """One "private" node per anchor with links to assets the caller may not see: a count, no name."""
    out = []
    for anchor, count in sorted(graph.hidden.items()):
        if anchor not in nodes or not count:
            continue
        if graph.added >= graph.limit:
            graph.omitted += 1
            continue
        graph.added += 1
        anchor_id = nodes[anchor]["id"]
        node = {
            "id": f"private/{anchor_id}",
            "kind": "private",
            "label": "private asset" if count == 1 else f"{count} links to private assets",
            "count": count,
        }
        edge = {
            "id": f"{anchor_id}|private|private/{anchor_id}",
            "source": anchor_id,
            "target": node["id"],
            "kind": "private",
            "label": "links you cannot see",
            "violation": False,
        }
        out.append((node, edge))
    return out
