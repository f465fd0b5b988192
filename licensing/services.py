"""Writes of the licensing app: the knowledge base, licence resolution, stored compliance analyses."""

from __future__ import annotations

import gc
import json
import re
import time
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from license_expression import ExpressionError, Licensing

from licensing import compliance
from licensing.knowledge import Entry, alias_map, build_entries, normalise_alias
from licensing.models import ComplianceReport, License, LicenseAlias
from openmodelhub.queueing import enqueue

CATEGORY_RANK = compliance.CATEGORY_RANK  # most to least permissive: OR picks the first, AND the last


# --------------------------------------------------------------------------------------------
# The knowledge base
# --------------------------------------------------------------------------------------------


@dataclass
class LoadSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    aliases: int = 0
    resolved_models: int = 0
    resolved_datasets: int = 0
    problems: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # "key (why)": edited since loaded, left as they are


@transaction.atomic
def load_license_base(
    *, dry_run: bool = False, resolve_assets: bool = True, update: bool = False, progress=None
) -> LoadSummary:
    """Upsert every licence and alias; then resolve assets whose licence is unset but declared.

    A licence edited since it was loaded (or not loaded by a loader) is kept and listed in
    ``summary.kept`` (catalog.baselines); ``update`` overwrites it with the knowledge base's terms.
    ``progress`` (an ``openmodelhub.progress.Progress``) advances by one per licence compared."""
    from catalog import baselines

    entries, problems = build_entries()
    summary = LoadSummary(problems=problems)
    existing = {lic.key: lic for lic in License.objects.all()}
    loaded = baselines.baselines(baselines.Kind.LICENSE, existing.keys() & entries.keys())
    to_create, to_update, unchanged = [], [], []
    if progress is not None:
        progress.set_total(len(entries))
    for entry in entries.values():
        if progress is not None:
            progress.advance()
        lic = existing.get(entry.key)
        if lic is None:
            to_create.append(_license_from(entry, License(key=entry.key)))
        elif not _changed(lic, entry):
            unchanged.append(lic)
        elif (why := _edited(lic, loaded.get(lic.key))) and not update:
            summary.kept.append(f"{lic.key} ({why})")
        else:
            to_update.append(_license_from(entry, lic))
    summary.created, summary.updated, summary.unchanged = len(to_create), len(to_update), len(unchanged)
    if dry_run:
        summary.aliases = len(alias_map(entries))
        return summary
    License.objects.bulk_create(to_create, batch_size=500)
    License.objects.bulk_update(to_update, [*Entry.FIELDS, "updated_at"], batch_size=500)
    written = {lic.key: (lic.pk, baselines.license_state(lic), "") for lic in [*to_create, *to_update, *unchanged]}
    baselines.remember(
        baselines.Kind.LICENSE,
        {key: row for key, row in written.items() if key not in loaded or loaded[key].state != row[1]},
    )
    ids = dict(License.objects.values_list("key", "pk"))
    aliases = [LicenseAlias(alias=a[:300], license_id=ids[key]) for a, key in alias_map(entries).items()]
    LicenseAlias.objects.bulk_create(
        aliases, batch_size=1000, update_conflicts=True, unique_fields=["alias"], update_fields=["license"]
    )
    summary.aliases = len(aliases)
    forget_knowledge()  # bulk writes send no signal
    if resolve_assets:
        summary.resolved_models, summary.resolved_datasets = reresolve_assets()
    return summary


def _license_from(entry: Entry, lic: License) -> License:
    for attr in Entry.FIELDS:
        setattr(lic, attr, getattr(entry, attr))
    lic.name = (lic.name or entry.key)[:300]
    lic.updated_at = timezone.now()
    return lic


def _changed(lic: License, entry: Entry) -> bool:
    return any(getattr(lic, attr) != getattr(entry, attr) for attr in Entry.FIELDS)


def _edited(lic: License, baseline) -> str:
    """Why a licence is not the loader's to overwrite ("" when it is as it was loaded)."""
    from catalog import baselines

    if baseline is None or baseline.object_id != lic.pk:
        return "not loaded by a loader"
    parts = baselines.edited_parts(baseline.state, baselines.license_state(lic))
    return f"edited: {', '.join(parts)}" if parts else ""


