"""Many models written at once: the API's bulk endpoint and ``load_records`` share this path.

A batch is upserted by owner/name in one transaction with a handful of statements whatever its size:
one read of the rows already there, one INSERT for the new rows and one UPDATE for the others, the links
(media, tasks, authors) and architecture details by table, one audit event for the batch (the audit
chain's head advances by one event at a time, accounts.audit), and one licence analysis and one
embedding run scheduled after the commit for every model of the batch. An invalid item raises
``BulkError`` naming its position and field, and nothing of the batch is written (the caller's
transaction). Who may write what is the caller's to decide (``resolve_api_items`` for the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from catalog import cache_scopes, semantic
from catalog.models import MediaType, MLModel, Task, is_member, sees_everything
from catalog.services import DETAIL_CLASSES, DETAIL_FIELDS, MODEL_FIELDS

MAX_ITEMS = 1000  # per request: a batch is one transaction, and its audit event lists every model
LINKS = ("media", "tasks", "authors")


class BulkError(Exception):
    """Item ``index`` (its ``name``) is invalid at ``field`` (None: the item as a whole)."""

    def __init__(self, index: int, name: str, field_name: str | None, message: str, *, forbidden: bool = False):
        self.index, self.name, self.field, self.message, self.forbidden = index, name, field_name, message, forbidden
        super().__init__(f"items[{index}] {name!r}: {field_name + ': ' if field_name else ''}{message}")


@dataclass
class ModelItem:
    """One model to write, its references already resolved: ``values`` holds the fields to set (those of
    ``services.MODEL_FIELDS`` but the name, ``license`` a License or None, and ``license_expression``,
    ``architecture_family``, ``downloads``, ``likes``); a link list is None when not given."""

    index: int
    owner: User
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    media: list[MediaType] | None = None
    tasks: list[Task] | None = None
    authors: list[User] | None = None
    architecture: dict | None = None  # {"family": ..., the family's detail fields, "modules": [...]}

    @property
    def key(self) -> tuple[int, str]:
        return (self.owner.pk, self.name)


@dataclass
class BulkResult:
    models: list[MLModel]  # in the items' order
    created: list[bool]

    def summary(self) -> dict:
        return {
            "created": sum(self.created),
            "updated": len(self.created) - sum(self.created),
            "items": [
                {"id": m.pk, "owner": m.owner.username, "name": m.name, "created": new}
                for m, new in zip(self.models, self.created, strict=True)
            ],
        }


def existing_models(items: list[ModelItem]) -> dict[tuple[int, str], MLModel]:
    """The models already stored under the items' owner/name, in one query."""
    owners = {item.owner.pk for item in items}
    names = {item.name for item in items}
    rows = MLModel.objects.filter(owner_id__in=owners, name__in=names).defer("search_vector")
    wanted = {item.key for item in items}
    return {(m.owner_id, m.name): m for m in rows if (m.owner_id, m.name) in wanted}


def _invalid(item: ModelItem, exc: ValidationError, prefix: str = "") -> BulkError:
    if hasattr(exc, "error_dict"):
        name, errors = next(iter(exc.error_dict.items()))
        field_name = None if name == "__all__" else f"{prefix}{name}"
        return BulkError(item.index, item.name, field_name, " ".join(e.messages[0] for e in errors))
    return BulkError(item.index, item.name, prefix.rstrip(".") or None, " ".join(exc.messages))


