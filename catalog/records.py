"""Loading catalogue records from JSON (see docs/records-format.md).

Two input formats are understood: the project's own ``openmodelhub/records-v1`` and the records file
of the original OpenModelHub project (``affiliation`` / ``user`` / ``dataset`` / ``model``), which is
first translated into the project's format. Loading is one transaction: any bad record raises
``RecordError`` naming the record and the field, and nothing is written.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from accounts.models import Affiliation, User
from accounts.services import ensure_affiliation, ensure_user
from catalog.models import (
    Dataset,
    DatasetFile,
    DatasetRelationship,
    DatasetRelationshipColumnLink,
    DatasetRole,
    Domain,
    Family,
    FileColumn,
    Media,
    MediaType,
    MLModel,
    ModelDataset,
    ModelLineage,
    Task,
    check_lineage_edge,
)
from catalog import baselines, bulk, cache_scopes
from catalog.baselines import Kind
from catalog.task_synonyms import SynonymsError, TaskSynonyms, task_key
from licensing.models import License

FORMAT_V1 = "openmodelhub/records-v1"
DEFAULT_OWNER = "openmodelhub"


BULK_BATCH = 1000  # model records per bulk write (catalog.bulk)


class RecordError(Exception):
    """Bad input: says which record and which field."""

    def __init__(self, where: str, field_name: str | None, message: str):
        self.where, self.field_name, self.message = where, field_name, message
        location = f"{where}, field '{field_name}'" if field_name else where
        super().__init__(f"{location}: {message}")


@dataclass
class LoadReport:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    renamed: list[str] = field(default_factory=list)
    unresolved_licenses: Counter = field(default_factory=Counter)
    kept: list[str] = field(default_factory=list)  # "model owner/name (why)": left as curators made them
    mapped_tasks: Counter = field(default_factory=Counter)  # (name in the file, task slug): records
    task_synonyms_file: str = ""
    changed: bool = False  # something was created or rewritten (``updated`` also counts rows left alone)

    def count(self, kind: str, created: bool) -> None:
        (self.created if created else self.updated)[kind] += 1
        self.changed |= created


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def read_records(path: Path | str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise RecordError(str(path), None, "no such file") from None
    except json.JSONDecodeError as exc:
        raise RecordError(
            str(path), None, f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError as exc:
        raise RecordError(str(path), None, f"not UTF-8 text: {exc}") from None
    if not isinstance(data, dict):
        raise RecordError(str(path), None, "the top level must be a JSON object")
    return data


def normalise(data: dict, *, default_owner: str = DEFAULT_OWNER, report: LoadReport | None = None) -> dict:
    """Return the records in the project's format, translating the original format if needed."""
    if data.get("format") == FORMAT_V1:
        return data
    if "format" in data:
        raise RecordError("file", "format", f"unknown format {data['format']!r}; expected {FORMAT_V1!r}")
    if {"affiliation", "user", "dataset", "model"} & data.keys():
        return translate_original(data, default_owner=default_owner, report=report or LoadReport())
    raise RecordError(
        "file", None, f"neither {FORMAT_V1!r} records nor original records (affiliation/user/dataset/model)"
    )


# --------------------------------------------------------------------------------------------
# The original OpenModelHub format
# --------------------------------------------------------------------------------------------

ORIGINAL_TRAINING = {
    "pre-train": "pretrain",
    "pretrain": "pretrain",
    "fine-tune": "finetune",
    "finetune": "finetune",
    "rl": "rl",
    "reinforcement": "rl",
}
ORIGINAL_FAMILY = {"transformer": "transformer", "cnn": "cnn", "rnn": "rnn"}


