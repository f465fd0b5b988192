"""Licence-aware model recommendation for a dataset (issue #20, in the spirit of CRUX and ModsNet).

Given a query dataset — one in the catalogue, or a cold-start description (name, card, tasks, media,
columns) — rank the models the caller may see by the performance they are expected to reach on it:

1. **Similar datasets.** Every visible dataset with evaluation results is compared with the query: the
   cosine of their search embeddings (catalog.semantic, WordLlama) and the overlap (Jaccard) of their
   tasks, media and ``column type`` pairs. The ``MAX_NEIGHBOURS`` most similar become the evidence; a
   dataset that has visible results itself is its own nearest neighbour (similarity 1).
2. **Evidence propagation.** On each neighbour, one board (its split and metric with the most results)
   is standardised (accuracy-like values on the probit scale first, ``_probit_scale``): a model's z-score
   among the models evaluated there, and its rank. A model's expected score is the similarity-weighted
   mean of its z-scores (weight ``similarity ** SHARPNESS``), shrunk towards its prior by ``SHRINK`` (a
   model measured on one weak neighbour does not beat one measured well on all of them). The prior is
   ``PESSIMISM`` (an unmeasured model is assumed below average) moved by the popularity prior: log
   downloads among the candidates, ``POPULARITY`` z at most either way.
3. **Lineage.** A model without a result on a neighbour inherits its base's (at any depth up to
   ``MAX_DEPTH``) at weight ``DECAY ** depth``, else a sibling's (same visible base) at ``SIBLING``.
   Less weight means more shrinkage, so an heir ranks below its source: only the best
   ``max(LINEAGE_SOURCES, 4 k)`` measured models are followed.
4. **Cold models.** Models with no evidence at all come last, by the popularity prior, when they share
   a task or medium with the query.
5. **Confidence** in [0, 1]: the share of the neighbours' weight the model has evidence for (inherited
   evidence counts at its decayed weight), times the agreement of that evidence (1 / (1 + spread of its
   z-scores)).
6. **Licence.** Each recommendation carries the verdict of the model's stored compliance analysis
   (licensing.selectors, never recomputed here) for the requested purpose. With a purpose, a model whose
   analysis answers "no" is excluded; "unclear" and "not analysed" are kept and shown as such, unless
   ``strict`` asks for "yes" and "conditional" only.

Visibility: neighbours are datasets the caller may see, results are those whose model and dataset the
caller may see (the rule of ``EvaluationResult.visible_to``), lineage only passes through visible models, and every
recommended model is visible. A hidden dataset's results are never used, so no explanation can name it.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import CharField, Count, Exists, OuterRef, Q, Value
from django.db.models.functions import Coalesce, NullIf

from catalog import semantic
from catalog.idsets import InIds, id_rows
from catalog.models import (
    Dataset,
    EvaluationResult,
    FileColumn,
    Media,
    MLModel,
    ModelLineage,
    SearchEmbedding,
    Task,
)

MAX_K = 50
MAX_NEIGHBOURS = 8
MAX_POOL = 1000  # datasets with results compared with the query at most (the most recently updated first)
SHARPNESS = 2  # weight = similarity ** SHARPNESS: the nearest neighbours weigh most
SHRINK = 0.15  # prior weight, as a share of the neighbours' total weight
DECAY, SIBLING, MAX_DEPTH = 0.5, 0.25, 3
LINEAGE_SOURCES = 50  # the best measured models whose derivatives and siblings are scored (at least 4 k)
PROBIT = True  # accuracy-like boards standardised on the probit scale (_probit_scale)
_NORMAL = statistics.NormalDist()
POPULARITY = 0.5  # the popularity prior spans PESSIMISM - POPULARITY .. PESSIMISM + POPULARITY z
PESSIMISM = -1.0  # a model is assumed one standard deviation below the average where it was not measured
COLD_FLOOR = -3.0  # cold models rank below every model with evidence
CHUNK = 2000  # candidates whose licence answer is read at a time (one array parameter)
PURPOSES = ("commercial", "research", "redistribution")
ALLOWED = ("yes", "conditional")
NOT_ANALYSED = "not_analysed"
MAX_COLUMNS, MAX_CARD = 500, 20_000
SLUG = re.compile(r"^\s*[-\w]{1,100}\s*$", re.ASCII)


@dataclass
class Profile:
    """What the query dataset is, for similarity."""

    name: str
    tasks: frozenset[str]
    media: frozenset[str]
    columns: frozenset[str]
    vector: np.ndarray
    dataset_id: int | None = None
    full_name: str = ""


@dataclass
class Board:
    """One neighbour's standardised results."""

    dataset_id: int
    name: str
    similarity: float
    weight: float
    split: str
    metric: str
    values: dict[int, float]
    z: dict[int, float]
    rank: dict[int, int]
    percentile: dict[int, float] = field(default_factory=dict)