# --------------------------------------------------------------------------------------------
# Resolving declared licence strings
# --------------------------------------------------------------------------------------------


COMBINED = re.compile(r"\s(and|or)\s", flags=re.IGNORECASE)  # a declared string that may combine licences


@dataclass(frozen=True)
class Resolution:
    """What a declared licence string names: the licence the hub resolves it to and, when the string
    combines licences with AND / OR, the parsed expression over licence keys (``apache-2.0 AND
    cc-by-nc-nd-4.0``), kept next to the licence so that no term of it is lost (the compliance analysis
    reads it with AND/OR semantics)."""

    license: License | None
    expression: str = ""


def resolve_license(text: str | None, *, aliases: dict[str, License] | None = None) -> License | None:
    """The licence a declared string names: a key, SPDX id, Hugging Face tag, name or SPDX expression.

    The one reading of a declared licence for every door: the model and dataset forms, the API's
    ``license_declared``, ``load_records`` and the Hub protocol. ``aliases`` (from ``all_aliases()``)
    answers from memory when many strings are resolved at once; without it each lookup is a query.
    For ``A OR B`` the most permissive choice is returned, for ``A AND B`` the most restrictive;
    ``None`` when nothing matches (callers keep the string and the analysis flags it). The whole
    expression is ``resolve_declared(...).expression``.
    """
    return resolve_declared(text, aliases=aliases).license


def resolve_declared(text: str | None, *, aliases: dict[str, License] | None = None) -> Resolution:
    """``resolve_license`` with the parsed expression of a declared ``A AND B`` / ``A OR B`` (empty for a
    single licence, and when a term names no known licence: the licence is then None and flagged)."""
    if not text or not text.strip():
        return Resolution(None)
    lookup = _alias_lookup(aliases)
    found = lookup(text)
    if found is not None:
        return Resolution(found)
    return _resolve_expression(text, lookup)


def license_fields(declared: str, *, aliases: dict[str, License] | None = None) -> dict:
    """The stored licence fields of an asset declaring ``declared``: licence and expression."""
    resolution = resolve_declared(declared, aliases=aliases)
    return {"license": resolution.license, "license_expression": resolution.expression}


def expression_of(license: License | None, declared: str, *, aliases: dict[str, License] | None = None) -> str:
    """The expression to store next to ``license`` for an asset declaring ``declared``: the parsed AND / OR
    expression when the declared string resolves to that licence, "" otherwise (a single licence, or a
    licence a curator chose by hand for a string the resolver read differently)."""
    if license is None or not COMBINED.search(declared or ""):
        return ""
    resolution = resolve_declared(declared, aliases=aliases)
    return resolution.expression if resolution.license is not None and resolution.license.pk == license.pk else ""


def complete_license_fields(data: dict, *, aliases: dict[str, License] | None = None) -> dict:
    """The licence and declared string of an asset write, alike for every door that takes both (API, Hub
    protocol): a declared string alone is resolved (``license`` None when it names nothing known); a
    licence alone is also what is declared; both given are kept as given."""
    if "license_declared" in data and "license" not in data:
        data["license_declared"] = (data["license_declared"] or "").strip()
        data.update(license_fields(data["license_declared"], aliases=aliases))
    elif "license" in data and "license_declared" not in data:
        data["license_declared"] = data["license"].key if data["license"] else ""
    return data


def _alias_lookup(aliases: dict[str, License] | None):
    table = aliases if aliases is not None else known_aliases()

    def lookup(text: str) -> License | None:
        return table.get(normalise_alias(text))

    return lookup


def _resolve_expression(text: str, lookup) -> Resolution:
    if not re.search(r"\s(and|or|with)\s|[()]", text, flags=re.IGNORECASE):
        return Resolution(None)
    try:
        parsed = Licensing().parse(text, simple=False)
    except (ExpressionError, TypeError, ValueError):
        return Resolution(None)
    if parsed is None:
        return Resolution(None)
    resolved = _resolve_node(parsed, lookup)
    if resolved is None:
        return Resolution(None)
    lic, expression = resolved
    return Resolution(lic, expression if " " in expression else "")