def _original_list(data: dict, key: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise RecordError(key, None, "must be a list")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise RecordError(f"{key}[{index}]", None, "must be an object")
    return value


def _split_namespace(raw: Any, where: str, field_name: str, default_owner: str) -> tuple[str, str]:
    if not isinstance(raw, str) or not raw.strip():
        raise RecordError(where, field_name, "a non-empty name is required")
    raw = raw.strip()
    if "/" in raw:  # a Hugging Face id: the namespace is the owner, as on the Hub
        owner, _, name = raw.partition("/")
        return owner.strip(), name.strip()
    return default_owner, raw


def _dedupe(owner_names: list[tuple[str, str]], kind: str, report: LoadReport) -> list[str]:
    """Keep duplicates as separate records: the n-th occurrence of a name becomes NAME-n."""
    seen: Counter = Counter()
    names = []
    for owner, name in owner_names:
        seen[(owner, name)] += 1
        n = seen[(owner, name)]
        if n > 1:
            new_name = f"{name}-{n}"
            report.renamed.append(f"{kind} {owner}/{name} (occurrence {n}) -> {owner}/{new_name}")
            name = new_name
        names.append(name)
    return names


def _one_based(rows: list, key: str, size: int, where: str) -> int:
    value = rows.get(key) if isinstance(rows, dict) else None
    if not isinstance(value, int) or not 1 <= value <= size:
        raise RecordError(where, key, f"must be an index from 1 to {size}")
    return value - 1


def translate_original(data: dict, *, default_owner: str, report: LoadReport) -> dict:
    affiliations = _original_list(data, "affiliation")
    users = _original_list(data, "user")
    datasets = _original_list(data, "dataset")
    models = _original_list(data, "model")

    out: dict[str, Any] = {"format": FORMAT_V1, "affiliations": [], "users": [], "datasets": [], "models": []}
    for i, a in enumerate(affiliations):
        out["affiliations"].append({"name": _required_str(a, "affil_name", f"affiliation[{i}]")})
    usernames = [_translate_original_user(u, f"user[{i}]", out) for i, u in enumerate(users)]

    ds_keys = [
        _split_namespace(d.get("ds_name"), f"dataset[{i}]", "ds_name", default_owner) for i, d in enumerate(datasets)
    ]
    ds_names = _dedupe(ds_keys, "dataset", report)
    for i, (d, (owner, _), name) in enumerate(zip(datasets, ds_keys, ds_names, strict=True)):
        out["datasets"].append(_translate_original_dataset(d, owner, name, f"dataset[{i}] {d.get('ds_name')!r}"))

    model_keys = [
        _split_namespace(m.get("model_name"), f"model[{i}]", "model_name", default_owner) for i, m in enumerate(models)
    ]
    model_names = _dedupe(model_keys, "model", report)
    for i, (m, (owner, _), name) in enumerate(zip(models, model_keys, model_names, strict=True)):
        out["models"].append(_translate_original_model(m, owner, name, f"model[{i}] {m.get('model_name')!r}"))

    _translate_original_relations(data, out, usernames)
    return out


def _translate_original_user(u: dict, where: str, out: dict[str, Any]) -> str:
    """Appends the user's record (and an affiliation it names that the file did not list); returns the username."""
    username = _required_str(u, "user_name", where)
    record = {"username": username, "role": "admin" if u.get("is_admin") else "user"}
    if u.get("password_hash"):  # plain text in the original file despite its name
        record["password"] = str(u["password_hash"])
    if u.get("affiliate"):
        record["affiliations"] = [str(u["affiliate"])]
        if str(u["affiliate"]) not in {a["name"] for a in out["affiliations"]}:
            out["affiliations"].append({"name": str(u["affiliate"])})
    out["users"].append(record)
    return username


def _translate_original_dataset(d: dict, owner: str, name: str, where: str) -> dict:
    columns = d.get("columns") or []
    if not isinstance(columns, list):
        raise RecordError(where, "columns", "must be a list")
    record = {
        "owner": owner,
        "name": name,
        "media": _as_list(d.get("media")),
        "tasks": _as_list(d.get("task")),
        "instances_number": d.get("ds_size"),
        "authors": [],
    }
    if d.get("description"):
        record["card"] = str(d["description"])
    if columns:
        record["files"] = [
            {
                "path": "data",
                "logical_role": "data",
                "description": "Columns listed by the original records.",
                "columns": [
                    {
                        "name": _required_str(c, "col_name", f"{where} columns[{j}]"),
                        "data_type_original": str(c.get("col_datatype", "")),
                    }
                    for j, c in enumerate(columns)
                ],
            }
        ]
    return record


def _translate_original_relations(data: dict, out: dict[str, Any], usernames: list[str]) -> None:
    """Relationship lists written back by the original loader (1-based, in file order)."""
    models, datasets = out["models"], out["datasets"]
    for i, row in enumerate(_original_list(data, "model_author")):
        m = _one_based(row, "model_id", len(models), f"model_author[{i}]")
        u = _one_based(row, "user_id", len(usernames), f"model_author[{i}]")
        models[m].setdefault("authors", []).append(usernames[u])
    for i, row in enumerate(_original_list(data, "user_ds")):
        d = _one_based(row, "ds_id", len(datasets), f"user_ds[{i}]")
        u = _one_based(row, "user_id", len(usernames), f"user_ds[{i}]")
        datasets[d]["authors"].append(usernames[u])
    for i, row in enumerate(_original_list(data, "model_dataset")):
        m = _one_based(row, "model_id", len(models), f"model_dataset[{i}]")
        d = _one_based(row, "ds_id", len(datasets), f"model_dataset[{i}]")
        ref = f"{datasets[d]['owner']}/{datasets[d]['name']}"
        models[m].setdefault("datasets", []).append({"dataset": ref, "role": DatasetRole.TRAINED_ON})


def _translate_original_model(m: dict, owner: str, name: str, where: str) -> dict:
    arch = str(m.get("arch_name", "")).strip().lower()
    if arch not in ORIGINAL_FAMILY:
        raise RecordError(
            where, "arch_name", f"unknown architecture {m.get('arch_name')!r}; expected CNN, RNN or Transformer"
        )
    training = str(m.get("trainname", "")).strip().lower()
    if training and training not in ORIGINAL_TRAINING:
        raise RecordError(where, "trainname", f"unknown training type {m.get('trainname')!r}")
    architecture: dict[str, Any] = {"family": ORIGINAL_FAMILY[arch]}
    if arch == "transformer":
        architecture.update(
            decoder_count=m.get("decoder_num"),
            attention_size=m.get("attn_size"),
            up_size=m.get("up_size"),
            down_size=m.get("down_size"),
            embedding_size=m.get("embed_size"),
        )
    elif arch == "cnn":
        modules = m.get("modules") or []
        if not isinstance(modules, list):
            raise RecordError(where, "modules", "must be a list")
        architecture.update(
            module_count=m.get("module_num"),
            modules=[
                {
                    "conv_size": mod.get("conv_size") if isinstance(mod, dict) else None,
                    "pooling_type": mod.get("pool_type") if isinstance(mod, dict) else None,
                }
                for mod in modules
            ],
        )
    else:
        architecture.update(
            criterion=m.get("criteria") or "", batch_size=m.get("batch_size"), input_size=m.get("input_size")
        )
    return {
        "owner": owner,
        "name": name,
        "media": _as_list(m.get("media_type")),
        "tasks": _as_list(m.get("task")),
        "training_type": ORIGINAL_TRAINING.get(training, ""),
        "parameter_count": m.get("param_num"),
        "architecture": architecture,
    }


def _as_list(value: Any) -> list:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _required_str(record: dict, key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RecordError(where, key, "a non-empty string is required")
    return value.strip()


# --------------------------------------------------------------------------------------------
# Writing the project's format
# --------------------------------------------------------------------------------------------

USER_KEYS = {"username", "email", "role", "affiliations", "password", "first_name", "last_name"}
ASSET_KEYS = {"owner", "name", "card", "visibility", "media", "tasks", "license", "authors", "downloads", "likes"}
MODEL_KEYS = ASSET_KEYS | {"training_type", "parameter_count", "release_date", "architecture", "datasets", "bases"}
DATASET_SCALARS = {
    *Dataset.IDENTIFICATION_FIELDS,
    *Dataset.TECHNICAL_FIELDS,
    *Dataset.ETHICS_FLAGS,
    "data_errors_description",
}
DATASET_KEYS = ASSET_KEYS | DATASET_SCALARS | {"domains", "files", "relationships"}
FILE_KEYS = {
    "path",
    "logical_role",
    "format",
    "mime_type",
    "size_bytes",
    "row_count",
    "description",
    "sha256",
    "md5",
    "columns",
}
COLUMN_KEYS = {
    "name",
    "data_type_original",
    "data_type_interpreted",
    "description",
    "is_primary_key_component",
    "is_nullable",
    "is_pii",
    "example_values",
    "stats",
    "position",
}
ARCH_KEYS = {
    "transformer": {"decoder_count", "attention_size", "up_size", "down_size", "embedding_size"},
    "cnn": {"module_count", "modules"},
    "rnn": {"criterion", "batch_size", "input_size"},
    "other": set(),
}
TEXT_FIELDS = {
    "card",
    "objective",
    "access",
    "availability",
    "citation_link",
    "sources",
    "storage_uri",
    "features_description",
    "representativity_description",
    "representativity_level",
    "sample_balance_description",
    "sample_balance_level",
    "missing_values_description",
    "missing_values_handling_method",
    "documentation_link",
    "data_errors_description",
    "training_type",
}


def _list_of(record: dict, key: str, message: str, where: str) -> list:
    value = record.get(key, [])
    if not isinstance(value, list):
        raise RecordError(where, key, message)
    return value


def _check_keys(record: Any, allowed: set[str], where: str) -> dict:
    if not isinstance(record, dict):
        raise RecordError(where, None, "must be an object")
    unknown = sorted(set(record) - allowed)
    if unknown:
        raise RecordError(where, unknown[0], "unknown field")
    return record


def _section(data: dict, key: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise RecordError(key, None, "must be a list")
    return value


def _record_where(section: str, i: int, rec: Any) -> str:
    return f"{section}[{i}] {rec.get('name')!r}" if isinstance(rec, dict) else f"{section}[{i}]"


def _clean(instance, where: str, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            name, errors = next(iter(exc.error_dict.items()))
            field_name = None if name == "__all__" else name
            raise RecordError(where, field_name, " ".join(e.messages[0] for e in errors)) from None
        raise RecordError(where, None, " ".join(exc.messages)) from None


class RecordLoader:
    """Upserts records by their natural keys; call inside a transaction (``load`` does)."""

    def __init__(
        self, report: LoadReport, *, update: bool = False, progress=None, synonyms: TaskSynonyms | None = None
    ):
        self.report = report
        self.synonyms = synonyms or TaskSynonyms()
        report.task_synonyms_file = self.synonyms.path
        self.progress = progress  # openmodelhub.progress.Progress (or None): one step per record
        self.update = update  # overwrite rows edited since they were loaded (catalog.baselines)
        self._aliases: dict | None = None
        self.users: dict[str, User] = {}
        self.licenses = {lic.key: lic for lic in License.objects.all()}
        self.licenses_by_spdx = {lic.spdx_id.lower(): lic for lic in self.licenses.values() if lic.spdx_id}
        self.tasks = {t.slug: t for t in Task.objects.all()}
        self.domains = {d.slug: d for d in Domain.objects.all()}
        self.media = {m.slug: m for m in MediaType.objects.all()}
        self.datasets: dict[str, Dataset] = {}
        self.models: dict[str, MLModel] = {}
        self._pending: list[tuple[bulk.AssetItem, dict, str]] = []  # model records not yet written
        self._pending_datasets: list[tuple[bulk.AssetItem, dict, str]] = []  # and dataset records
        self._links: dict[int, set[tuple[int, str]]] = {}  # model id -> its dataset links as written
        self._states: dict[int, dict[str, str]] = {}  # model id -> fingerprints of what was written
        self._created: set[int] = set()

    def load(self, data: dict) -> None:
        if self.progress is not None:
            sections = ("affiliations", "users", "licenses", "tasks", "datasets", "models")
            self.progress.set_total(sum(len(_section(data, s)) for s in sections) + len(_section(data, "models")))
        for i, rec in enumerate(_section(data, "affiliations")):
            self._load_affiliation(rec, f"affiliations[{i}]")
            self._advance()
        for i, rec in enumerate(_section(data, "users")):
            self._load_user(rec, f"users[{i}]")
            self._advance()
        for i, rec in enumerate(_section(data, "licenses")):
            self._load_license(rec, f"licenses[{i}]")
            self._advance()
        for i, rec in enumerate(_section(data, "tasks")):
            self._load_task(rec, f"tasks[{i}]")
            self._advance()
        self._load_assets(_section(data, "datasets"), _section(data, "models"))

    def _load_affiliation(self, rec: dict, where: str) -> None:
        _check_keys(rec, {"name", "description"}, where)
        name = _required_str(rec, "name", where)
        if not self.update and Affiliation.objects.filter(name=name).exists():
            self.report.count("affiliations", False)  # kept as it is: only --update rewrites it
            return
        _, created = ensure_affiliation(name=name, description=str(rec.get("description") or ""))
        self.report.count("affiliations", created)

    def _load_assets(self, dataset_records: list, model_records: list) -> None:
        # Records unchanged since they were loaded, or edited since, are left alone (catalog.baselines).
        datasets = baselines.plan_assets(Kind.DATASET, dataset_records, update=self.update, resolve=self._resolve)
        models = baselines.plan_assets(Kind.MODEL, model_records, update=self.update, resolve=self._resolve)
        for plan in (datasets, models):
            self.report.kept.extend(f"{plan.kind} {line}" for line in plan.kept)
        if self.update or len(datasets.skip) < len(dataset_records) or len(models.skip) < len(model_records):
            self.report.changed = True  # rows (re)written: new, input changed since loaded, or --update
        self._load_planned("datasets", dataset_records, datasets.skip, DATASET_KEYS, self._load_dataset)
        self._flush_datasets()
        self._load_planned("models", model_records, models.skip, MODEL_KEYS, self._load_model)
        self._flush_models()
        for i, rec in enumerate(model_records):  # bases may come later in the file than their derivatives
            if i not in models.skip:
                self._remember_state(rec, self._load_lineage(rec, _record_where("models", i, rec)))
            self._advance()
        baselines.remember_assets(datasets, {k: d.pk for k, d in self.datasets.items()}, self._resolve)
        baselines.remember_assets(models, {k: m.pk for k, m in self.models.items()}, self._resolve, self._states)

    def _load_planned(
        self, section: str, records: list, skip: set[int], keys: set[str], load_one: Callable[[dict, str], None]
    ) -> None:
        """Loads each record of a section, except the ones the plan skips (still checked, counted as unchanged)."""
        for i, rec in enumerate(records):
            if i in skip:
                _check_keys(rec, keys, f"{section}[{i}]")
                self.report.count(section, False)
            else:
                load_one(rec, _record_where(section, i, rec))
            self._advance()

    def _advance(self) -> None:
        if self.progress is not None:
            self.progress.advance()

    def _resolve(self, text: str) -> License | None:
        from licensing.services import all_aliases, resolve_license

        if self._aliases is None:
            self._aliases = all_aliases()
        return resolve_license(text, aliases=self._aliases)

    def _expression(self, license_: License | None, declared: str) -> str:
        from licensing.services import COMBINED, expression_of

        if license_ is None or not COMBINED.search(declared):
            return ""
        if self._aliases is None:
            self._resolve("")
        return expression_of(license_, declared, aliases=self._aliases)

    # --- people and vocabularies ----------------------------------------------------------

    def _load_user(self, rec: dict, where: str) -> None:
        _check_keys(rec, USER_KEYS, where)
        username = _required_str(rec, "username", where)
        role = rec.get("role") or User.Role.USER
        if role not in User.Role.values:
            raise RecordError(where, "role", f"must be one of {', '.join(User.Role.values)}")
        if not self.update and username not in self.users:
            existing = User.objects.filter(username=username).first()
            if existing is not None:  # kept as it is (role, e-mail, affiliations): only --update rewrites it
                self.users[username] = existing
                self.report.count("users", False)
                return
        try:
            user, created = ensure_user(
                username=username, email=str(rec.get("email") or ""), role=role, password=rec.get("password")
            )
        except ValidationError as exc:
            raise RecordError(
                where, next(iter(getattr(exc, "error_dict", {"username": 0}))), " ".join(exc.messages)
            ) from None
        names = {k: rec[k] for k in ("first_name", "last_name") if rec.get(k) and getattr(user, k) != rec[k]}
        if names:
            for k, v in names.items():
                setattr(user, k, v)
            user.save(update_fields=list(names))
        affiliations = rec.get("affiliations") or []
        if not isinstance(affiliations, list):
            raise RecordError(where, "affiliations", "must be a list of names")
        user.affiliations.add(*[ensure_affiliation(name=str(a))[0] for a in affiliations])
        self.users[username] = user
        self.report.count("users", created)

    def _user(self, username: Any, where: str, field_name: str) -> User:
        if not isinstance(username, str) or not username:
            raise RecordError(where, field_name, "a username is required")
        if username not in self.users:
            user = User.objects.filter(username=username).first()
            if user is None:
                if field_name != "owner":
                    raise RecordError(where, field_name, f"unknown user {username!r}")
                user, _ = ensure_user(username=username)  # a namespace owner, as on the Hub (no password)
                self.report.count("namespace owners", True)
            self.users[username] = user
        return self.users[username]

    def _load_license(self, rec: dict, where: str) -> None:
        _check_keys(rec, {"key", "spdx_id", "name", "category", "url"}, where)
        key = _required_str(rec, "key", where)
        lic = self.licenses.get(key) or License(key=key)
        created = lic.pk is None
        if not created and not self.update:  # the knowledge base (load_licenses) or a curator keeps it
            self.report.count("licenses", False)
            return
        for attr in ("spdx_id", "name", "category", "url"):
            if attr in rec and rec[attr] is not None:
                setattr(lic, attr, rec[attr])
        _clean(lic, where, exclude=["key"] if not created else None)
        lic.save()
        self.licenses[key] = lic
        if lic.spdx_id:
            self.licenses_by_spdx[lic.spdx_id.lower()] = lic
        baselines.remember(Kind.LICENSE, {key: (lic.pk, baselines.license_state(lic), "")})
        self.report.count("licenses", created)

    def _load_task(self, rec: dict, where: str) -> None:
        _check_keys(rec, {"slug", "name", "modality"}, where)
        slug = _required_str(rec, "slug", where)
        task = self.tasks.get(slug) or Task(slug=slug)
        created = task.pk is None
        if not created and not self.update:  # kept as it is: only --update rewrites it
            self.report.count("tasks", False)
            return
        task.name = str(rec.get("name") or task.name or slug)
        task.modality = rec.get("modality") or task.modality or Media.OTHER
        _clean(task, where, exclude=None if created else ["slug"])
        task.save()
        self.tasks[slug] = task
        self.report.count("tasks", created)

    def _tasks(self, names: list, media: Any, where: str) -> list[Task]:
        """The tasks of a record: synonyms mapped onto the task table (catalog.task_synonyms), the rest by slug."""
        media = [m for m in media if isinstance(m, str)] if isinstance(media, list) else []
        tasks: dict[int, Task] = {}
        for name in names:
            mapped = self.synonyms.map(name, media) if isinstance(name, str) else []
            if not mapped and isinstance(name, str) and name.strip() not in self.tasks:
                key = task_key(name)  # "Text Generation", "text_generation": the table's text-generation
                mapped = [key] if key in self.tasks else []
            for slug in mapped:
                task = self._task(slug, where)
                tasks[task.pk] = task
                self.report.mapped_tasks[(name, task.slug)] += 1
            if not mapped:
                task = self._task(name, where)
                tasks[task.pk] = task
        return list(tasks.values())

    def _task(self, slug: Any, where: str) -> Task:
        if not isinstance(slug, str) or not slug.strip():
            raise RecordError(where, "tasks", "task slugs must be non-empty strings")
        slug = slug.strip()
        if slug not in self.tasks:
            task = Task(slug=slugify(slug) or slug, name=slug.replace("-", " ").capitalize())
            if task.slug in self.tasks:
                return self.tasks[task.slug]
            _clean(task, where)
            task.save()
            self.tasks[slug] = self.tasks[task.slug] = task
            self.report.count("tasks", True)
        return self.tasks[slug]

    def _domain(self, name: Any, where: str) -> Domain:
        if not isinstance(name, str) or not slugify(name):
            raise RecordError(where, "domains", "domains must be non-empty strings")
        slug = slugify(name)
        if slug not in self.domains:
            self.domains[slug] = Domain.objects.create(slug=slug, name=name.strip())
            self.report.count("domains", True)
        return self.domains[slug]

    def _media(self, values: Any, where: str) -> list[MediaType]:
        if not isinstance(values, list):
            raise RecordError(where, "media", "must be a list")
        result = []
        for value in values:
            slug = str(value).strip().lower()
            if slug not in self.media:
                raise RecordError(where, "media", f"unknown media {value!r}; expected one of {', '.join(Media.values)}")
            result.append(self.media[slug])
        return result

    def _resolve_license(self, value: Any, where: str) -> tuple[License | None, str]:
        if value is None or value == "":
            return None, ""
        if not isinstance(value, str):
            raise RecordError(where, "license", "must be a licence key or string")
        lic = (
            self.licenses.get(value)
            or self.licenses.get(value.lower())
            or self.licenses_by_spdx.get(value.lower())
            or self._resolve(value)
        )  # Hugging Face tags, names, SPDX expressions (licensing's resolver)
        if lic is None:
            self.report.unresolved_licenses[value] += 1
        return lic, value

    # --- assets -----------------------------------------------------------------------------

    def _asset_item(self, rec: dict, where: str, index: int, scalars: set[str]) -> bulk.AssetItem:
        """A model's or dataset's record as an item of the next bulk write (catalog.bulk): fields and links."""
        owner = self._user(rec.get("owner"), where, "owner")
        name = _required_str(rec, "name", where)
        license_, declared = self._resolve_license(rec.get("license"), where)
        values = {
            "license": license_,
            "license_declared": declared,
            "license_expression": self._expression(license_, declared),
        }
        for attr in scalars:
            if attr in rec:
                values[attr] = "" if rec[attr] is None and attr in TEXT_FIELDS else rec[attr]
        return bulk.AssetItem(
            index,
            owner,
            name,
            values,
            media=self._media(rec.get("media", []), where),
            tasks=self._tasks(_list_of(rec, "tasks", "must be a list", where), rec.get("media"), where),
            authors=[
                self._user(a, where, "authors") for a in _list_of(rec, "authors", "must be a list of usernames", where)
            ],
        )

    def _load_dataset(self, rec: dict, where: str) -> None:
        """Queue the record as an item of the next bulk write of datasets, written every BULK_BATCH records."""
        _check_keys(rec, DATASET_KEYS, where)
        scalars = DATASET_SCALARS | {"card", "visibility", "downloads", "likes"}
        item = self._asset_item(rec, where, len(self._pending_datasets), scalars)
        item.domains = [self._domain(d, where) for d in _list_of(rec, "domains", "must be a list", where)]
        self._pending_datasets.append((item, rec, where))
        if len(self._pending_datasets) >= BULK_BATCH:
            self._flush_datasets()

    def _flush_datasets(self) -> None:
        """Write the queued dataset records in one bulk write, then the files and relationships they describe."""
        pending, self._pending_datasets = self._pending_datasets, []
        if not pending:
            return
        try:
            result = bulk.write_assets(Dataset, [item for item, _, _ in pending], source="load_records", schedule=False)
        except bulk.BulkError as exc:
            _, rec, where = pending[exc.index]
            raise RecordError(where, exc.field, exc.message) from None
        for dataset, created, (_, rec, where) in zip(result.assets, result.created, pending, strict=True):
            if rec.get("files") or rec.get("relationships"):
                self.load_dataset_files(dataset, rec.get("files"), rec.get("relationships"), where)
            self.datasets[dataset.full_name] = dataset
            self.report.count("datasets", created)

    def load_dataset_files(self, dataset: Dataset, files: Any, relationships: Any, where: str) -> None:
        """Upsert a dataset's file records (by path), their columns (by name) and relationships (also
        used by catalog.croissant.importing). Files the records do not name are left as they are."""
        loaded = {}
        for j, frec in enumerate(_as_list(files)):
            loaded[frec.get("path") if isinstance(frec, dict) else j] = self._load_file(
                dataset, frec, f"{where} files[{j}]"
            )
        for j, rrec in enumerate(_as_list(relationships)):
            self._load_relationship(dataset, loaded, rrec, f"{where} relationships[{j}]")

    def _load_file(self, dataset: Dataset, rec: dict, where: str) -> DatasetFile:
        _check_keys(rec, FILE_KEYS, where)
        path = _required_str(rec, "path", where)
        dfile = DatasetFile.objects.filter(dataset=dataset, path=path).first() or DatasetFile(
            dataset=dataset, path=path
        )
        created = dfile.pk is None
        for attr in FILE_KEYS - {"path", "columns"}:
            if attr in rec:
                setattr(dfile, attr, "" if rec[attr] is None and attr not in ("size_bytes", "row_count") else rec[attr])
        _clean(dfile, where)
        dfile.save()
        self.report.count("dataset files", created)
        columns = _as_list(rec.get("columns"))
        existing = {c.name: c for c in dfile.columns.all()}
        names = []
        # Positions are rewritten below; park existing ones out of the way of the unique constraint.
        for offset, col in enumerate(existing.values(), start=1):
            col.position = 1_000_000 + offset
        FileColumn.objects.bulk_update(existing.values(), ["position"])
        for k, crec in enumerate(columns, start=1):
            cwhere = f"{where} columns[{k - 1}]"
            _check_keys(crec, COLUMN_KEYS, cwhere)
            name = _required_str(crec, "name", cwhere)
            names.append(name)
            column = existing.get(name) or FileColumn(dataset_file=dfile, name=name)
            self.report.count("columns", column.pk is None)
            for attr in COLUMN_KEYS - {"name"}:
                if attr in crec and crec[attr] is not None:
                    setattr(column, attr, crec[attr])
            if "position" not in crec:
                column.position = k
            _clean(column, cwhere, exclude=["dataset_file"])
            column.save()
        if len(set(names)) != len(names):
            raise RecordError(where, "columns", "column names must be unique within a file")
        dfile.columns.exclude(name__in=names).delete()
        return dfile

    def _load_relationship(self, dataset: Dataset, files: dict, rec: dict, where: str) -> None:
        _check_keys(rec, {"from_file", "to_file", "relationship_type", "description", "column_links"}, where)
        ends = {}
        for end in ("from_file", "to_file"):
            path = rec.get(end)
            ends[end] = files.get(path) or DatasetFile.objects.filter(dataset=dataset, path=path).first()
            if ends[end] is None:
                raise RecordError(where, end, f"no file {path!r} in this dataset")
        rel = DatasetRelationship.objects.filter(
            dataset=dataset,
            from_file=ends["from_file"],
            to_file=ends["to_file"],
            relationship_type=rec.get("relationship_type"),
        ).first() or DatasetRelationship(dataset=dataset, **ends, relationship_type=rec.get("relationship_type"))
        created = rel.pk is None
        rel.description = str(rec.get("description") or "")
        _clean(rel, where)
        rel.save()
        rel.column_links.all().delete()
        for order, link in enumerate(_as_list(rec.get("column_links")), start=1):
            lwhere = f"{where} column_links[{order - 1}]"
            _check_keys(link, {"from_column", "to_column"}, lwhere)
            cols = {}
            for end, file_end in (("from_column", "from_file"), ("to_column", "to_file")):
                cols[end] = ends[file_end].columns.filter(name=link.get(end)).first()
                if cols[end] is None:
                    raise RecordError(lwhere, end, f"no column {link.get(end)!r} in {ends[file_end].path!r}")
            DatasetRelationshipColumnLink.objects.create(relationship=rel, link_order=order, **cols)
        self.report.count("relationships", created)

    def _load_model(self, rec: dict, where: str) -> None:
        """Queue the record as an item of the next bulk write (catalog.bulk), written every BULK_BATCH records."""
        self._pending.append((self._model_item(rec, where, len(self._pending)), rec, where))
        if len(self._pending) >= BULK_BATCH:
            self._flush_models()

    def _model_item(self, rec: dict, where: str, index: int) -> bulk.AssetItem:
        _check_keys(rec, MODEL_KEYS, where)
        arch = rec.get("architecture") or {"family": Family.OTHER}
        if not isinstance(arch, dict):
            raise RecordError(where, "architecture", "must be an object")
        family = str(arch.get("family", "")).lower()
        if family not in ARCH_KEYS:
            raise RecordError(
                where,
                "architecture.family",
                f"unknown architecture {arch.get('family')!r}; expected one of {', '.join(ARCH_KEYS)}",
            )
        _check_keys(arch, ARCH_KEYS[family] | {"family", "name"}, f"{where} architecture")
        if rec.get("release_date") is not None and not isinstance(rec["release_date"], str):
            raise RecordError(where, "release_date", "must be a date written YYYY-MM-DD, or null")
        scalars = {"card", "visibility", "training_type", "parameter_count", "release_date", "downloads", "likes"}
        item = self._asset_item(rec, where, index, scalars)
        item.values |= {"architecture_family": family, "architecture_name": arch.get("name") or ""}
        item.architecture = {"family": family, **{k: arch.get(k) for k in ARCH_KEYS[family] - {"modules"}}}
        if family == "cnn":
            item.architecture["modules"] = []
            for position, mod in enumerate(_as_list(arch.get("modules"))):
                _check_keys(mod, {"conv_size", "pooling_type"}, f"{where} architecture.modules[{position}]")
                pooling = str(mod.get("pooling_type") or "").lower()
                item.architecture["modules"].append({"conv_size": mod.get("conv_size"), "pooling_type": pooling})
        return item

    def _flush_models(self) -> None:
        """Write the queued model records in one bulk write, then their dataset links."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            result = bulk.write_models([item for item, _, _ in pending], source="load_records", schedule=False)
        except bulk.BulkError as exc:
            _, rec, where = pending[exc.index]
            raise RecordError(where, exc.field, exc.message) from None
        for model, created in zip(result.models, result.created, strict=True):
            self.models[model.full_name] = model
            self.report.count("models", created)
            if created:
                self._created.add(model.pk)
        self._link_datasets(
            [(model, rec, where) for model, (_, rec, where) in zip(result.models, pending, strict=True)]
        )

    def _link_datasets(self, loaded: list[tuple[MLModel, dict, str]]) -> None:
        """The models' dataset links as the records give them, for the whole batch at once."""
        wanted: dict[int, set[tuple[int, str]]] = {}
        for model, rec, where in loaded:
            links = wanted.setdefault(model.pk, set())
            for j, link in enumerate(_as_list(rec.get("datasets"))):
                lwhere = f"{where} datasets[{j}]"
                _check_keys(link, {"dataset", "role"}, lwhere)
                dataset = self._dataset_ref(link.get("dataset"), lwhere)
                role = link.get("role") or DatasetRole.TRAINED_ON
                if role not in DatasetRole.values:
                    raise RecordError(lwhere, "role", f"must be one of {', '.join(DatasetRole.values)}")
                links.add((dataset.pk, role))
        self._links.update(wanted)
        current: dict[int, dict[tuple[int, str], int]] = {}
        for pk, model_id, dataset_id, role in ModelDataset.objects.filter(model_id__in=wanted).values_list(
            "pk", "model_id", "dataset_id", "role"
        ):
            current.setdefault(model_id, {})[(dataset_id, role)] = pk
        stale = [pk for model_id, links in current.items() for key, pk in links.items() if key not in wanted[model_id]]
        ModelDataset.objects.filter(pk__in=stale).delete()
        ModelDataset.objects.bulk_create(
            [
                ModelDataset(model_id=model_id, dataset_id=d, role=r)
                for model_id, links in wanted.items()
                for d, r in links - set(current.get(model_id, {}))
            ]
        )

    def _dataset_ref(self, ref: Any, where: str) -> Dataset:
        return self._asset_ref(Dataset, self.datasets, ref, where, "dataset")

    def _model_ref(self, ref: Any, where: str) -> MLModel:
        return self._asset_ref(MLModel, self.models, ref, where, "model")

    @staticmethod
    def _asset_ref(cls, loaded: dict, ref: Any, where: str, kind: str):
        """The asset an 'owner/name' reference names: loaded from this file, or already in the catalogue."""
        if not isinstance(ref, str) or "/" not in ref:
            raise RecordError(where, kind, "must be 'owner/name'")
        if ref not in loaded:
            owner, _, name = ref.partition("/")
            asset = cls.objects.filter(owner__username=owner, name=name).first()
            if asset is None:
                raise RecordError(where, kind, f"unknown {kind} {ref!r}")
            loaded[ref] = asset
        return loaded[ref]

    def _remember_state(self, rec: dict, bases: list[tuple[int, str]] | None) -> None:
        """A new model's fingerprints from what was written (its links are on the row, catalog.bulk), so that
        the baseline needs no read back; a model that was there before is read back (``remember_assets``)."""
        model = self.models.get(f"{rec.get('owner')}/{str(rec.get('name')).strip()}")
        if model is not None and model.pk in self._created:
            self._states[model.pk] = baselines.model_state(
                model, self._resolve, datasets=self._links.get(model.pk, ()), bases=bases or []
            )

    def _load_lineage(self, rec: dict, where: str) -> list[tuple[int, str]] | None:
        """The model's base edges as the record gives them (None: the record gives none, they are kept)."""
        if "bases" not in rec:
            return None
        model = self._model_ref(f"{rec['owner']}/{rec['name']}", where)
        wanted = {}
        for j, edge in enumerate(_as_list(rec.get("bases"))):
            ewhere = f"{where} bases[{j}]"
            _check_keys(edge, {"model", "relation"}, ewhere)
            base = self._model_ref(edge.get("model"), ewhere)
            relation = edge.get("relation")
            if relation not in ModelLineage.Relation.values:
                raise RecordError(ewhere, "relation", f"must be one of {', '.join(ModelLineage.Relation.values)}")
            wanted[base.pk] = (base, relation, ewhere)
        model.base_edges.exclude(base_id__in=wanted).delete()
        existing = {e.base_id: e for e in model.base_edges.all()}
        for base_id, (base, relation, ewhere) in wanted.items():
            edge = existing.get(base_id)
            if edge is not None:
                if edge.relation != relation:
                    edge.relation = relation
                    edge.save(update_fields=["relation"])
                    self.report.count("lineage edges", False)
                continue
            try:
                check_lineage_edge(model.pk, base.pk)
            except ValidationError as exc:
                raise RecordError(ewhere, "model", exc.messages[0]) from None
            ModelLineage.objects.create(model=model, base=base, relation=relation)
            self.report.count("lineage edges", True)
        return [(base_id, relation) for base_id, (_, relation, _) in wanted.items()]


class DryRunRollback(Exception):
    pass


def load_records(
    data: dict,
    *,
    default_owner: str = DEFAULT_OWNER,
    dry_run: bool = False,
    update: bool = False,
    progress=None,
    task_synonyms: Path | str | None = None,
) -> LoadReport:
    """Load one records file in one transaction; with ``dry_run`` everything is checked, then rolled back.

    Rows edited since they were loaded (or not loaded by this function) are kept and listed in
    ``report.kept``; ``update`` overwrites them with the file's values. Task names are mapped onto
    the task table with the synonyms file ``task_synonyms`` (default ``settings.TASK_SYNONYMS_FILE``;
    ``""`` for none), each mapping counted in ``report.mapped_tasks``. ``progress`` (an
    ``openmodelhub.progress.Progress``) advances by one per record."""
    report = LoadReport()
    if task_synonyms is None:
        task_synonyms = settings.TASK_SYNONYMS_FILE
    try:
        synonyms = TaskSynonyms.load(task_synonyms)
    except SynonymsError as exc:
        where, message = str(exc).split(": ", 1)
        raise RecordError(where, None, message) from None
    records = normalise(data, default_owner=default_owner, report=report)
    loader = RecordLoader(report, update=update, progress=progress, synonyms=synonyms)
    try:
        with transaction.atomic():
            loader.load(records)
            if dry_run:
                raise DryRunRollback
    except DryRunRollback:
        return report
    from licensing.services import schedule_compliance, schedule_compliance_for_datasets

    schedule_compliance([m.pk for m in loader.models.values()])  # licence analysis, descendants included
    schedule_compliance_for_datasets([d.pk for d in loader.datasets.values()])
    if report.changed:
        cache_scopes.bump_generation()  # cached insights and facet counts count the new rows in the next request
    return report
