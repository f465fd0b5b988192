"""Semantic search: one embedding per model and dataset, stored in the database, searched through an
HNSW index.

The encoder is WordLlama ``l2_supercat`` (256 dimensions, MIT), whose weights (a 16 MB token-embedding
table distilled from Llama-family models) and tokenizer ship inside the ``wordllama`` wheel on PyPI. It
is a static embedding: a text's vector is the normalised average of its tokens' rows, so it runs on any
CPU with numpy, thousands of short texts a second, and never touches a network. Files are read from the
installed package directly (wordllama's own loader falls back to a download when a path does not match;
this one raises instead). See docs/search.md for the choice.

Vectors (float32, L2-normalised) live in ``SearchEmbedding`` rows, written by the ``embed_batch`` task
when an asset changes and by ``manage.py embed_assets``. Searches read an HNSW index (usearch) of every
vector as of its last build (``manage.py embed_assets --rebuild-index``, or beat), memory-mapped so that
many workers share one copy, plus an exact scan of the rows changed since that build (the delta).
Candidates are always narrowed through the caller's ``visible_to`` queryset: the index knows ids only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

logger = logging.getLogger(__name__)

ENCODER = "wordllama-l2_supercat-256"
DIMENSIONS = 256
CHUNK = 20_000  # vectors read and added to the index at a time (20 MB)
TOKENIZER_CACHE = 1024  # words the tokenizer keeps encoded (see encoder())
MAX_TEXT = 4000  # characters of card text embedded: the start of a card says what the asset is


@dataclass(frozen=True)
class Encoder:
    name: str
    table: np.ndarray  # float32 (vocabulary, DIMENSIONS): the token vectors
    tokenizer: object

    def encode(self, texts: list[str], weights: np.ndarray | None = None) -> np.ndarray:
        """Unit vectors (float32), one row per text: the average of the texts' token vectors, each weighted
        by ``weights[token]`` (the catalogue's inverse document frequency, ``token_weights``) when given.
        Texts are tokenized without padding and pooled in chunks (no padded batch in memory)."""
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(texts), 64):
            encodings = self.tokenizer.encode_batch(texts[start : start + 64], add_special_tokens=False)
            ids = [np.asarray(encoding.ids, dtype=np.int64) for encoding in encodings]
            filled = [i for i, row in enumerate(ids) if len(row)]
            if not filled:
                continue
            flat = np.clip(np.concatenate([ids[i] for i in filled]), 0, len(self.table) - 1)
            rows = self.table[flat] if weights is None else self.table[flat] * weights[flat, None]
            offsets = np.cumsum([0] + [len(ids[i]) for i in filled[:-1]])
            vectors[[start + i for i in filled]] = np.add.reduceat(rows, offsets, axis=0)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.divide(vectors, norms, out=vectors, where=norms > 0)


@cache
def encoder() -> Encoder:
    """The bundled model, loaded once per process from the installed wheel's files (no network)."""
    import wordllama
    from safetensors import safe_open
    from tokenizers import Tokenizer

    root = Path(wordllama.__file__).parent
    weights, tokenizer = root / "weights" / "l2_supercat_256.safetensors", root / "tokenizers"
    tokenizer = tokenizer / "l2_supercat_tokenizer_config.json"
    if not weights.is_file() or not tokenizer.is_file():
        raise RuntimeError(f"The wordllama package has no bundled l2_supercat weights under {root}")
    with safe_open(str(weights), framework="np", device="cpu") as handle:
        table = np.ascontiguousarray(handle.get_tensor("embedding.weight"), dtype=np.float32)
    loaded = Tokenizer.from_file(str(tokenizer))
    loaded.no_padding()
    loaded.no_truncation()
    # The BPE model caches every word it has seen up to 10,000 entries and never lets one go: a web worker
    # embedding each new asset's name grew by 30-60 MiB over its first 10,000 creates (bench/writes.py,
    # "memory"). 1,024 entries hold the common words and keep it flat, at no cost in speed.
    loaded.model._resize_cache(TOKENIZER_CACHE)
    return Encoder(ENCODER, table, loaded)


def encode(texts: list[str]) -> np.ndarray:
    """Unit vectors of these texts as assets and queries are embedded: with the catalogue's token weights."""
    weights = token_weights()
    return encoder().encode(texts, None if weights is None else weights.idf)


# --- token weights ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenWeights:
    """Inverse document frequency of every token of the vocabulary in the catalogue's embedded texts, as
    BM25 weighs words: card boilerplate that every asset shares ("licence", "Source:", the template's
    headings) weighs little, the words that tell assets apart weigh most."""

    version: str  # in every embedding's digest: a refit makes embed_assets recompute them all
    idf: np.ndarray


WEIGHTS_SAMPLE = 5000  # assets of each kind whose texts are counted: enough for stable frequencies
MIN_WEIGHTS_DOCUMENTS = 100  # embed_assets fits the weights by itself once the catalogue has this many assets
_weights_lock = threading.Lock()
_weights_cache: dict[str, tuple[object, TokenWeights | None]] = {}


def _weights_path() -> Path:
    return _index_dir() / "token-weights.npy"


def token_weights() -> TokenWeights | None:
    """The fitted weights (None, an unweighted average, until ``fit_token_weights`` ran), re-read when a
    refit replaced the file (every process and host sees the same file, next to the vector index)."""
    path = _weights_path()
    try:
        stamp = (str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return None
    with _weights_lock:
        known = _weights_cache.get("weights")
        if known is None or known[0] != stamp:
            raw = path.read_bytes()
            known = (stamp, TokenWeights(hashlib.sha256(raw).hexdigest()[:16], np.load(path).astype(np.float32)))
            _weights_cache["weights"] = known
        return known[1]


def fit_token_weights(sample: int = WEIGHTS_SAMPLE) -> int:
    """Count in how many texts each token appears, over up to ``sample`` assets of each kind (spread over
    the catalogue, the same sample every run), and store the inverse document frequencies; returns how many
    texts were counted."""
    import random

    from catalog.models import Dataset, MLModel

    tokenizer, vocabulary = encoder().tokenizer, len(encoder().table)
    counts, documents = np.zeros(vocabulary, dtype=np.int64), 0
    for model_cls in (MLModel, Dataset):
        ids = list(model_cls.objects.order_by("pk").values_list("pk", flat=True))
        ids = sorted(random.Random(0).sample(ids, min(sample, len(ids))))
        for start in range(0, len(ids), 2000):
            sample_texts = list(texts(model_cls, ids[start : start + 2000]).values())
            for encoding in tokenizer.encode_batch(sample_texts, add_special_tokens=False):
                seen = np.unique(np.clip(np.asarray(encoding.ids, dtype=np.int64), 0, vocabulary - 1))
                counts[seen] += 1
            documents += len(sample_texts)
    idf = np.log((documents + 1) / (counts + 1)) + 1.0
    _index_dir().mkdir(parents=True, exist_ok=True)
    partial = _weights_path().with_suffix(".partial.npy")
    np.save(partial, idf.astype(np.float32))
    os.replace(partial, _weights_path())
    return documents


# --- what is embedded -------------------------------------------------------------------------


def name_words(name: str) -> str:
    """``BlackMamba-2.8B`` -> ``black mamba 2.8b``, ``bert-base-uncased`` -> ``bert base uncased``: the
    words of an id as a person would type them (the tokenizer splits ``BlackMamba`` into pieces that mean
    nothing on their own)."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return " ".join(re.split(r"[^0-9A-Za-z.]+|(?<![0-9])\.|\.(?![0-9])", spaced)).lower().strip()


def asset_text(asset) -> str:
    """Name, tasks, media, licence, architecture and the start of the card; for datasets also the
    objective, domains and the files' columns with their types, from the asset's loaded or prefetched
    relations (catalog.bulk embeds rows it just wrote this way; many stored assets: ``texts``)."""
    if asset.kind == "model":
        details, columns = [asset.architecture_family or "", asset.architecture_name or ""], []
    else:
        details = [asset.objective, *(domain.name for domain in asset.domains.all())]
        columns = [
            (column.name, column.data_type_interpreted or column.data_type_original)
            for data_file in asset.files.all()
            for column in data_file.columns.all()
        ]
    return description_text(
        full_name=f"{asset.owner.username}/{asset.name}",
        name=asset.name,
        tasks=[(task.name, task.slug) for task in asset.tasks.all()],
        media=[media.slug for media in asset.media.all()],
        license_name=asset.license.name if asset.license_id else "",
        details=details,
        columns=columns,
        card=asset.card or "",
    )


def texts(model_cls, ids: list[int]) -> dict[int, str]:
    """The embedded text of each of these stored assets (those that exist), the same as ``asset_text``,
    read in a fixed handful of statements whatever the number of ids: the columns it needs (the card cut
    in SQL), then each many-valued part by asset."""
    from catalog.models import DatasetFile, FileColumn

    dataset = model_cls.__name__ == "Dataset"
    details = ("objective",) if dataset else ("architecture_family", "architecture_name")
    rows = model_cls.objects.filter(pk__in=ids).order_by().annotate(head=Substr("card", 1, MAX_TEXT))
    rows = rows.values_list("pk", "owner__username", "name", "license__name", "head", *details)
    found = {pk: (owner, name, licence or "", card or "", rest) for pk, owner, name, licence, card, *rest in rows}
    tasks, media = _related(model_cls, "tasks", found, "name", "slug"), _related(model_cls, "media", found, "slug")
    domains, columns = {}, {}
    if dataset:
        domains = _related(model_cls, "domains", found, "name")
        files = DatasetFile.objects.filter(dataset_id__in=found).values("pk")
        rows = FileColumn.objects.filter(dataset_file_id__in=files).order_by(
            "dataset_file__dataset_id", "dataset_file__path", "position"
        )
        fields = ("dataset_file__dataset_id", "name", "data_type_interpreted", "data_type_original")
        for pk, name, interpreted, original in rows.values_list(*fields):
            columns.setdefault(pk, []).append((name, interpreted or original))
    return {
        pk: description_text(
            full_name=f"{owner}/{name}",
            name=name,
            tasks=tasks.get(pk, []),
            media=[slug for (slug,) in media.get(pk, [])],
            license_name=licence,
            details=[*(value or "" for value in rest), *(name for (name,) in domains.get(pk, []))],
            columns=columns.get(pk, []),
            card=card,
        )
        for pk, (owner, name, licence, card, rest) in found.items()
    }


def _related(model_cls, field: str, found: dict, *columns: str) -> dict[int, list[tuple]]:
    """The rows of the many-to-many ``field`` of these assets, by asset, in the related model's order."""
    relation = getattr(model_cls, field)
    asset, target = f"{relation.field.m2m_field_name()}_id", relation.field.m2m_reverse_field_name()
    rows = relation.through.objects.filter(**{f"{asset}__in": found}).order_by(asset, f"{target}__slug")
    by_asset: dict[int, list[tuple]] = {}
    for pk, *values in rows.values_list(asset, *(f"{target}__{column}" for column in columns)):
        by_asset.setdefault(pk, []).append(tuple(values))
    return by_asset


def description_text(
    *,
    full_name: str,
    name: str,
    tasks: list[tuple[str, str]],
    media: list[str],
    license_name: str,
    details: list[str],
    columns: list[tuple[str, str]],
    card: str,
) -> str:
    """The embedded text of an asset, or of a dataset described only by its metadata (a cold-start
    recommendation, catalog.recommend): the same words in the same order either way."""
    parts = [full_name, name_words(name)]
    parts += [f"{task_name} {slug.replace('-', ' ')}" for task_name, slug in tasks]
    parts += [f"{slug} data" for slug in media]
    if license_name:
        parts.append(f"licence {license_name}")
    parts += details
    if columns:
        parts.append("columns: " + ", ".join(f"{column} {kind}" for column, kind in columns[:200]))
    parts.append(card[:MAX_TEXT])
    return "\n".join(part for part in parts if part)


def digest(text: str, weights: TokenWeights | None = None) -> str:
    """What an embedding was computed from: the encoder, the token weights (``token_weights()``) and the text."""
    version = weights.version if weights else "mean"
    return hashlib.sha256(f"{ENCODER}\n{version}\n{text}".encode()).hexdigest()


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(bytes(raw), dtype="<f4")


# --- writing ----------------------------------------------------------------------------------


def embed_assets(model_cls, ids: list[int] | None = None, *, force: bool = False, batch: int = 2000):
    """Embed the given assets (every asset when ``ids`` is None), skipping those whose text did not
    change; yields the number looked at after each batch. Safe to run twice, and to stop and restart:
    a batch is written in one statement, and what was written is skipped next time (same digest).

    A batch costs a fixed number of statements: its ids (by the primary key), its texts (``texts``),
    the stored digests, and one write (one upsert of array parameters on PostgreSQL)."""
    from catalog.models import SearchEmbedding

    column = "model_id" if model_cls.__name__ == "MLModel" else "dataset_id"
    weights = token_weights()
    for chunk in _id_chunks(model_cls, ids, batch):
        found = texts(model_cls, chunk)
        known = dict(SearchEmbedding.objects.filter(**{f"{column}__in": list(found)}).values_list(column, "digest"))
        store_vectors(
            model_cls,
            {pk: text for pk, text in found.items() if force or known.get(pk) != digest(text, weights)},
            weights,
        )
        yield len(chunk)
    if ids is None and connection.vendor == "postgresql":
        # a run over everything rewrote the table: without fresh statistics the planner reads the index's
        # delta (rows changed since its build, by updated_at) with a scan of every vector (0.9 s at 1.2M)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {SearchEmbedding._meta.db_table}")


def _id_chunks(model_cls, ids: list[int] | None, batch: int):
    """The asset ids in ascending batches of ``batch`` (keyset on the primary key)."""
    if ids is not None:
        ids = sorted(set(ids))
        yield from (ids[start : start + batch] for start in range(0, len(ids), batch))
        return
    last = 0
    while chunk := list(model_cls.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]):
        yield chunk
        last = chunk[-1]


def store_vectors(model_cls, texts: dict[int, str], weights: TokenWeights | None) -> None:
    """Encode these texts (one call, with the token weights ``token_weights()`` gave) and upsert their vectors
    (one statement): new rows and changed ones alike. On PostgreSQL the statement takes three array
    parameters (ids, vectors, digests), not three per row: binding 2,000 rows' parameters cost more than
    encoding them."""
    from catalog.models import SearchEmbedding

    if not texts:
        return
    column = "model_id" if model_cls.__name__ == "MLModel" else "dataset_id"
    vectors = encoder().encode(list(texts.values()), weights.idf if weights else None)
    ids, raws, digests = (
        list(texts),
        [to_bytes(vector) for vector in vectors],
        [digest(t, weights) for t in texts.values()],
    )
    if connection.vendor != "postgresql":
        SearchEmbedding.objects.bulk_create(
            [
                SearchEmbedding(**{column: pk}, vector=raw, digest=hexdigest, encoder=ENCODER)
                for pk, raw, hexdigest in zip(ids, raws, digests, strict=True)
            ],
            update_conflicts=True,
            unique_fields=[column.removesuffix("_id")],
            update_fields=["vector", "digest", "encoder", "updated_at"],
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SearchEmbedding._meta.db_table} ({column}, vector, digest, encoder, updated_at) "
            "SELECT asset_id, vector, digest, %s, %s FROM unnest(%s::bigint[], %s::bytea[], %s::text[]) "
            "AS batch (asset_id, vector, digest) "
            f"ON CONFLICT ({column}) DO UPDATE SET vector = EXCLUDED.vector, digest = EXCLUDED.digest, "
            "encoder = EXCLUDED.encoder, updated_at = EXCLUDED.updated_at",
            [ENCODER, timezone.now(), ids, raws, digests],
        )