def _resolve_node(node, lookup) -> tuple[License, str] | None:
    """(the licence the node resolves to, the node as an expression of licence keys), or None when a
    term names no known licence. ``WITH`` keeps the licence (the exception only adds permissions)."""
    from license_expression import AND, OR, LicenseWithExceptionSymbol

    if isinstance(node, LicenseWithExceptionSymbol):
        lic = lookup(node.license_symbol.key)
        return (lic, lic.key) if lic else None
    if isinstance(node, (AND, OR)):
        parts = [_resolve_node(arg, lookup) for arg in node.args]
        if any(p is None for p in parts):
            return None  # one unknown part makes the whole unknown: keep it flagged
        ranked = sorted((lic for lic, _ in parts), key=lambda lic: CATEGORY_RANK.index(lic.category))
        operator = " OR " if isinstance(node, OR) else " AND "
        terms = list(dict.fromkeys(f"({expr})" if " " in expr else expr for _, expr in parts))
        if len(terms) == 1:
            return ranked[0], terms[0].strip("()")
        return (ranked[0] if isinstance(node, OR) else ranked[-1]), operator.join(terms)
    lic = lookup(getattr(node, "key", str(node)))
    return (lic, lic.key) if lic else None


KNOWLEDGE_GENERATION = "licensing:knowledge-generation"
KNOWLEDGE_SECONDS = 60  # the longest a process keeps a knowledge base whose change it was not told of
_known: tuple[int, float, dict[str, License]] | None = None


