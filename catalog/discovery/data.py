"""Data discovery (issue 20, part 3): the datasets suited to a model, and the files that could extend a
dataset file (union and join search). One implementation for the API and the pages; every candidate comes
from the caller's ``visible_to``, and the query asset is looked up by the caller through it (404).

Suited datasets rank the visible datasets that share a task or a medium with the model, or whose embedding
is near the model's (``catalog.semantic``), by task and media overlap, column overlap with the data the model
already uses, and that similarity; each carries what training the model on it would mean for its licence,
from the compliance analysis itself (``licensing.compliance.analyse_with``): the findings it would add and
the answer for each purpose.

Union/join search compares the query file's columns with every visible profiled column of the same type:
names (normalised, then shared words), and values through the MinHash sketch profiling keeps per column
(``catalog.profiling.ValueSketch``): a Jaccard estimate, and from it and the distinct counts the share of
the query column's values found in the other column (containment). A union candidate matches the query's
columns one to one (same type, similar names, overlapping values); a join candidate has a key column (mostly
distinct values) that holds most of the values of one of the query's columns, scored by that share times the
share of its columns that would be new. See docs/discovery.md ("Data discovery").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from django.db.models import Count, Q
from django.db.models.fields.json import KT

from catalog import semantic
from catalog.models import Dataset, DatasetFile, FileColumn, MLModel, SearchEmbedding
from catalog.profiling import VALUE_SKETCH_BINS, normal_name

EMPTY_BIN = 0xFFFFFFFF
NAME_WEIGHT, VALUE_WEIGHT = 0.25, 0.75  # values are the evidence; equal names alone are a weak hint
MIN_PAIR_SCORE = 0.2  # a union pair weaker than this is no match
MIN_JOIN = 0.3  # share of the query column's values the key column must hold
KEY_SHARE = 0.9  # distinct / non-null values from which a column counts as a key


_normal = lru_cache(maxsize=65536)(normal_name)  # column names repeat across a catalogue; two regexes each


# --- value sketches ---------------------------------------------------------------------------


def sketch(raw: bytes | memoryview | None) -> np.ndarray | None:
    if raw is None:
        return None
    array = np.frombuffer(bytes(raw), dtype="<u4")
    return array if len(array) == VALUE_SKETCH_BINS else None


class SketchMatrix:
    """Many sketches, one row each, compared with one sketch at a time (``jaccard``)."""

    def __init__(self, sketches: list[np.ndarray]):
        self.rows = np.vstack(sketches) if sketches else np.zeros((0, VALUE_SKETCH_BINS), dtype=np.uint32)
        self.empty = self.rows == EMPTY_BIN

    def jaccard(self, query: np.ndarray) -> np.ndarray:
        """The Jaccard estimate between ``query`` and each row: matching bins over the bins not empty in both
        (the one-permutation MinHash estimator). A bin empty in both reads as a match; those are taken off."""
        if len(self.rows) == 0:
            return np.zeros(0)
        matches = (self.rows == query).view(np.uint8).sum(axis=1, dtype=np.int32)  # bools as bytes: one pass
        query_empty = query == EMPTY_BIN
        both_empty = self.empty[:, query_empty].sum(axis=1, dtype=np.int32) if query_empty.any() else 0
        used = VALUE_SKETCH_BINS - both_empty
        return np.where(used > 0, (matches - both_empty) / np.maximum(used, 1), 0.0)


def containment(jaccard: float, query_distinct: int | None, other_distinct: int | None) -> float:
    """The share of the query column's distinct values found in the other column, from the Jaccard estimate
    and both distinct counts: |A ∩ B| = J (|A| + |B|) / (1 + J)."""
    if not query_distinct or other_distinct is None or jaccard <= 0:
        return 0.0
    shared = jaccard * (query_distinct + other_distinct) / (1 + jaccard)
    return float(min(1.0, shared / query_distinct))


def name_similarity(a: str, b: str) -> float:
    """1 for the same normalised name (``customerId`` = ``customer_id``), else the share of words in common."""
    a, b = _normal(a), _normal(b)
    if a == b:
        return 1.0 if a else 0.0
    words_a, words_b = set(a.split("_")) - {""}, set(b.split("_")) - {""}
    if not words_a or not words_b:
        return 0.0
    return len(words_a & words_b) / len(words_a | words_b)


# --- union / join search ----------------------------------------------------------------------


@dataclass
class Column:
    id: int
    file_id: int
    name: str
    type: str
    distinct: int | None
    count: int | None
    sketch: np.ndarray | None

    @property
    def is_key(self) -> bool:
        """Mostly distinct values (ids, codes): what a join matches on."""
        return bool(self.distinct and self.count and self.distinct > 1 and self.distinct >= KEY_SHARE * self.count)


@dataclass
class ColumnMatch:
    query_column: str
    column: str
    type: str
    name_similarity: float
    jaccard: float | None  # None: a column has no value sketch (described by metadata, not profiled)
    containment: float | None
    score: float

    @property
    def explanation(self) -> str:
        parts = []
        if self.name_similarity == 1:
            parts.append("same name")
        elif self.name_similarity:
            parts.append(f"similar name ({self.name_similarity:.0%} of words shared)")
        parts.append(f"both {self.type}")
        if self.jaccard is not None:
            parts.append(
                f"values overlap {self.jaccard:.0%} (Jaccard), {self.containment:.0%} of {self.query_column!r}"
            )
        return ", ".join(parts)


@dataclass
class RelatedFile:
    file: DatasetFile
    kind: str  # "union" (same schema) or "join" (a key column holding the query column's values)
    score: float
    union_score: float
    join_score: float
    union: list[ColumnMatch] = field(default_factory=list)
    join: ColumnMatch | None = None

    @property
    def explanation(self) -> str:
        if self.kind == "join" and self.join is not None:
            return (
                f"join on {self.join.query_column!r} = {self.join.column!r}: {self.join.containment:.0%} of the values "
                f"of {self.join.query_column!r} are in that key column"
            )
        return f"union: {len(self.union)} column{'s' if len(self.union) != 1 else ''} match ({self.union_score:.0%})"


def _columns(queryset) -> list[Column]:
    rows = queryset.annotate(distinct=KT("stats__distinct"), total=KT("stats__count"), nulls=KT("stats__nulls"))
    fields = ("id", "dataset_file_id", "name", "data_type_interpreted", "data_type_original", "distinct", "total")
    return [
        Column(
            pk,
            file_id,
            name,
            interpreted or original.lower(),
            int(distinct) if distinct is not None else None,
            int(total) - int(nulls or 0) if total is not None else None,
            sketch(raw),
        )
        for pk, file_id, name, interpreted, original, distinct, total, nulls, raw in rows.values_list(
            *fields, "nulls", "value_sketch"
        )
    ]


def related_files(dataset_file: DatasetFile, user, *, limit: int = 10) -> list[RelatedFile]:
    """The files of datasets ``user`` may see whose columns could extend ``dataset_file`` (which the caller
    found through visible_to), best first."""
    query = _columns(FileColumn.objects.filter(dataset_file=dataset_file).order_by("position"))
    if not query:
        return []
    types = {c.type for c in query}
    candidates = _columns(
        FileColumn.objects.filter(dataset_file__dataset__in=Dataset.objects.visible_to(user))
        .exclude(dataset_file=dataset_file)
        .filter(Q(data_type_interpreted__in=types) | Q(data_type_interpreted=""))
        .order_by()
    )
    candidates = [c for c in candidates if c.type in types]
    pairs = _pair_scores(query, candidates)
    by_file: dict[int, list[tuple[Column, Column, ColumnMatch]]] = {}
    for q, c, match in pairs:
        by_file.setdefault(c.file_id, []).append((q, c, match))
    counts = _column_counts(list(by_file))
    found = [_rank_file(file_id, matches, len(query), counts[file_id]) for file_id, matches in by_file.items()]
    found = sorted((f for f in found if f.score > 0), key=lambda f: (-f.score, f.file.pk))[:limit]
    files = DatasetFile.objects.select_related("dataset__owner").in_bulk([f.file.pk for f in found])
    for f in found:
        f.file = files[f.file.pk]
    return found


def _pair_scores(query: list[Column], candidates: list[Column]) -> list[tuple[Column, Column, ColumnMatch]]:
    """The (query column, candidate column) pairs of the same type that can count: a union pair (score at
    least MIN_PAIR_SCORE: the same normalised name, or overlapping values) or a join pair (containment at least
    MIN_JOIN). Names that are merely alike, with no shared values, cannot reach either and are not compared."""
    by_name: dict[str, list[int]] = {}
    for i, c in enumerate(candidates):
        by_name.setdefault(_normal(c.name), []).append(i)
    types = np.array([c.type for c in candidates], dtype=object)
    positions = np.array([i for i, c in enumerate(candidates) if c.sketch is not None], dtype=np.intp)
    matrix = SketchMatrix([candidates[i].sketch for i in positions])
    pairs = []
    for q in query:
        same_type = types == q.type
        overlaps: dict[int, float] = {}
        if q.sketch is not None and len(positions):
            found = matrix.jaccard(q.sketch)
            keep = (found > 0) & same_type[positions]
            overlaps = dict(zip(positions[keep].tolist(), found[keep].tolist(), strict=True))
        named = [i for i in by_name.get(_normal(q.name), []) if same_type[i]]
        for i in set(named) | overlaps.keys():
            if match := _match(q, candidates[i], overlaps.get(i, 0.0)):
                pairs.append((q, candidates[i], match))
    return pairs


def _match(q: Column, c: Column, overlap: float) -> ColumnMatch | None:
    similar = name_similarity(q.name, c.name)
    jaccard = overlap if q.sketch is not None and c.sketch is not None else None
    contained = containment(jaccard, q.distinct, c.distinct) if jaccard is not None else None
    score = NAME_WEIGHT * similar + VALUE_WEIGHT * (jaccard or 0.0)
    if score < MIN_PAIR_SCORE and (contained or 0.0) < MIN_JOIN:
        return None
    return ColumnMatch(q.name, c.name, q.type, round(similar, 3), _round(jaccard), _round(contained), round(score, 4))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _column_counts(file_ids: list[int]) -> dict[int, int]:
    rows = FileColumn.objects.filter(dataset_file__in=file_ids).values("dataset_file").annotate(n=Count("pk"))
    return {row["dataset_file"]: row["n"] for row in rows.order_by()}


def _rank_file(file_id: int, pairs: list, query_count: int, column_count: int) -> RelatedFile:
    """Union: the best one-to-one matching of columns (greedy by score) over the larger schema; join: the
    best key column holding the values of a query column."""
    used_q, used_c, union = set(), set(), []
    for q, c, match in sorted(pairs, key=lambda p: (-p[2].score, p[0].id, p[1].id)):
        if match.score >= MIN_PAIR_SCORE and q.id not in used_q and c.id not in used_c:
            used_q.add(q.id)
            used_c.add(c.id)
            union.append(match)
    union_score = sum(m.score for m in union) / max(query_count, column_count, 1)
    joins = [
        (match.containment, match)
        for q, c, match in pairs
        if match.containment and match.containment >= MIN_JOIN and (c.is_key or q.is_key) and q.type != "boolean"
    ]
    join_score, join = max(joins, key=lambda j: (j[0], j[1].score)) if joins else (0.0, None)
    join_score *= 1 - len(used_c) / max(column_count, 1)  # a join is worth the columns it adds
    kind = "join" if join_score > union_score else "union"
    score = round(max(union_score, join_score), 4)
    return RelatedFile(DatasetFile(pk=file_id), kind, score, round(union_score, 4), round(join_score, 4), union, join)


# --- datasets suited to a model ---------------------------------------------------------------

SUITED_POOL = 200  # datasets sharing a task or medium considered, most shared first
SUITED_NEAREST = 50  # plus the datasets whose embedding is nearest the model's
WEIGHTS = {"tasks": 0.4, "media": 0.15, "columns": 0.2, "similarity": 0.25}
LICENCE_PENALTY = {"violation": 0.5, "warning": 0.85}  # a dataset the model may not be trained on sinks


@dataclass
class SuitedDataset:
    dataset: Dataset
    score: float
    parts: dict  # tasks, media, columns, similarity: each from 0 to 1 (columns None without reference data)
    shared_tasks: list[str]
    shared_media: list[str]
    shared_columns: list[str]
    licence: dict = field(default_factory=dict)

    @property
    def reasons(self) -> list[str]:
        said = []
        if self.shared_tasks:
            said.append("task " + ", ".join(self.shared_tasks))
        if self.shared_media:
            said.append("media " + ", ".join(self.shared_media))
        if self.shared_columns:
            more = len(self.shared_columns) - 8
            said.append("columns " + ", ".join(self.shared_columns[:8]) + (f" and {more} more" if more > 0 else ""))
        if self.parts["similarity"] >= 0.3:
            said.append(f"described alike ({self.parts['similarity']:.0%} similar)")
        return said


def suited_datasets(model: MLModel, user, *, limit: int = 10, purpose: str | None = None) -> list[SuitedDataset]:
    """The datasets ``user`` may see that suit ``model`` (found by the caller through visible_to), best first,
    leaving out those it is already linked to; with ``purpose`` also those training on which would make the
    model unusable for it."""
    visible = Dataset.objects.visible_to(user)
    linked = set(model.dataset_links.values_list("dataset_id", flat=True))
    tasks = dict(model.tasks.values_list("pk", "name"))
    media = set(model.media.values_list("slug", flat=True))
    pool = _pool(visible, model, tasks, media, linked)
    if not pool:
        return []
    datasets = visible.select_related("owner", "license").prefetch_related("tasks", "media").in_bulk(list(pool))
    reference = _column_keys(visible.filter(pk__in=linked))
    columns = _columns_by_dataset(list(datasets))
    scored = [_score(datasets[pk], pool[pk], tasks, media, reference, columns.get(pk, set())) for pk in datasets]
    scored.sort(key=lambda s: (-s.score, s.dataset.pk))
    return _with_licences(model, user, scored, limit, purpose)


def _pool(visible, model: MLModel, tasks: dict, media: set, linked: set) -> dict[int, float]:
    """Candidate ids -> cosine similarity of their embedding to the model's (0 when not among the nearest)."""
    # An empty ``__in`` inside an aggregate's filter empties the whole query (Django compiles it to
    # "nothing matches"): a model with tasks but no media must still find datasets by task.
    shared, counts = Q(pk__in=[]), {}
    for relation, values in (("tasks", list(tasks)), ("media", list(media))):
        if values:
            shared |= Q(**{f"{relation}__in": values})
            counts[f"n_{relation}"] = Count(relation, filter=Q(**{f"{relation}__in": values}), distinct=True)
    ranked = (
        visible.filter(shared)
        .exclude(pk__in=linked)
        .annotate(**counts)
        .order_by(*(f"-{name}" for name in counts), "-downloads", "pk")
        .values_list("pk", flat=True)[:SUITED_POOL]
    )
    pool = dict.fromkeys(ranked if (tasks or media) else [], 0.0)
    raw = SearchEmbedding.objects.filter(model=model).values_list("vector", flat=True).first()
    if raw is not None:
        for pk, similarity in semantic.nearest_in(
            visible.exclude(pk__in=linked), semantic.from_bytes(raw), SUITED_NEAREST
        ):
            pool[pk] = max(0.0, similarity)
    if pool and raw is not None:  # the similarity of pool members found by task or medium, too
        for pk, vector in SearchEmbedding.objects.filter(dataset__in=list(pool)).values_list("dataset_id", "vector"):
            pool[pk] = max(0.0, float(semantic.from_bytes(vector) @ semantic.from_bytes(raw)))
    return pool