@dataclass
class Candidate:
    model_id: int
    score: float = 0.0
    percentile: float | None = None
    confidence: float = 0.0
    boards: list[Board] = field(default_factory=list)  # where its own results are
    inheritance: tuple[Inheritance, int] | None = None  # for a model scored on its kin's results: its row there
    cold: bool = False

    def evidence_hits(self) -> list[tuple]:
        """(board, z, weight, source model, "own"/"base"/"sibling", depth) of each board it has evidence on."""
        if self.inheritance is not None:
            table, row = self.inheritance
            return table.hits(row)
        return [(b, b.z[self.model_id], b.weight, self.model_id, "own", 0) for b in self.boards if self.model_id in b.z]

    @property
    def evidence(self) -> list[dict]:
        """What drove the score, heaviest first (built for the few candidates shown, not for every one)."""
        rows = [
            {
                "dataset": board.dataset_id,
                "name": board.name,
                "similarity": round(board.similarity, 3),
                "split": board.split,
                "metric": board.metric,
                "value": board.values[source],
                "rank": board.rank[source],
                "of": len(board.rank),
                "weight": round(weight, 4),
                "via": via,
                "model": source,
                "depth": depth,
            }
            for board, _, weight, source, via, depth in self.evidence_hits()
        ]
        return sorted(rows, key=lambda e: -e["weight"])

    @property
    def lineage(self) -> list[dict]:
        """The ancestors and siblings whose evidence was inherited, once each."""
        related = {(via, source): depth for _, _, _, source, via, depth in self.evidence_hits() if via != "own"}
        return [{"relation": via, "model": source, "depth": depth} for (via, source), depth in related.items()]


# --- the query ---------------------------------------------------------------------------------


def _column_keys(pairs) -> frozenset[str]:
    return frozenset(f"{name.strip().lower()}:{(kind or '').strip().lower()}" for name, kind in pairs)


def profile_of(dataset: Dataset) -> Profile:
    """The profile of a catalogue dataset; its stored embedding, or one computed in memory (never stored)."""
    return _profiles(Dataset.objects.filter(pk=dataset.pk))[0]


def _profiles(datasets) -> list[Profile]:
    """The profiles of ``datasets`` (a queryset, in its order) in three queries: the rows; their tasks, media
    and columns (one UNION ALL); their stored embeddings. A dataset without one is embedded in memory."""
    rows = list(datasets.values_list("pk", "name", "owner__username"))
    if not rows:
        return []
    ids = [pk for pk, _, _ in rows]
    facets: dict[int, dict[str, set]] = {pk: {"task": set(), "media": set(), "column": set()} for pk in ids}
    for dataset_id, kind, name, data_type in _facets(ids):
        facets[dataset_id][kind].add((name, data_type) if kind == "column" else name)
    stored = dict(SearchEmbedding.objects.filter(InIds("dataset_id", ids)).values_list("dataset_id", "vector"))
    vectors = {pk: semantic.from_bytes(raw) for pk, raw in stored.items() if raw is not None}
    if missing := [pk for pk in ids if pk not in vectors]:
        full = Dataset.objects.filter(pk__in=missing).select_related("owner", "license")
        full = list(full.prefetch_related("tasks", "media", "domains", "files__columns"))
        computed = semantic.encode([semantic.asset_text(d) for d in full])
        vectors.update(zip([d.pk for d in full], computed, strict=True))
    return [
        Profile(
            name=name,
            tasks=frozenset(facets[pk]["task"]),
            media=frozenset(facets[pk]["media"]),
            columns=_column_keys(facets[pk]["column"]),
            vector=vectors[pk],
            dataset_id=pk,
            full_name=f"{owner}/{name}",
        )
        for pk, name, owner in rows
    ]


