"""What the agent may read, derived from the live Django models.

The allow-list below names models; everything else (tables, columns, types, choices, relations,
help texts) is read from model metadata, so the prompt and the SQL guard follow the schema as it
migrates. Many-to-many link tables between exposed models are exposed with them.

Row visibility is also derived, not restated: the asset tables filter through
``visible_to(user)``; every other exposed table keeps only rows whose foreign keys point at visible
rows of a filtered table (a lineage edge needs both ends visible, a column needs its file, which
needs its dataset).

The user directory follows the API's policy (``/api/v1/users/`` and ``/api/v1/affiliations/`` are
admin-only): admins read users with their roles, activity and affiliations; everyone else sees a
user only as the owner or an author of an asset they can see, by id and username
(``tables_for(user)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

from django.apps import apps
from django.db import connection, models

# Model label -> the columns to hide (secrets and personal data). Tables not listed are invisible.
EXPOSED_MODELS: dict[str, frozenset[str]] = {
    "catalog.MLModel": frozenset(),
    "catalog.Dataset": frozenset(),
    "catalog.MediaType": frozenset(),
    "catalog.Task": frozenset(),
    "catalog.Domain": frozenset(),
    "catalog.TransformerDetails": frozenset(),
    "catalog.CNNDetails": frozenset(),
    "catalog.CNNModule": frozenset(),
    "catalog.RNNDetails": frozenset(),
    "catalog.ModelLineage": frozenset(),
    "catalog.ModelDataset": frozenset(),
    "catalog.DatasetFile": frozenset(),
    "catalog.FileColumn": frozenset({"value_sketch"}),  # a binary MinHash (catalog.discovery.data), nothing to query
    "catalog.DatasetRelationship": frozenset(),
    "catalog.DatasetRelationshipColumnLink": frozenset(),
    # Who typed a result in is no catalogue fact; its rows follow the model and the dataset (both visible).
    "catalog.EvaluationResult": frozenset({"created_by_id"}),
    "licensing.License": frozenset(),
    # The compliance summary only: findings and verdicts name upstream assets the viewer may not see.
    "licensing.ComplianceReport": frozenset({"findings", "verdicts", "ancestor_count", "dataset_count"}),
    "accounts.Affiliation": frozenset(),
    # Password hashes, e-mail addresses and log-in times are not the catalogue's business.
    "accounts.User": frozenset({"password", "email", "last_login", "is_superuser", "is_staff"}),
}

# For viewers who are not admins: the tables they may not read at all, and the only columns they may
# read of the others listed (allow-lists; see the module docstring).
ADMIN_ONLY_TABLES: frozenset[str] = frozenset({"accounts.Affiliation", "accounts.User_affiliations"})
NON_ADMIN_COLUMNS: dict[str, frozenset[str]] = {"accounts.User": frozenset({"id", "username"})}


def reads_user_directory(user) -> bool:
    """Whether the viewer may read the user directory: active admins, as ``IsAdminRole`` in the API."""
    return bool(user is not None and getattr(user, "is_admin", False))


def visible_users(viewer) -> models.QuerySet:
    """Everyone for admins; for anyone else the owners and authors of the assets they can see."""
    user_model = apps.get_model("accounts", "User")
    if reads_user_directory(viewer):
        return user_model.objects.all()
    shown = models.Q()
    for asset in (apps.get_model("catalog", "MLModel"), apps.get_model("catalog", "Dataset")):
        visible = asset.objects.visible_to(viewer)
        authors = asset.authors.through.objects.filter(**{f"{asset._meta.model_name}__in": visible.values("pk")})
        shown |= models.Q(pk__in=visible.values("owner_id")) | models.Q(pk__in=authors.values("user_id"))
    return user_model.objects.filter(shown)


# Models whose rows are filtered by their own queryset; the rest inherit through foreign keys.
ROW_FILTERS: dict[str, Callable] = {
    "catalog.MLModel": lambda user: apps.get_model("catalog", "MLModel").objects.visible_to(user),
    "catalog.Dataset": lambda user: apps.get_model("catalog", "Dataset").objects.visible_to(user),
    "accounts.User": visible_users,
}

# Field types that are machinery, not data (full-text search vectors): never shown to the model.
SKIPPED_FIELD_TYPES: frozenset[str] = frozenset({"SearchVectorField"})

# Column names the agent may never mention, whatever table they are looked for in.
SECRET_COLUMN_NAMES: frozenset[str] = frozenset().union(*EXPOSED_MODELS.values()) | {
    "token_hash",
    "hash",
    "prev_hash",
    "session_data",
    "session_key",
}


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    db_type: str
    null: bool
    primary_key: bool
    choices: tuple[tuple[str, str], ...]
    help_text: str
    references: str  # "table.column" for a foreign key, else ""


@dataclass(frozen=True)
class TableInfo:
    db_table: str
    model: type[models.Model]
    description: str
    columns: tuple[ColumnInfo, ...]
    hidden: frozenset[str]
    filtered_by: tuple[tuple[str, str], ...]  # (foreign key attname, model label) that restrict rows

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def label(self) -> str:
        return self.model._meta.label


def _column(field: models.Field) -> ColumnInfo:
    references = ""
    if field.is_relation and field.related_model is not None:
        target = field.target_field
        references = f"{field.related_model._meta.db_table}.{target.column}"
    choices = tuple((str(value), str(label)) for value, label in (field.choices or ()))
    return ColumnInfo(
        name=field.column,
        db_type=field.db_type(connection) or field.get_internal_type(),
        null=field.null,
        primary_key=field.primary_key,
        choices=choices,
        help_text=str(field.help_text or ""),
        references=references,
    )


def _description(model: type[models.Model]) -> str:
    meta = model._meta
    if meta.auto_created:
        ends = [f.related_model._meta.db_table for f in meta.concrete_fields if f.is_relation]
        return f"link table between {' and '.join(ends)}"
    doc = (model.__doc__ or "").strip()
    if doc.startswith(f"{model.__name__}("):  # Django's generated docstring says nothing useful
        doc = ""
    name = str(meta.verbose_name)
    return f"{name}: {doc}" if doc else name


def _exposed_models() -> dict[str, tuple[type[models.Model], frozenset[str]]]:
    exposed = {label: (apps.get_model(label), hidden) for label, hidden in EXPOSED_MODELS.items()}
    for model, _hidden in list(exposed.values()):
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            if through._meta.auto_created and field.related_model._meta.label in exposed:
                exposed.setdefault(through._meta.label, (through, frozenset()))
    return exposed


@cache
def exposed_tables() -> dict[str, TableInfo]:
    """db_table -> TableInfo for every table the agent may read, in a stable order."""
    exposed = _exposed_models()
    tables: dict[str, TableInfo] = {}
    for label, (model, hidden) in exposed.items():
        meta = model._meta
        fields = [
            f
            for f in meta.concrete_fields
            if f.column not in hidden and f.get_internal_type() not in SKIPPED_FIELD_TYPES
        ]
        filtered_by = tuple(
            (f.name, f.related_model._meta.label)
            for f in meta.concrete_fields
            if f.is_relation
            and f.related_model is not None
            and f.column not in hidden  # a hidden key cannot be followed: it restricts nothing
            and label not in ROW_FILTERS
            and _is_filtered(f.related_model._meta.label, exposed)
        )
        tables[meta.db_table] = TableInfo(
            db_table=meta.db_table,
            model=model,
            description=_description(model),
            columns=tuple(_column(f) for f in fields),
            hidden=hidden,
            filtered_by=filtered_by,
        )
    return dict(sorted(tables.items()))


def tables_for(user) -> dict[str, TableInfo]:
    """The exposed tables as this viewer may read them (see ADMIN_ONLY_TABLES and NON_ADMIN_COLUMNS)."""
    return _tables(directory=reads_user_directory(user))


@cache
def _tables(*, directory: bool) -> dict[str, TableInfo]:
    tables = exposed_tables()
    if directory:
        return tables
    shown: dict[str, TableInfo] = {}
    for name, table in tables.items():
        if table.label in ADMIN_ONLY_TABLES:
            continue
        allowed = NON_ADMIN_COLUMNS.get(table.label)
        if allowed is not None:
            table = replace(
                table,
                columns=tuple(c for c in table.columns if c.name in allowed),
                hidden=table.hidden | (frozenset(table.column_names) - allowed),
            )
        shown[name] = table
    return shown


def _is_filtered(label: str, exposed: dict, seen: frozenset = frozenset()) -> bool:
    """Whether rows of this model are restricted (directly, or through its foreign keys)."""
    if label in ROW_FILTERS:
        return True
    if label in seen or label not in exposed:
        return False
    model = exposed[label][0]
    return any(
        f.is_relation
        and f.related_model is not None
        and _is_filtered(f.related_model._meta.label, exposed, seen | {label})
        for f in model._meta.concrete_fields
    )


def visible_rows(label: str, user) -> models.QuerySet | None:
    """The rows of this model the user may see, as a queryset; None when every row is visible."""
    tables = {t.label: t for t in exposed_tables().values()}
    table = tables[label]
    if label in ROW_FILTERS:
        queryset = ROW_FILTERS[label](user)
        return None if not queryset.query.where else queryset
    lookups = {}
    for field_name, target in table.filtered_by:
        target_rows = visible_rows(target, user)
        if target_rows is not None:
            lookups[f"{field_name}__in"] = target_rows.values("pk")
    return table.model._default_manager.filter(**lookups) if lookups else None