def knowledge_generation() -> int:
    """The counter a change of a licence or an alias bumps (``forget_knowledge``), in the shared cache. A
    missing counter (evicted, cleared) starts again from the clock, above every earlier value."""
    value = cache.get(KNOWLEDGE_GENERATION)
    if value is None:
        cache.add(KNOWLEDGE_GENERATION, time.time_ns() // 1000, None)
        value = cache.get(KNOWLEDGE_GENERATION) or time.time_ns() // 1000
    return int(value)


def forget_knowledge(**_) -> None:
    """Every process reads the knowledge base again (licences or aliases changed; also a signal receiver).
    The generation moves now and again once the change has committed: a process that read the base between
    the two saw it without the change and must read it once more."""
    global _known
    _known = None
    _bump_generation()
    transaction.on_commit(_bump_generation)


def _bump_generation() -> None:
    try:
        cache.incr(KNOWLEDGE_GENERATION)
    except ValueError:
        cache.add(KNOWLEDGE_GENERATION, time.time_ns() // 1000, None)


def known_aliases() -> dict[str, License]:
    """``all_aliases()`` kept per process: one licence resolution without a query. Read again when the
    shared generation moved (a licence or an alias was saved or deleted anywhere, licensing.apps) and at
    least every ``KNOWLEDGE_SECONDS`` (the embedded hub's cache is per process, so another process's bump
    is not seen). The licences in it are shared: read them, never change them."""
    global _known
    generation, now = knowledge_generation(), time.monotonic()
    if _known is None or _known[0] != generation or now - _known[1] > KNOWLEDGE_SECONDS:
        _known = (generation, now, all_aliases())
    return _known[2]


def all_aliases() -> dict[str, License]:
    """Normalised alias -> licence for ``resolve_license``: aliases first, then keys, SPDX ids, names."""
    licenses = {lic.pk: lic for lic in License.objects.all()}
    by_key = sorted(licenses.values(), key=lambda x: x.key, reverse=True)  # the first key wins a clash
    lookup = {normalise_alias(lic.name): lic for lic in by_key if lic.name}
    lookup.update({normalise_alias(lic.spdx_id): lic for lic in by_key if lic.spdx_id})
    lookup.update({normalise_alias(lic.key): lic for lic in licenses.values()})
    lookup.update(
        {alias: licenses[lic_id] for alias, lic_id in LicenseAlias.objects.values_list("alias", "license_id")}
    )
    return lookup


def _unresolved(cls):
    """Assets declaring a licence the hub did not recognise: none, or one whose terms are unknown ("other")."""
    from django.db.models import Q

    return cls.objects.filter(Q(license__isnull=True) | Q(license__category=License.Category.UNKNOWN)).exclude(
        license_declared=""
    )


@transaction.atomic
def reresolve_assets(*, dry_run: bool = False) -> tuple[int, int]:
    """Resolve again the declared strings of models and datasets the knowledge base did not recognise
    (after it grew: ``load_licenses``, a curator's new licence or alias); returns (models, datasets) whose
    licence changed. Strings, not rows, are resolved: one pass per distinct declared string."""
    from catalog.models import Dataset, MLModel

    aliases = all_aliases()
    counts = []
    for cls in (MLModel, Dataset):
        changed: list[int] = []
        pairs = _unresolved(cls).order_by().values_list("license_declared", "license_id").distinct()
        for declared, current in pairs:
            resolution = resolve_declared(declared, aliases=aliases)
            lic = resolution.license
            if lic is None or lic.pk == current:
                continue
            rows = cls.objects.filter(license_declared=declared, license_id=current)  # current: None or "unknown"
            changed += rows.values_list("pk", flat=True)
            if not dry_run:
                rows.update(license=lic, license_expression=resolution.expression)
        counts.append(len(changed))
        if not dry_run:
            (schedule_compliance if cls is MLModel else schedule_compliance_for_datasets)(changed)
    return counts[0], counts[1]


def schedule_reresolution() -> None:
    """Queue ``reresolve_assets`` once the current transaction (a licence or alias added) commits."""
    from licensing.tasks import reresolve_licenses_task

    transaction.on_commit(lambda: enqueue(reresolve_licenses_task))


# --------------------------------------------------------------------------------------------
# Compliance analysis, stored per model
# --------------------------------------------------------------------------------------------

MAX_SCOPED_IDS = 5000  # beyond this, reading the whole catalogue is cheaper than a huge IN list

REPORT_FIELDS = [
    "has_violations",
    "violation_count",
    "warning_count",
    "obligation_count",
    "findings",
    "verdicts",
    "ancestor_count",
    "dataset_count",
    "analysed_at",
]


def analyse_model(model_id: int, *, store: bool = True) -> compliance.Result:
    """Analyse one model: one recursive query to read, one statement to store."""
    graph = compliance.load_graph([model_id])
    if model_id not in graph.models:
        raise LookupError(f"no model with id {model_id}")
    result = compliance.analyse(graph, model_id)
    if store:
        store_results([result])
    return result


def analyse_models(model_ids: list[int] | None = None, *, batch_size: int = 2000, progress=None) -> tuple[int, int]:
    """Analyse many models (all when ``model_ids`` is None); returns (analysed, with violations).

    The graph is read once — the whole catalogue, or the given models with all their ancestors —
    and the reports are written in batches. ``progress`` (an ``openmodelhub.progress.Progress``)
    advances as each batch is stored.
    """
    whole = model_ids is None or len(model_ids) > MAX_SCOPED_IDS
    graph = compliance.load_graph(None if whole else model_ids)
    wanted = [pk for pk in (graph.models if model_ids is None else model_ids) if pk in graph.models]
    if progress is not None:
        progress.set_total(len(wanted))
    analysed = violating = 0
    batch: list[compliance.Result] = []
    # A large graph lives until the end: keep the collector from re-scanning it for every batch. Never for a
    # small analysis (one create, eager): freezing moves the garbage cycles not yet collected into the oldest
    # generation each time, where they pile up (a worker grew ~75 KiB per API create; bench/writes.py).
    frozen = len(wanted) > batch_size
    if frozen:
        gc.freeze()
    try:
        for pk in wanted:
            result = compliance.analyse(graph, pk)
            violating += result.has_violations
            batch.append(result)
            if len(batch) >= batch_size:
                store_results(batch)
                analysed += len(batch)
                if progress is not None:
                    progress.advance(len(batch))
                batch = []
        store_results(batch)
        if progress is not None:
            progress.advance(len(batch))
    finally:
        if frozen:
            gc.unfreeze()
    return analysed + len(batch), violating


def store_results(results: list[compliance.Result]) -> None:
    if not results:
        return
    owns_transaction = not connection.in_atomic_block
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql" and owns_transaction:
            # Reports are derived data, recomputed at will: no need to wait for the WAL flush.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        if connection.vendor == "postgresql" and len(results) >= COPY_THRESHOLD:
            _copy_results(results)
        elif connection.vendor == "sqlite":
            _insert_many_results(results)
        else:
            _upsert_results(results)


def _upsert_results(results: list[compliance.Result]) -> None:
    now = timezone.now()
    reports = [
        ComplianceReport(
            model_id=r.model_id,
            has_violations=r.has_violations,
            violation_count=r.count("violation"),
            warning_count=r.count("warning"),
            obligation_count=r.count("obligation"),
            findings=r.findings,
            verdicts=r.verdicts,
            ancestor_count=r.ancestor_count,
            dataset_count=r.dataset_count,
            analysed_at=now,
        )
        for r in results
    ]
    ComplianceReport.objects.bulk_create(
        reports, update_conflicts=True, unique_fields=["model"], update_fields=REPORT_FIELDS
    )


COPY_THRESHOLD = 200


def _copy_results(results: list[compliance.Result]) -> None:
    """Many reports on PostgreSQL: COPY into a temporary table, then one upsert. Binding thousands of
    JSON documents as literals in a multi-row INSERT is what made storing slower than analysing."""
    table = ComplianceReport._meta.db_table
    columns = ["model_id", *REPORT_FIELDS]
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS omh_report_stage ON COMMIT DROP AS "
            f"SELECT {', '.join(columns)} FROM {table} WITH NO DATA"
        )
        cursor.execute("TRUNCATE omh_report_stage")
        with cursor.cursor.copy(f"COPY omh_report_stage ({', '.join(columns)}) FROM STDIN") as copy:
            for r in results:
                copy.write_row(_report_row(r, now))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in REPORT_FIELDS)
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM omh_report_stage "
            f"ON CONFLICT (model_id) DO UPDATE SET {updates}"
        )