def _facets(ids: list[int]):
    """(dataset, "task" / "media" / "column", slug or column name, column type) of the datasets ``ids``."""
    none = Value("", output_field=CharField())
    tasks = Dataset.tasks.through.objects.filter(InIds("dataset_id", ids)).values_list(
        "dataset_id", Value("task", output_field=CharField()), "task__slug", none
    )
    media = Dataset.media.through.objects.filter(InIds("dataset_id", ids)).values_list(
        "dataset_id", Value("media", output_field=CharField()), "mediatype_id", none
    )
    columns = FileColumn.objects.filter(InIds("dataset_file__dataset_id", ids)).values_list(
        "dataset_file__dataset_id",
        Value("column", output_field=CharField()),
        "name",
        Coalesce(NullIf("data_type_interpreted", Value("")), "data_type_original"),
    )
    return tasks.order_by().union(media.order_by(), columns.order_by(), all=True)


def profile_from_description(data: dict) -> Profile:
    """A cold-start profile from ``{"name", "card", "tasks": [slug], "media": [slug], "columns": [{"name",
    "type"}]}``; ValidationError naming the field for anything malformed or unknown."""
    errors: dict[str, list[str]] = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = ["Give the dataset's name (1-200 characters)."]
    card = data.get("card", "")
    if not isinstance(card, str) or len(card) > MAX_CARD:
        errors["card"] = [f"The card is text of at most {MAX_CARD} characters."]
    tasks, media = _slugs(data, "tasks", errors), _slugs(data, "media", errors)
    known = dict(Task.objects.filter(slug__in=tasks).values_list("slug", "name"))
    if unknown := sorted(set(tasks) - set(known)):
        errors["tasks"] = [f"Unknown task: {', '.join(unknown)}."]
    if unknown := sorted(set(media) - set(Media.values)):
        errors["media"] = [f"Unknown medium: {', '.join(unknown)} (one of {', '.join(Media.values)})."]
    columns = _columns(data.get("columns", []), errors)
    if errors:
        raise ValidationError(errors)
    text = semantic.description_text(
        full_name=name,
        name=name,
        tasks=[(known[slug], slug) for slug in tasks],
        media=media,
        license_name="",
        details=[],
        columns=columns,
        card=card,
    )
    return Profile(
        name=name.strip(),
        tasks=frozenset(tasks),
        media=frozenset(media),
        columns=_column_keys(columns),
        vector=semantic.encode([text])[0],
    )


def _slugs(data: dict, key: str, errors: dict) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or len(value) > 50 or not all(isinstance(v, str) and SLUG.match(v) for v in value):
        errors[key] = ["Give a list of at most 50 slugs (letters, digits, - and _)."]
        return []
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def _columns(value, errors: dict) -> list[tuple[str, str]]:
    if not isinstance(value, list) or len(value) > MAX_COLUMNS:
        errors["columns"] = [f'Give a list of at most {MAX_COLUMNS} columns, each {{"name": ..., "type": ...}}.']
        return []
    columns = []
    for i, column in enumerate(value):
        if not isinstance(column, dict) or not isinstance(column.get("name"), str) or not column["name"].strip():
            errors["columns"] = [f'Column {i + 1}: give {{"name": ..., "type": ...}} with a non-empty name.']
            return []
        kind = column.get("type", "")
        if not isinstance(kind, str):
            errors["columns"] = [f"Column {i + 1}: the type is text (e.g. int64, string, image)."]
            return []
        columns.append((column["name"].strip()[:200], kind.strip()[:100]))
    return columns


# --- similar datasets ---------------------------------------------------------------------------


def _jaccard(a: frozenset, b: frozenset) -> float | None:
    """None when neither side says anything (the component is left out, not counted as a mismatch)."""
    if not a and not b:
        return None
    return len(a & b) / len(a | b)


def similarity(query: Profile, other: Profile) -> float:
    """Half the embeddings' cosine, half the mean overlap of tasks, media and columns (those either
    side describes); the cosine alone when neither side describes any."""
    cosine = max(0.0, float(other.vector @ query.vector))
    overlaps = [
        j
        for j in (
            _jaccard(query.tasks, other.tasks),
            _jaccard(query.media, other.media),
            _jaccard(query.columns, other.columns),
        )
        if j is not None
    ]
    return 0.5 * cosine + 0.5 * (sum(overlaps) / len(overlaps)) if overlaps else cosine


def _pool(user, query: Profile) -> list[Profile]:
    """Profiles of the visible datasets with results (the query's own dataset included)."""
    evaluated = EvaluationResult.objects.values("dataset_id")
    return _profiles(Dataset.objects.visible_to(user).filter(pk__in=evaluated).order_by("-updated_at", "pk")[:MAX_POOL])