def _prepare(items: list[ModelItem], existing: dict, now) -> tuple[list[MLModel], list[bool], set[str]]:
    """Each item's row with its values set and validated (the database enforces the constraints)."""
    models, created, changed, seen = [], [], set(), set()
    for item in items:
        if item.key in seen:
            raise BulkError(item.index, item.name, "name", "appears twice in this batch")
        seen.add(item.key)
        model = existing.get(item.key)
        created.append(model is None)
        if model is None:
            model = MLModel(owner=item.owner, name=item.name, created_at=now)
        else:
            model.owner = item.owner  # the loaded user: the audit event and the response name it
        for name, value in item.values.items():
            setattr(model, name, value)
        changed.update(item.values)
        model.updated_at = now
        try:
            model.full_clean(exclude=["owner", "license"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise _invalid(item, exc) from None
        models.append(model)
    return models, created, changed


def _write_links(items: list[ModelItem], models: list[MLModel], created: list[bool]) -> None:
    for name in LINKS:
        through = getattr(MLModel, name).through
        target = {"media": "mediatype", "tasks": "task", "authors": "user"}[name]
        given = [
            (item, m, new)
            for item, m, new in zip(items, models, created, strict=True)
            if getattr(item, name) is not None
        ]
        replaced = [m.pk for _, m, new in given if not new]
        if replaced:
            through.objects.filter(mlmodel_id__in=replaced).delete()
        rows = {
            (m.pk, row.pk): through(**{"mlmodel_id": m.pk, f"{target}_id": row.pk})
            for item, m, _ in given
            for row in getattr(item, name)
        }
        through.objects.bulk_create(rows.values(), batch_size=2000)


def _write_architecture(items: list[ModelItem], models: list[MLModel], created: list[bool]) -> None:
    from catalog.models import CNNModule

    given = [(item, m, new) for item, m, new in zip(items, models, created, strict=True) if item.architecture]
    replaced = [m.pk for _, m, new in given if not new]
    for cls in DETAIL_CLASSES.values():
        if replaced:
            cls.objects.filter(model_id__in=replaced).delete()
    details = {family: [] for family in DETAIL_CLASSES}
    modules = []
    for item, model, _ in given:
        family = item.architecture.get("family")
        if family not in DETAIL_CLASSES:
            continue
        row = DETAIL_CLASSES[family](model=model)
        for name in DETAIL_FIELDS[family]:
            value = item.architecture.get(name)
            setattr(row, name, "" if value is None and name == "criterion" else value)
        try:
            row.full_clean(exclude=["model"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise _invalid(item, exc, "architecture.") from None
        details[family].append(row)
        for position, module in enumerate(item.architecture.get("modules") or [], start=1):
            entry = CNNModule(cnn=row, position=position, **module)
            try:
                entry.full_clean(exclude=["cnn"], validate_unique=False, validate_constraints=False)
            except ValidationError as exc:
                raise _invalid(item, exc, f"architecture.modules[{position - 1}].") from None
            modules.append(entry)
    for family, rows in details.items():
        DETAIL_CLASSES[family].objects.bulk_create(rows, batch_size=2000)
    CNNModule.objects.bulk_create(modules, batch_size=2000)


@transaction.atomic
def write_models(
    items: list[ModelItem], *, actor=None, request=None, source: str = "api", schedule: bool = True
) -> BulkResult:
    """Upsert the items by owner/name (already permission-checked by the caller) in one transaction.
    ``schedule`` False: the caller schedules the licence analysis itself (load_records, once lineage is in)."""
    now = timezone.now()
    existing = existing_models(items)
    before = {key: (m.visibility, m.license_id) for key, m in existing.items()}
    models, created, changed = _prepare(items, existing, now)
    MLModel.objects.bulk_create([m for m, new in zip(models, created, strict=True) if new], batch_size=1000)
    updated = [m for m, new in zip(models, created, strict=True) if not new]
    if updated:
        MLModel.objects.bulk_update(updated, sorted(changed | {"updated_at"}), batch_size=500)
    _write_links(items, models, created)
    _write_architecture(items, models, created)
    audit.record(
        "asset.bulk_write",
        actor=actor,
        target_type=MLModel._meta.label,
        request=request,
        details={
            "source": source,
            "created": [m.pk for m, new in zip(models, created, strict=True) if new],
            "updated": [m.pk for m in updated],
            "names": [m.full_name for m in models],
            "fields": sorted(changed | {name for name in LINKS if any(getattr(i, name) is not None for i in items)}),
        },
    )
    if any(before[(m.owner_id, m.name)][0] != m.visibility for m in updated):
        cache_scopes.bump_generation()  # cached insights and facet counts stop (or start) naming them
    if schedule:
        from licensing.services import schedule_compliance

        schedule_compliance([m.pk for m in models])  # once for the batch, after the commit
        semantic.schedule_embeddings(MLModel, [m.pk for m in models])
    return BulkResult(models, created)


# --- the API's items --------------------------------------------------------------------------------


def may_create_for(user, owner: User) -> bool:
    """A model is created in the caller's own namespace; admins and curators may create it for anyone."""
    return is_member(user) and (owner.pk == user.pk or sees_everything(user))


def check_permissions(user, items: list[ModelItem]) -> None:
    """Updates need write on the model (``editable_by``; a visibility change needs manage), creates the
    owner's namespace. A model the caller may not see is treated as missing, so naming one answers like
    naming a free name in someone else's namespace."""
    existing = existing_models(items)
    ids = [m.pk for m in existing.values()]
    visible = set(MLModel.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
    editable = set(MLModel.objects.editable_by(user).filter(pk__in=visible).values_list("pk", flat=True))
    manageable = set(MLModel.objects.manageable_by(user).filter(pk__in=editable).values_list("pk", flat=True))
    for item in items:
        model = existing.get(item.key)
        if model is None or model.pk not in visible:
            if not may_create_for(user, item.owner):
                raise BulkError(
                    item.index, item.name, "owner", "You may not create models in this namespace.", forbidden=True
                )
        elif model.pk not in editable:
            raise BulkError(item.index, item.name, None, "You may not change this model.", forbidden=True)
        elif "visibility" in item.values and item.values["visibility"] != model.visibility:
            if model.pk not in manageable:
                raise BulkError(
                    item.index, item.name, "visibility", "You may not change its visibility.", forbidden=True
                )


def _lookup(table: dict, key: str, index: int, name: str, field_name: str):
    if key not in table:
        raise BulkError(index, name, field_name, f"{key!r} is not known here.")
    return table[key]


def resolve_api_items(user, raw: list[dict]) -> list[ModelItem]:
    """The API's validated items (``BulkModelItemSerializer``) with their references looked up in one query
    per kind and their licence resolved by the one resolver."""
    from licensing.models import License
    from licensing.services import all_aliases, complete_license_fields, expression_of

    usernames = {r["owner"] for r in raw if r.get("owner")} | {a for r in raw for a in r.get("authors", [])}
    users = {u.username: u for u in User.objects.filter(username__in=usernames)} | {user.username: user}
    tasks = {t.slug: t for t in Task.objects.filter(slug__in={t for r in raw for t in r.get("tasks", [])})}
    media = {m.slug: m for m in MediaType.objects.all()}
    licences = {lic.key: lic for lic in License.objects.filter(key__in={r["license"] for r in raw if r.get("license")})}
    aliases = all_aliases() if any(r.get("license_declared") for r in raw) else None  # one read for the batch
    items = []
    for index, r in enumerate(raw):
        name = r["name"]
        owner = _lookup(users, r.get("owner") or user.username, index, name, "owner")
        data = {k: v for k, v in r.items() if k in MODEL_FIELDS and k != "name"}
        if "license" in r:
            data["license"] = _lookup(licences, r["license"], index, name, "license") if r["license"] else None
        data = complete_license_fields(data, aliases=aliases)
        if "license" in data or "license_declared" in data:
            data["license_expression"] = expression_of(
                data.get("license"), data.get("license_declared", ""), aliases=aliases
            )
        if r.get("architecture"):
            data["architecture_family"] = r["architecture"]["family"]
        links = {
            key: [_lookup(table, v, index, name, key) for v in r[key]] if key in r else None
            for key, table in (("media", media), ("tasks", tasks), ("authors", users))
        }
        items.append(ModelItem(index, owner, name, data, architecture=r.get("architecture"), **links))
    return items


def api_write(user, raw: list[dict], request=None) -> BulkResult:
    """The bulk endpoint: resolve, check who may write what, write. A BulkError (naming the item) leaves
    nothing written."""
    items = resolve_api_items(user, raw)
    check_permissions(user, items)
    return write_models(items, actor=user, request=request)