def _column_keys(datasets) -> set[tuple[str, str]]:
    rows = FileColumn.objects.filter(dataset_file__dataset__in=datasets).values_list("name", "data_type_interpreted")
    return {(_normal(name), kind) for name, kind in rows}


def _columns_by_dataset(ids: list[int]) -> dict[int, set[tuple[str, str]]]:
    found: dict[int, set] = {}
    rows = FileColumn.objects.filter(dataset_file__dataset__in=ids).values_list(
        "dataset_file__dataset_id", "name", "data_type_interpreted"
    )
    for pk, name, kind in rows:
        found.setdefault(pk, set()).add((_normal(name), kind))
    return found


def _score(dataset, similarity: float, tasks: dict, media: set, reference: set, columns: set) -> SuitedDataset:
    shared_tasks = sorted(t.name for t in dataset.tasks.all() if t.pk in tasks)
    shared_media = sorted(m.slug for m in dataset.media.all() if m.slug in media)
    shared_columns = sorted(name for name, _ in reference & columns)
    parts = {
        "tasks": len(shared_tasks) / len(tasks) if tasks else 0.0,
        "media": len(shared_media) / len(media) if media else 0.0,
        "columns": len(shared_columns) / len(reference) if reference else None,
        "similarity": similarity,
    }
    used = {k: w for k, w in WEIGHTS.items() if parts[k] is not None}
    score = sum(w * parts[k] for k, w in used.items()) / sum(used.values())
    parts = {k: (round(v, 3) if v is not None else None) for k, v in parts.items()}
    return SuitedDataset(dataset, round(score, 4), parts, shared_tasks, shared_media, shared_columns)