def neighbours(user, query: Profile) -> list[tuple[Profile, float]]:
    """The ``MAX_NEIGHBOURS`` visible evaluated datasets most similar to the query, most similar first."""
    scored = [
        (other, 1.0 if other.dataset_id == query.dataset_id else similarity(query, other))
        for other in _pool(user, query)
    ]
    scored = [(other, sim) for other, sim in scored if sim > 0]
    scored.sort(key=lambda item: (-item[1], item[0].dataset_id))
    return scored[:MAX_NEIGHBOURS]


def boards(user, near: list[tuple[Profile, float]]) -> tuple[list[Board], dict[int, int]]:
    """Each neighbour's most populated (split, metric) board, standardised, from the visible results only,
    and the downloads of the visible models measured there. The neighbours are visible datasets (``_pool``);
    a result counts when its model is visible too (the rule of ``EvaluationResult.visible_to``), checked on
    the fetched model ids: a subquery of every visible model would make the database read them all."""
    results = EvaluationResult.objects.filter(dataset_id__in=[p.dataset_id for p, _ in near])
    sizes = results.order_by().values_list("dataset_id", "split", "metric").annotate(n=Count("pk"))
    chosen: dict[int, tuple] = {}
    for dataset_id, split, metric, n in sizes:
        key = (n, metric == "top1", split, metric)
        if dataset_id not in chosen or key > chosen[dataset_id]:
            chosen[dataset_id] = key
    if not chosen:
        return [], {}
    wanted = Q()
    for dataset_id, (_, _, split, metric) in chosen.items():
        wanted |= Q(dataset_id=dataset_id, split=split, metric=metric)
    rows = list(results.filter(wanted).order_by().values_list("dataset_id", "model_id", "value", "higher_is_better"))
    downloads = _visible_models(user, {row[1] for row in rows})
    grouped: dict[int, dict[int, float]] = defaultdict(dict)
    for dataset_id, model_id, value, higher in rows:
        if model_id in downloads:
            grouped[dataset_id][model_id] = value if higher else -value
    found = [
        _board(profile, sim, chosen[profile.dataset_id][2], chosen[profile.dataset_id][3], grouped[profile.dataset_id])
        for profile, sim in near
        if grouped.get(profile.dataset_id)
    ]
    return found, downloads


def _visible_models(user, ids: set[int]) -> dict[int, int]:
    """The downloads of the models among ``ids`` that ``user`` may see (the ids as one parameter)."""
    if not ids:
        return {}
    return dict(MLModel.objects.visible_to(user).filter(InIds("pk", ids)).order_by().values_list("pk", "downloads"))


def _probit_scale(values: dict[int, float]) -> dict[int, float]:
    """Accuracy-like boards (every value a share in [0, 1] or a percentage in [0, 100]) on the probit scale,
    where accuracies on related distributions are close to linear in each other ("Accuracy on the Line",
    Miller et al., 2021); other metrics as they are. Signs (lower is better) are kept."""
    magnitudes = [abs(v) for v in values.values()]
    top = 100.0 if max(magnitudes) > 1 else 1.0
    if not PROBIT or max(magnitudes) > 100 or any(v < 0 for v in values.values()):
        return values
    clip = lambda share: min(max(share, 1e-4), 1 - 1e-4)  # noqa: E731
    return {m: _NORMAL.inv_cdf(clip(v / top)) for m, v in values.items()}


def _board(profile: Profile, sim: float, split: str, metric: str, values: dict[int, float]) -> Board:
    z, percentile, rank = _standardised(tuple(sorted(values.items())))
    return Board(
        dataset_id=profile.dataset_id,
        name=profile.full_name,
        similarity=sim,
        weight=sim**SHARPNESS,
        split=split,
        metric=metric,
        values={m: abs(v) for m, v in values.items()},
        z=z,
        percentile=percentile,
        rank=rank,
    )


@lru_cache(maxsize=64)
def _standardised(items: tuple[tuple[int, float], ...]) -> tuple[dict, dict, dict]:
    """z-scores, percentiles and ranks of one board's (model, value) pairs. Kept per process for the same
    pairs (a board read again unchanged, by the same or another caller who sees the same models): the
    probit of thousands of values is most of a board's cost. Callers must not change the dicts."""
    values = dict(items)
    scaled = _probit_scale(values)
    array = np.fromiter(scaled.values(), dtype=float)
    mean, std = float(array.mean()), float(array.std()) or 1.0
    z = {m: (v - mean) / std for m, v in scaled.items()}
    ordered = sorted(values, key=lambda m: (-values[m], m))
    return z, {m: _percentile(v) for m, v in z.items()}, {m: i + 1 for i, m in enumerate(ordered)}


# --- evidence over the results graph and the lineage ---------------------------------------------