def embed_written(model_cls, assets: list) -> int:
    """Embed assets just created with their links in memory (catalog.bulk keeps them on the rows), without
    reading them back: the same text ``embed_assets`` would read, for the whole batch in one encode call."""
    store_vectors(model_cls, {asset.pk: asset_text(asset) for asset in assets}, token_weights())
    return len(assets)


def schedule_embedding(asset) -> None:
    """Queue the asset's re-embedding once the transaction that changed it commits."""
    schedule_embeddings(type(asset), [asset.pk])


def schedule_embeddings(model_cls, ids: list[int], *, written: list | None = None) -> None:
    """Queue the re-embedding of these assets (one task) once the transaction that changed them commits.
    ``written``: those of them just created, with their links in memory; when tasks run in this process
    (eager, the embedded default) they are embedded from it, and only the others are read back."""
    from django.conf import settings

    from catalog.tasks import embed_batch
    from openmodelhub.queueing import enqueue

    kind, ids = model_cls.kind, list(ids)
    if written and settings.CELERY_TASK_ALWAYS_EAGER:
        fresh = {asset.pk for asset in written}
        ids = [pk for pk in ids if pk not in fresh]
        transaction.on_commit(lambda: (embed_written(model_cls, written), refresh_index(kind)))
    if ids:
        transaction.on_commit(lambda: enqueue(embed_batch, kind, ids))