def _with_licences(model: MLModel, user, scored: list[SuitedDataset], limit: int, purpose: str | None) -> list:
    """The licence of each (what training the model on it would add to the model's analysis), best first.
    ``scored`` is sorted by score and the licence can only lower one, so the walk stops once ``limit`` kept
    datasets all score above the next one's score before its licence."""
    from licensing import compliance

    graph = compliance.load_graph([model.pk])
    before = compliance.analyse(graph, model.pk).verdicts
    nodes = compliance.dataset_nodes([s.dataset.pk for s in scored])
    kept: list[SuitedDataset] = []
    for suited in scored:
        if len(kept) >= limit and sorted((k.score for k in kept), reverse=True)[limit - 1] > suited.score:
            break
        result = compliance.analyse_with(graph, model.pk, nodes[suited.dataset.pk])
        ref = nodes[suited.dataset.pk].ref
        added = [f for f in result.findings if ref in f["path"]]
        severities = {f["severity"] for f in added}
        status = next((s for s in ("violation", "warning") if s in severities), "ok")
        answers = {p: v["answer"] for p, v in result.verdicts.items()}
        worse = [p for p in answers if compliance.ANSWER_RANK[answers[p]] > compliance.ANSWER_RANK[before[p]["answer"]]]
        if purpose and purpose in worse and answers[purpose] == "no":
            continue
        suited.score = round(suited.score * LICENCE_PENALTY.get(status, 1.0), 4)
        suited.licence = {"status": status, "answers": answers, "worsens": worse, "_findings": added}
        kept.append(suited)
    kept.sort(key=lambda s: (-s.score, s.dataset.pk))
    kept = kept[:limit]
    # The findings as text for this viewer (hidden upstream assets are not named), in one presentation.
    added = [suited.licence.pop("_findings") for suited in kept]
    shown = iter(compliance.present([f for found in added for f in found], {}, user)["findings"])
    for suited, found in zip(kept, added, strict=True):
        suited.licence["findings"] = [next(shown) for _ in found]
    return kept