LINEAGE_SQL = """
WITH RECURSIVE src(id) AS ({sources}),
down(model_id, base_id, depth) AS (
    SELECT l.model_id, l.base_id, 1 FROM {lineage} l WHERE l.base_id IN (SELECT id FROM src)
    UNION
    SELECT l.model_id, l.base_id, d.depth + 1 FROM {lineage} l JOIN down d ON l.base_id = d.model_id
    WHERE d.depth < %s
)
SELECT 'down', model_id, base_id, depth FROM down
UNION ALL
SELECT 'up', l.model_id, l.base_id, 0 FROM {lineage} l WHERE l.model_id IN (SELECT id FROM src)
UNION ALL
SELECT 'kin', k.model_id, k.base_id, 0 FROM {lineage} k
WHERE k.base_id IN (SELECT l.base_id FROM {lineage} l WHERE l.model_id IN (SELECT id FROM src))
"""


def _lineage_edges(sources: set[int]) -> list[tuple[str, int, int, int]]:
    """Every lineage edge the walk from ``sources`` may take, in one statement, visible or not (the walk
    decides): ("down", child, base, depth) up to MAX_DEPTH generations, ("up", source, its base) and
    ("kin", child, base) of those bases. Only ids: nothing of a hidden model leaves this function."""
    rows, params = id_rows(sources)
    sql = LINEAGE_SQL.format(sources=rows, lineage=ModelLineage._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, MAX_DEPTH])
        return cursor.fetchall()


def _lineage(user, sources: set[int]):
    """Models near ``sources`` through visible lineage edges: ``{model: [(source ancestor, depth)]}`` for
    their derivatives (up to MAX_DEPTH, through visible models only) and ``{model: [(sibling source, shared
    base)]}`` (through a visible base), with their downloads. Two queries: the edges, then ``visible_to``."""
    down: dict[int, list[tuple[int, int]]] = defaultdict(list)
    up, kin = [], []
    for kind, model_id, base_id, depth in _lineage_edges(sources):
        if kind == "down":
            down[depth].append((model_id, base_id))
        else:
            (up if kind == "up" else kin).append((model_id, base_id))
    visible = _visible_models(
        user, {m for edges in down.values() for m, _ in edges} | {b for _, b in up} | {m for m, _ in kin}
    )
    ancestors: dict[int, list[tuple[int, int]]] = defaultdict(list)
    frontier: dict[int, list[int]] = {m: [m] for m in sources}  # node -> the sources it descends from
    reached: set[int] = set()
    for depth in range(1, MAX_DEPTH + 1):
        edges = [(model_id, base_id) for model_id, base_id in down[depth] if base_id in frontier]
        reached.update(model_id for model_id, _ in edges)
        nxt: dict[int, list[int]] = defaultdict(list)
        for model_id, base_id in edges:
            for source in frontier[base_id]:
                if model_id in visible and model_id != source:
                    ancestors[model_id].append((source, depth))
                    nxt[model_id].append(source)
        if not nxt:
            break
        frontier = nxt
    bases_of = defaultdict(set)
    for model_id, base_id in up:
        if base_id in visible:
            bases_of[base_id].add(model_id)
    siblings: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for model_id, base_id in kin:
        if base_id in bases_of and model_id in visible:
            reached.add(model_id)
            siblings[model_id] += [(s, base_id) for s in bases_of[base_id] if s != model_id]
    return ancestors, siblings, {m: visible[m] for m in reached if m in visible}


def _percentile(z: float) -> float:
    """The share of a board's models a z-score beats (normal approximation), in percent."""
    return 50 * (1 + math.erf(z / math.sqrt(2)))


def _priors(downloads: dict[int, int]) -> dict[int, float]:
    """The popularity prior: log downloads scaled to [-POPULARITY, +POPULARITY] among the candidates."""
    logs = {m: math.log1p(d) for m, d in downloads.items()}
    top = max(logs.values(), default=0.0) or 1.0
    return {m: PESSIMISM + POPULARITY * (2 * v / top - 1) for m, v in logs.items()}