def refresh_index(kind: str) -> None:
    """Rebuild the vector index once the vectors changed since its build pass OMH_SEARCH_REBUILD_AFTER."""
    from django.conf import settings

    if delta_size(kind, bound=settings.SEARCH_REBUILD_AFTER) > settings.SEARCH_REBUILD_AFTER:
        vector_index(kind).build()


# --- the vector index -------------------------------------------------------------------------


def _index_dir() -> Path:
    return Path(settings.SEARCH_VECTOR_INDEX_DIR)


class VectorIndex:
    """The HNSW index of one asset kind as of its last build, plus the delta since then."""

    def __init__(self, kind: str):
        self.kind = kind
        self._index, self._built_at, self._mtime = None, None, None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return _index_dir() / f"{self.kind}.usearch"

    @property
    def meta_path(self) -> Path:
        return _index_dir() / f"{self.kind}.json"

    def _load(self):
        """The memory-mapped index, reopened when a rebuild replaced the file."""
        from usearch.index import Index

        try:
            mtime = (str(self.meta_path), self.meta_path.stat().st_mtime_ns)
        except FileNotFoundError:
            return None, None
        with self._lock:
            if mtime != self._mtime:
                meta = json.loads(self.meta_path.read_text())
                self._index = Index.restore(str(self.path), view=True) if meta["count"] else None
                self._built_at = timezone.datetime.fromisoformat(meta["built_at"])
                self._mtime = mtime
            return self._index, self._built_at

    def build(self) -> int:
        """Index every stored vector of this kind; the new file replaces the old one atomically."""
        from usearch.index import Index

        from catalog.models import SearchEmbedding

        column = "model_id" if self.kind == "model" else "dataset_id"
        started = timezone.now()
        rows = SearchEmbedding.objects.filter(**{f"{column}__isnull": False}, encoder=ENCODER)
        index = Index(
            ndim=DIMENSIONS,
            metric="ip",
            dtype="f16",
            connectivity=settings.SEARCH_HNSW_CONNECTIVITY,
            expansion_add=settings.SEARCH_HNSW_EXPANSION_ADD,
            expansion_search=settings.SEARCH_HNSW_EXPANSION_SEARCH,
        )
        count, keys, vectors = 0, [], []
        for pk, raw in rows.values_list(column, "vector").iterator(chunk_size=CHUNK):
            keys.append(pk)
            vectors.append(raw)
            if len(keys) >= CHUNK:
                count += self._add(index, keys, vectors)
                keys, vectors = [], []
        count += self._add(index, keys, vectors)
        _index_dir().mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".usearch.partial")
        index.save(str(partial))
        os.replace(partial, self.path)
        meta = self.meta_path.with_suffix(".json.partial")
        meta.write_text(json.dumps({"built_at": started.isoformat(), "count": count, "encoder": ENCODER}))
        os.replace(meta, self.meta_path)
        return count

    @staticmethod
    def _add(index, keys: list[int], vectors: list) -> int:
        if keys:
            matrix = np.frombuffer(b"".join(vectors), dtype="<f4").reshape(len(keys), DIMENSIONS)
            index.add(np.asarray(keys, dtype=np.uint64), matrix, threads=settings.SEARCH_HNSW_THREADS)
        return len(keys)

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(asset id, cosine similarity) of the ``k`` nearest vectors, best first (the index's
        approximate answer merged with an exact scan of what changed since it was built)."""
        from catalog.models import SearchEmbedding

        column = "model_id" if self.kind == "model" else "dataset_id"
        index, built_at = self._load()
        changed = SearchEmbedding.objects.filter(**{f"{column}__isnull": False}, encoder=ENCODER)
        if built_at is not None:
            changed = changed.filter(updated_at__gte=built_at)
        scores: dict[int, float] = {}
        if index is not None:
            found = index.search(vector.astype(np.float32), k)
            for key, distance in zip(found.keys.tolist(), found.distances.tolist(), strict=True):
                scores[int(key)] = 1.0 - float(distance)
        delta = list(changed.values_list(column, "vector"))  # kept short: embed_batch rebuilds past a bound
        if delta:
            matrix = np.vstack([from_bytes(raw) for _, raw in delta])
            for (pk, _), score in zip(delta, (matrix @ vector).tolist(), strict=True):
                scores[pk] = float(score)  # the stored vector wins over the indexed one
        return sorted(scores.items(), key=lambda item: (-item[1], -item[0]))[:k]


@cache
def vector_index(kind: str) -> VectorIndex:
    return VectorIndex(kind)


def warm() -> None:
    """Load the query encoder, the token weights and each kind's vector index (when built) now, as a serving
    process starts (openmodelhub.startup), rather than in its first search. What cannot be loaded (an index
    file half-copied onto shared storage, say) is logged and left to the first search that needs it: a
    process that cannot search by meaning still serves everything else."""
    loads = [("the query encoder", encoder), ("the token weights", token_weights)]
    loads += [(f"the {kind} vector index", vector_index(kind)._load) for kind in ("model", "dataset")]
    for what, load in loads:
        try:
            load()
        except Exception:  # noqa: BLE001 (any failure: the same one the first search would meet and report)
            logger.warning("search: could not load %s as the process started", what, exc_info=True)


def rebuild_indexes() -> dict[str, int]:
    return {kind: vector_index(kind).build() for kind in ("model", "dataset")}


def delta_size(kind: str, bound: int | None = None) -> int:
    """How many vectors changed since the kind's index was built (all of them when it never was), counted
    up to ``bound`` + 1 at most. Plain SQL: every eager create asks (the ORM's compilation of the count was
    ~7% of a create with its tasks)."""
    from catalog.models import SearchEmbedding

    _, built_at = vector_index(kind)._load()
    where, params = f"{'model_id' if kind == 'model' else 'dataset_id'} IS NOT NULL", []
    if built_at:
        where += " AND updated_at >= %s"
        params.append(connection.ops.adapt_datetimefield_value(built_at))
    limit = f" LIMIT {int(bound) + 1}" if bound is not None else ""
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(SearchEmbedding._meta.db_table)
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {where}{limit}) delta", params)
        return cursor.fetchone()[0]


def nearest_in(queryset: QuerySet, vector: np.ndarray, k: int, exclude: int | None = None) -> list[tuple[int, float]]:
    """The ``k`` nearest among ``queryset``: index candidates, oversampled, narrowed by the queryset;
    widened while too few survive (a narrow filter), up to an exact scan of the queryset's vectors."""
    kind = queryset.model.kind
    wanted = k + (1 if exclude else 0)
    fetch = max(wanted * 4, 50)
    while True:
        ranked = [(pk, score) for pk, score in vector_index(kind).nearest(vector, fetch) if pk != exclude]
        allowed = set(queryset.filter(pk__in=[pk for pk, _ in ranked]).values_list("pk", flat=True))
        kept = [(pk, score) for pk, score in ranked if pk in allowed]
        if len(kept) >= k or len(ranked) < fetch - 1:
            return kept[:k]
        if fetch >= settings.SEARCH_MAX_VECTOR_CANDIDATES:
            return _exact(queryset, vector, k, exclude)
        fetch *= 4