# --- sketches of files profiled before they were kept -------------------------------------------


def unsketched_files(*, force: bool = False):
    """Profiled dataset files with a column lacking its value sketch (every profiled file with ``force``)."""
    from catalog.profiling import STREAMED_KINDS

    files = DatasetFile.objects.filter(format__in=STREAMED_KINDS, columns__isnull=False)
    if not force:
        files = files.filter(columns__value_sketch__isnull=True)
    return files.select_related("dataset").distinct().order_by("pk")


def sketch_file(dataset_file: DatasetFile) -> int | None:
    """Profile the stored file again and keep its columns' value sketches (nothing else changes); the number
    of columns sketched, or None when the dataset holds no stored file at that path (columns from metadata)."""
    from django.db import transaction

    from catalog import files, inspection
    from catalog.stored import StoredContent

    version = files.latest_version(dataset_file.dataset, dataset_file.path)
    if version is None:
        return None
    report = inspection.inspect(StoredContent.of(version), version.kind, "dataset")
    sketches = {c["name"]: c.get("value_sketch") for c in (report.table or {}).get("columns", [])}
    with transaction.atomic():
        columns = list(dataset_file.columns.select_for_update().filter(name__in=list(sketches)))
        for column in columns:
            column.value_sketch = sketches[column.name]
        FileColumn.objects.bulk_update(columns, ["value_sketch"])
    return sum(1 for c in columns if c.value_sketch is not None)