@dataclass
class Evidence:
    """Per candidate (row) and board (column): the z-score, percentile and weight of the evidence used
    (weight 0: none on that board). A model's score is the weighted mean of its z-scores shrunk towards its
    prior by ``SHRINK``; its confidence the share of the boards' weight it has evidence for, times the
    agreement of that evidence (1 / (1 + spread of its z-scores))."""

    ids: list[int]
    z: np.ndarray
    pct: np.ndarray
    w: np.ndarray

    def scored(self, board_list: list[Board], priors: dict[int, float]) -> tuple[np.ndarray, ...]:
        """Each row's score, percentile and confidence (every row has evidence on at least one board)."""
        weights = self.w.sum(axis=1)
        total = sum(b.weight for b in board_list)
        shrink = SHRINK * total
        prior = np.fromiter((priors.get(m, PESSIMISM) for m in self.ids), dtype=float, count=len(self.ids))
        score = ((self.w * self.z).sum(axis=1) + shrink * prior) / (weights + shrink)
        mean = (self.w * self.z).sum(axis=1) / weights
        spread = np.sqrt((self.w * (self.z - mean[:, None]) ** 2).sum(axis=1) / weights)
        percentile = (self.w * self.pct).sum(axis=1) / weights
        confidence = np.minimum(1.0, weights / total) / (1 + spread)
        return score, percentile, confidence


def _ranked(board_list: list[Board], priors: dict[int, float], measured: Evidence, inheritance=None) -> list:
    """The measured and inherited candidates, best first: by score, then confidence, then the smaller id."""
    tables = [measured] if inheritance is None else [measured, inheritance.evidence]
    scored = [table.scored(board_list, priors) for table in tables]
    ids = np.concatenate([np.asarray(table.ids, dtype=np.int64) for table in tables])
    score, percentile, confidence = (np.concatenate([s[i] for s in scored]) for i in range(3))
    order = np.lexsort((ids, -confidence, -score)).tolist()
    ranked = []
    for i, m, a, p, c in zip(
        order,
        ids[order].tolist(),
        score[order].tolist(),
        percentile[order].tolist(),
        confidence[order].tolist(),
        strict=True,
    ):
        candidate = Candidate(model_id=m, score=a, percentile=p, confidence=c, boards=board_list)
        if i >= len(measured.ids):
            candidate.inheritance = (inheritance, i - len(measured.ids))
        ranked.append(candidate)
    return ranked


def _measured(board_list: list[Board]) -> Evidence:
    """Every model measured on the boards, with its own results (thousands of models a request)."""
    ids = sorted(set().union(*(b.z for b in board_list)))
    row = {m: i for i, m in enumerate(ids)}
    z = np.zeros((len(ids), len(board_list)))
    pct = np.zeros_like(z)
    w = np.zeros_like(z)
    for j, board in enumerate(board_list):
        rows = [row[m] for m in board.z]
        z[rows, j] = list(board.z.values())
        pct[rows, j] = [board.percentile[m] for m in board.z]
        w[rows, j] = board.weight
    return Evidence(ids, z, pct, w)


@dataclass
class Inheritance:
    """Which model's result each inherited candidate (row) takes on each board (column), and how."""

    boards: list[Board]
    evidence: Evidence
    source: np.ndarray  # the measured model whose result is inherited (0: none on that board)
    depth: np.ndarray  # generations up to an ancestor; MAX_DEPTH + 1 for a sibling

    def hits(self, row: int) -> list[tuple]:
        found = []
        for j, board in enumerate(self.boards):
            source, depth = int(self.source[row, j]), int(self.depth[row, j])
            if source:
                via, depth = ("base", depth) if depth <= MAX_DEPTH else ("sibling", 1)
                found.append(
                    (board, float(self.evidence.z[row, j]), float(self.evidence.w[row, j]), source, via, depth)
                )
        return found


def _inherited(board_list: list[Board], measured: Evidence, kin: list[int], ancestors, siblings) -> Inheritance:
    """On each board, each of ``kin`` (models without results of their own) takes its nearest ancestor's
    result (the best of the nearest, at ``DECAY ** depth``), else its best sibling's (at ``SIBLING``); ties
    go to the smaller model id. Array arithmetic over (model, related source) pairs, a board at a time."""
    row_of = {m: i for i, m in enumerate(measured.ids)}
    sibling = MAX_DEPTH + 1
    pairs = [(c, row_of[s], s, d) for c, m in enumerate(kin) for s, d in ancestors.get(m, ())]
    pairs += [(c, row_of[s], s, sibling) for c, m in enumerate(kin) for s, _ in siblings.get(m, ())]
    cand, src_row, src, depth = (np.array(column, dtype=np.int64) for column in zip(*pairs, strict=True))
    factor = np.where(depth == sibling, SIBLING, DECAY ** np.minimum(depth, MAX_DEPTH).astype(float))
    shape = (len(kin), len(board_list))
    evidence = Evidence(kin, np.zeros(shape), np.zeros(shape), np.zeros(shape))
    chosen_source, chosen_depth = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    for j, board in enumerate(board_list):
        z = measured.z[src_row, j]
        on = np.flatnonzero(measured.w[src_row, j] > 0)
        on = on[np.lexsort((src[on], -z[on], depth[on], cand[on]))]  # per candidate: nearest, best, smallest id
        best = on[np.unique(cand[on], return_index=True)[1]]
        rows = cand[best]
        evidence.z[rows, j] = z[best]
        evidence.pct[rows, j] = measured.pct[src_row[best], j]
        evidence.w[rows, j] = board.weight * factor[best]
        chosen_source[rows, j], chosen_depth[rows, j] = src[best], depth[best]
    return Inheritance(board_list, evidence, chosen_source, chosen_depth)