def _exact(queryset: QuerySet, vector: np.ndarray, k: int, exclude: int | None) -> list[tuple[int, float]]:
    from catalog.models import SearchEmbedding

    column = "model_id" if queryset.model.kind == "model" else "dataset_id"
    rows = SearchEmbedding.objects.filter(**{f"{column}__in": queryset.values("pk")}, encoder=ENCODER)
    scores = [(pk, float(from_bytes(raw) @ vector)) for pk, raw in rows.values_list(column, "vector") if pk != exclude]
    return sorted(scores, key=lambda item: (-item[1], -item[0]))[:k]


def similar(asset, queryset: QuerySet, k: int = 6) -> list[int]:
    """Ids of the assets of ``queryset`` (the caller's visible_to) most similar to ``asset``."""
    from catalog.models import SearchEmbedding

    column = "model_id" if asset.kind == "model" else "dataset_id"
    raw = SearchEmbedding.objects.filter(**{column: asset.pk}).values_list("vector", flat=True).first()
    if raw is None:
        return []
    return [pk for pk, _ in nearest_in(queryset, from_bytes(raw), k, exclude=asset.pk)]


def similar_rows(asset, queryset: QuerySet, k: int = 6) -> list:
    """The rows of ``queryset`` (the caller's visible_to list queryset) most similar to ``asset``, nearest
    first: the "Similar models" / "Similar datasets" of pages and API."""
    ids = similar(asset, queryset, k)
    rows = {row.pk: row for row in queryset.filter(pk__in=ids)}
    return [rows[pk] for pk in ids if pk in rows]