def _report_row(r: compliance.Result, analysed_at) -> tuple:
    """A report's columns in the order ``["model_id", *REPORT_FIELDS]``, JSON as text."""
    return (
        r.model_id,
        r.has_violations,
        r.count("violation"),
        r.count("warning"),
        r.count("obligation"),
        json.dumps(r.findings),
        json.dumps(r.verdicts),
        r.ancestor_count,
        r.dataset_count,
        analysed_at,
    )


def _insert_many_results(results: list[compliance.Result]) -> None:
    """Reports on SQLite: one prepared upsert run for every row (the ORM's bulk upsert compiles each JSON
    value of each row: most of a bulk write's analysis, and ~10% of a single create's eager tasks,
    bench/writes.py)."""
    table, columns = ComplianceReport._meta.db_table, ["model_id", *REPORT_FIELDS]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    updates = ", ".join(f"{c} = excluded.{c}" for c in REPORT_FIELDS)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
            f"ON CONFLICT (model_id) DO UPDATE SET {updates}",
            [_report_row(r, now) for r in results],
        )


def recompute_compliance(model_ids: list[int]) -> tuple[int, int]:
    """Re-analyse the given models and all their descendants (what a changed licence or edge affects)."""
    from catalog.models import descendant_ids

    ids = {int(pk) for pk in model_ids}
    if len(ids) > MAX_SCOPED_IDS:
        return analyse_models(None)
    ids |= descendant_ids(sorted(ids))
    return analyse_models(sorted(ids)) if ids else (0, 0)


QUEUED_MARK_SECONDS = 24 * 3600


def queued_key(model_id: int) -> str:
    return f"licensing:analysis-queued:{model_id}"


def mark_queued(model_ids: list[int]) -> None:
    """Remember when these models' re-analysis was queued: until a report newer than that is stored,
    reads show the stored one as stale (``selectors.analysis_status``)."""
    now = timezone.now().timestamp()
    cache.set_many({queued_key(pk): now for pk in model_ids}, QUEUED_MARK_SECONDS)


def schedule_compliance(model_ids) -> None:
    """Queue re-analysis of these models and their descendants once the current transaction commits."""
    ids = sorted({int(pk) for pk in model_ids if pk is not None})
    if not ids:
        return
    from licensing.tasks import recompute_compliance_task

    def queue() -> None:
        mark_queued(ids)
        enqueue(recompute_compliance_task, ids)

    transaction.on_commit(queue)


def schedule_compliance_for_datasets(dataset_ids) -> None:
    """A dataset's licence changed: re-analyse the models trained on it (and their descendants)."""
    from catalog.models import ModelDataset

    ids = [pk for pk in dataset_ids if pk is not None]
    if ids:
        schedule_compliance(ModelDataset.objects.filter(dataset_id__in=ids).values_list("model_id", flat=True))