def evidence_candidates(board_list: list[Board], downloads: dict[int, int], user, k: int) -> list[Candidate]:
    """Every visible model with direct or inherited evidence, scored and explained, best first. Inherited
    evidence weighs less than the source's own, so a derivative or sibling ranks below its source: only the
    best ``max(LINEAGE_SOURCES, 4 k)`` measured models are followed down the lineage."""
    measured = _measured(board_list)
    if not measured.ids:
        return []
    score, _, confidence = measured.scored(board_list, _priors(downloads))
    best = np.lexsort((np.asarray(measured.ids), -confidence, -score))[: max(LINEAGE_SOURCES, 4 * k)]
    sources = {measured.ids[i] for i in best.tolist()}
    ancestors, siblings, kin_downloads = _lineage(user, sources)
    kin = sorted((set(ancestors) | set(siblings)) - set(downloads))
    if not kin:
        return _ranked(board_list, _priors(downloads), measured)
    priors = _priors({**downloads, **kin_downloads})  # the popularity prior over everyone
    return _ranked(board_list, priors, measured, _inherited(board_list, measured, kin, ancestors, siblings))


def cold_candidates(user, query: Profile, exclude: set[int], limit: int) -> list[Candidate]:
    """Models with no evidence that share a task or medium with the query, the most downloaded first."""
    if not query.tasks and not query.media:
        return []
    tasks = MLModel.tasks.through.objects.filter(mlmodel_id=OuterRef("pk"), task__slug__in=query.tasks)
    media = MLModel.media.through.objects.filter(mlmodel_id=OuterRef("pk"), mediatype_id__in=query.media)
    # One EXISTS over both links, not EXISTS(tasks) OR EXISTS(media): PostgreSQL would hash every link of
    # the task (51,000 at a million models) before reading the first model; this probes the few it reads.
    shares = Exists(tasks.values("mlmodel_id").union(media.values("mlmodel_id"), all=True))
    rows = (
        MLModel.objects.visible_to(user)
        .filter(shares)
        .exclude(InIds("pk", exclude))
        .order_by("-downloads", "pk")
        .values_list("pk", "downloads")[:limit]
    )
    rows = list(rows)
    priors = _priors(dict(rows))
    return [Candidate(model_id=m, score=COLD_FLOOR + priors.get(m, 0.0), cold=True) for m, _ in rows]


# --- the recommendation ---------------------------------------------------------------------------


@dataclass
class Recommendation:
    query: Profile
    purpose: str | None
    strict: bool
    neighbours: list[Board]
    results: list[dict]
    excluded: dict[str, int]


def recommend(user, query: Profile, *, k: int = 10, purpose: str | None = None, strict: bool = False) -> Recommendation:
    """The top ``k`` models for ``query`` among those ``user`` may see, with their licence answers for
    ``purpose`` (None: all three, nothing excluded). Reads only."""
    if not 1 <= k <= MAX_K:
        raise ValidationError({"k": [f"Give a whole number from 1 to {MAX_K}."]})
    if purpose is not None and purpose not in PURPOSES:
        raise ValidationError({"purpose": [f"Must be one of {', '.join(PURPOSES)}."]})
    board_list, downloads = boards(user, neighbours(user, query))
    ranked = evidence_candidates(board_list, downloads, user, k)
    kept, excluded = _licensed(ranked, k, purpose, strict)
    if len(kept) < k:  # cold models fill what evidence could not
        cold = cold_candidates(user, query, {c.model_id for c in ranked}, (k - len(kept)) * 4)
        more, more_excluded = _licensed(cold, k - len(kept), purpose, strict)
        kept += more
        for answer, n in more_excluded.items():
            excluded[answer] = excluded.get(answer, 0) + n
    return Recommendation(
        query=query,
        purpose=purpose,
        strict=strict,
        neighbours=board_list,
        results=_present(user, query, kept, purpose),
        excluded=excluded,
    )


def _licensed(ranked: list[Candidate], k: int, purpose: str | None, strict: bool):
    """The first ``k`` candidates the stored analysis allows for ``purpose``, read CHUNK at a time,
    each with its answers; and how many were left out per answer."""
    from licensing.selectors import purpose_answers

    kept: list[tuple[Candidate, dict[str, str]]] = []
    excluded: dict[str, int] = {}
    wanted = [purpose] if purpose else list(PURPOSES)
    step = CHUNK if purpose else k  # without a purpose nothing is left out: the first k are the answer
    for start in range(0, len(ranked), step):
        chunk = ranked[start : start + step]
        answers = purpose_answers([c.model_id for c in chunk], wanted)
        for candidate in chunk:
            stored = answers.get(candidate.model_id, {})
            mine = {p: stored.get(p) or NOT_ANALYSED for p in wanted}
            answer = mine.get(purpose) if purpose else None
            if purpose and (answer == "no" or (strict and answer not in ALLOWED)):
                excluded[answer] = excluded.get(answer, 0) + 1
                continue
            kept.append((candidate, mine))
            if len(kept) == k:
                return kept, excluded
    return kept, excluded


def _present(user, query: Profile, kept: list, purpose: str | None) -> list[dict]:
    """The rows of the answer: model, score, confidence, licence answers and the explanation."""
    from licensing.compliance import present, report_refs, visible_names
    from licensing.models import ComplianceReport

    reports, named = {}, {}
    if purpose:  # the reasons of the answer, as the model's page shows them to this user (hidden assets unnamed)
        reports = {r.model_id: r for r in ComplianceReport.objects.filter(model_id__in=[c.model_id for c, _ in kept])}
        named = visible_names(user, [ref for r in reports.values() for ref in report_refs(r.findings, r.verdicts)])
    ids = {c.model_id for c, _ in kept} | {e["model"] for c, _ in kept for e in c.evidence}
    models = {
        m.pk: m
        for m in MLModel.objects.filter(pk__in=ids)
        .select_related("owner", "license")
        .prefetch_related("tasks", "media")
    }
    rows = []
    for candidate, answers in kept:
        model = models[candidate.model_id]
        tasks = sorted(t.slug for t in model.tasks.all() if t.slug in query.tasks)
        media = sorted(m.slug for m in model.media.all() if m.slug in query.media)
        licence = {"answers": answers}
        if purpose:
            report = reports.get(model.pk)
            shown = present(report.findings, report.verdicts, user, purpose=purpose, visible=named) if report else {}
            shown = shown.get("verdicts", {})
            reasons = shown.get(purpose, {}).get("reasons", [])
            licence = {"purpose": purpose, "answer": answers[purpose], "reasons": reasons}
        evidence = [{**e, "model": models[e["model"]].full_name} for e in candidate.evidence]
        rows.append(
            {
                "model": model,
                "score": round(candidate.score, 3),
                "percentile": None if candidate.percentile is None else round(candidate.percentile, 1),
                "confidence": round(candidate.confidence, 3),
                "licence": licence,
                "evidence": evidence,
                "lineage": [{**e, "model": models[e["model"]].full_name} for e in candidate.lineage],
                "tasks": tasks,
                "media": media,
                "cold": candidate.cold,
                "explanation": explain(candidate, evidence, tasks, media),
            }
        )
    return rows


def explain(candidate: Candidate, evidence: list[dict], tasks: list[str], media: list[str]) -> str:
    """One or two sentences a person reads: the evidence that weighed most, and the matches."""
    parts = []
    if candidate.cold:
        parts.append("No results on similar datasets: suggested by popularity")
    for e in evidence[:3]:
        where = f"{_ordinal(e['rank'])} of {e['of']} on {e['name']} (similarity {e['similarity']:.2f})"
        if e["via"] == "base":
            generations = "its base" if e["depth"] == 1 else f"its ancestor ({e['depth']} generations up)"
            where = f"{generations} {e['model']} is {where}"
        elif e["via"] == "sibling":
            where = f"its sibling {e['model']} is {where}"
        parts.append(where)
    matches = [f"task {', '.join(tasks)}"] if tasks else []
    matches += [f"{', '.join(media)} data"] if media else []
    text = "; ".join(parts)
    if matches:
        text += f". Matches the {' and '.join(matches)}"
    return text[0].upper() + text[1:] + "." if text else ""


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
