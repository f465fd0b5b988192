"""Many models or datasets written at once: the API's bulk endpoints, its single creates and ``load_records``
share this path (``services.save_model`` / ``save_dataset`` create through it too).

A batch is upserted by owner/name in one transaction with a handful of statements whatever its size:
one read of the rows already there (none for a create: the database's unique constraint answers a taken
name), one INSERT for the new rows and one UPDATE for the others, the links (media, tasks, authors;
datasets also domains) and a model's architecture details by table, one audit event for the batch (the
audit chain's head advances by one event at a time, accounts.audit), and one licence analysis and one
embedding run scheduled after the commit for the whole batch (embedded from what was written when tasks
run in this process). An invalid item raises ``BulkError`` naming its position and field, and nothing of
the batch is written (the caller's transaction). Who may write what is the caller's to decide
(``check_permissions`` for the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from catalog import cache_scopes, semantic
from catalog.models import Dataset, Domain, MediaType, MLModel, Task, is_member, sees_everything
from catalog.services import DATASET_FIELDS, DETAIL_CLASSES, DETAIL_FIELDS, MODEL_FIELDS
from openmodelhub.inserts import insert

MAX_ITEMS = 1000  # per request: a batch is one transaction, and its audit event lists every asset
LINKS = {"model": ("media", "tasks", "authors"), "dataset": ("media", "tasks", "domains", "authors")}
LINK_ORDER = {"media": "slug", "tasks": "slug", "domains": "slug", "authors": "username"}  # as a read gives them


class BulkError(Exception):
    """Item ``index`` (its ``name``) is invalid at ``field`` (None: the item as a whole)."""

    def __init__(self, index: int, name: str, field_name: str | None, message: str, *, forbidden: bool = False):
        self.index, self.name, self.field, self.message, self.forbidden = index, name, field_name, message, forbidden
        super().__init__(f"items[{index}] {name!r}: {field_name + ': ' if field_name else ''}{message}")


@dataclass
class AssetItem:
    """One model or dataset to write, its references already resolved: ``values`` holds the fields to set
    (those of ``services.MODEL_FIELDS`` / ``DATASET_FIELDS`` but the name, ``license`` a License or None,
    ``license_expression``; models also ``architecture_family``; ``downloads``, ``likes``); a link list is
    None when not given."""

    index: int
    owner: User
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    media: list[MediaType] | None = None
    tasks: list[Task] | None = None
    authors: list[User] | None = None
    domains: list[Domain] | None = None  # datasets only
    architecture: dict | None = None  # models only: {"family": ..., the family's detail fields, "modules": [...]}

    @property
    def key(self) -> tuple[int, str]:
        return (self.owner.pk, self.name)


ModelItem = AssetItem


@dataclass
class BulkResult:
    assets: list  # in the items' order
    created: list[bool]

    @property
    def models(self) -> list:
        return self.assets

    def summary(self) -> dict:
        return {
            "created": sum(self.created),
            "updated": len(self.created) - sum(self.created),
            "items": [
                {"id": a.pk, "owner": a.owner.username, "name": a.name, "created": new}
                for a, new in zip(self.assets, self.created, strict=True)
            ],
        }


def existing_assets(asset_cls, items: list[AssetItem]) -> dict[tuple[int, str], Any]:
    """The assets already stored under the items' owner/name, in one query."""
    owners = {item.owner.pk for item in items}
    names = {item.name for item in items}
    rows = asset_cls.objects.filter(owner_id__in=owners, name__in=names).defer("search_vector")
    wanted = {item.key for item in items}
    return {(a.owner_id, a.name): a for a in rows if (a.owner_id, a.name) in wanted}


def _invalid(item: AssetItem, exc: ValidationError, prefix: str = "") -> BulkError:
    if hasattr(exc, "error_dict"):
        name, errors = next(iter(exc.error_dict.items()))
        field_name = None if name == "__all__" else f"{prefix}{name}"
        return BulkError(item.index, item.name, field_name, " ".join(e.messages[0] for e in errors))
    return BulkError(item.index, item.name, prefix.rstrip(".") or None, " ".join(exc.messages))


def _prepare(asset_cls, items: list[AssetItem], existing: dict, now) -> tuple[list, list[bool], set[str]]:
    """Each item's row with its values set and validated (the database enforces the constraints)."""
    assets, created, changed, seen = [], [], set(), set()
    for item in items:
        if item.key in seen:
            raise BulkError(item.index, item.name, "name", "appears twice in this batch")
        seen.add(item.key)
        asset = existing.get(item.key)
        created.append(asset is None)
        if asset is None:
            asset = asset_cls(owner=item.owner, name=item.name, created_at=now)
        else:
            asset.owner = item.owner  # the loaded user: the audit event and the response name it
        for name, value in item.values.items():
            setattr(asset, name, value)
        changed.update(item.values)
        asset.updated_at = now
        try:
            asset.full_clean(exclude=["owner", "license"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise _invalid(item, exc) from None
        assets.append(asset)
    return assets, created, changed


def _write_links(asset_cls, items: list[AssetItem], assets: list, created: list[bool]) -> None:
    for name in LINKS[asset_cls.kind]:
        m2m = asset_cls._meta.get_field(name)
        through, column, target = m2m.remote_field.through, m2m.m2m_column_name(), m2m.m2m_reverse_name()
        given = [
            (item, a, new)
            for item, a, new in zip(items, assets, created, strict=True)
            if getattr(item, name) is not None
        ]
        replaced = [a.pk for _, a, new in given if not new]
        if replaced:
            through.objects.filter(**{f"{column}__in": replaced}).delete()
        rows = {
            (a.pk, row.pk): through(**{column: a.pk, target: row.pk})
            for item, a, _ in given
            for row in getattr(item, name)
        }
        insert(list(rows.values()))


def _remember_links(asset_cls, items: list[AssetItem], assets: list, created: list[bool]) -> None:
    """A new asset's links are exactly those given: kept on it as a read would give them, so that its
    representation, its embedding and its fingerprint read none of them back."""
    for item, asset, new in zip(items, assets, created, strict=True):
        if not new:
            continue
        cache = {}
        for name in LINKS[asset_cls.kind]:
            rows = {row.pk: row for row in getattr(item, name) or []}.values()
            cache[name] = sorted(rows, key=lambda row, order=LINK_ORDER[name]: getattr(row, order))
        if asset_cls is Dataset:
            cache["files"] = []
        asset._prefetched_objects_cache = cache


def _write_architecture(items: list[AssetItem], models: list[MLModel], created: list[bool]) -> None:
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
        row._prefetched_objects_cache = {"modules": []}  # what was written, as a read would give it
        for position, module in enumerate(item.architecture.get("modules") or [], start=1):
            entry = CNNModule(cnn=row, position=position, **module)
            try:
                entry.full_clean(exclude=["cnn"], validate_unique=False, validate_constraints=False)
            except ValidationError as exc:
                raise _invalid(item, exc, f"architecture.modules[{position - 1}].") from None
            modules.append(entry)
            row._prefetched_objects_cache["modules"].append(entry)
    for rows in details.values():
        insert(rows)
    insert(modules)


def _audit(asset_cls, items, assets, created, changed, *, actor, request, source: str, single: bool) -> None:
    """One event for the batch; a single create keeps the event every door records for one."""
    if single:
        asset = assets[0]
        audit.record(
            "asset.create",
            actor=actor,
            target=asset,
            request=request,
            details={"name": asset.full_name, "fields": sorted(changed | {"name"} | _links_given(asset_cls, items))},
        )
        return
    audit.record(
        "asset.bulk_write",
        actor=actor,
        target_type=asset_cls._meta.label,
        request=request,
        details={
            "source": source,
            "created": [a.pk for a, new in zip(assets, created, strict=True) if new],
            "updated": [a.pk for a, new in zip(assets, created, strict=True) if not new],
            "names": [a.full_name for a in assets],
            "fields": sorted(changed | _links_given(asset_cls, items)),
        },
    )


def _links_given(asset_cls, items) -> set[str]:
    return {name for name in LINKS[asset_cls.kind] if any(getattr(i, name) is not None for i in items)}


def _schedule(asset_cls, assets: list, created: list[bool], before: dict) -> None:
    """The licence analysis and the embedding, once for the batch, after the commit."""
    from licensing.services import schedule_compliance, schedule_compliance_for_datasets

    if asset_cls is MLModel:
        schedule_compliance([a.pk for a in assets])
    else:  # a new dataset has no model trained on it yet; a changed licence re-analyses those there are
        changed = [a.pk for a, new in zip(assets, created, strict=True) if not new and before[a.pk][1] != a.license_id]
        schedule_compliance_for_datasets(changed)
    semantic.schedule_embeddings(
        asset_cls, [a.pk for a in assets], written=[a for a, new in zip(assets, created, strict=True) if new]
    )


@transaction.atomic
def write_assets(
    asset_cls,
    items: list[AssetItem],
    *,
    actor=None,
    request=None,
    source: str = "api",
    schedule: bool = True,
    create: bool = False,
) -> BulkResult:
    """Upsert the items by owner/name (already permission-checked by the caller) in one transaction.
    ``create``: every item is new (not read first; a taken name is the database's IntegrityError,
    ``create_asset`` names it). ``schedule`` False: the caller schedules the licence analysis and the
    embedding itself (load_records, once lineage is in)."""
    now = timezone.now()
    existing = {} if create else existing_assets(asset_cls, items)
    before = {a.pk: (a.visibility, a.license_id) for a in existing.values()}
    assets, created, changed = _prepare(asset_cls, items, existing, now)
    insert([a for a, new in zip(assets, created, strict=True) if new])
    updated = [a for a, new in zip(assets, created, strict=True) if not new]
    if updated:
        asset_cls.objects.bulk_update(updated, sorted(changed | {"updated_at"}), batch_size=500)
    _write_links(asset_cls, items, assets, created)
    _remember_links(asset_cls, items, assets, created)
    if asset_cls is MLModel:
        _write_architecture(items, assets, created)
    single = create and len(items) == 1
    _audit(asset_cls, items, assets, created, changed, actor=actor, request=request, source=source, single=single)
    if any(before[a.pk][0] != a.visibility for a in updated):
        cache_scopes.bump_generation()  # cached insights and facet counts stop (or start) naming them
    if schedule:
        _schedule(asset_cls, assets, created, before)
    return BulkResult(assets, created)


def write_models(items: list[AssetItem], **options) -> BulkResult:
    return write_assets(MLModel, items, **options)


def create_asset(asset_cls, item: AssetItem, *, actor=None, request=None):
    """One new asset (every door's create: the API, the pages, the Hub protocol) through the bulk writer;
    a name already taken in the owner's namespace is a ``BulkError`` on ``name``."""
    try:
        return write_assets(asset_cls, [item], actor=actor, request=request, create=True).assets[0]
    except IntegrityError:
        if asset_cls.objects.filter(owner_id=item.owner.pk, name=item.name).exists():
            message = f"A {asset_cls.kind} named {item.owner.username}/{item.name} already exists."
            raise BulkError(item.index, item.name, "name", message) from None
        raise


# --- the API's items --------------------------------------------------------------------------------


def may_create_for(user, owner: User) -> bool:
    """An asset is created in the caller's own namespace; admins and curators may create it for anyone."""
    return is_member(user) and (owner.pk == user.pk or sees_everything(user))


def check_permissions(asset_cls, user, items: list[AssetItem]) -> None:
    """Updates need write on the asset (``editable_by``; a visibility change needs manage), creates the
    owner's namespace. An asset the caller may not see is treated as missing, so naming one answers like
    naming a free name in someone else's namespace."""
    existing = existing_assets(asset_cls, items)
    ids = [a.pk for a in existing.values()]
    visible = set(asset_cls.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
    editable = set(asset_cls.objects.editable_by(user).filter(pk__in=visible).values_list("pk", flat=True))
    manageable = set(asset_cls.objects.manageable_by(user).filter(pk__in=editable).values_list("pk", flat=True))
    for item in items:
        asset = existing.get(item.key)
        if asset is None or asset.pk not in visible:
            if not may_create_for(user, item.owner):
                message = f"You may not create {asset_cls.plural} in this namespace."
                raise BulkError(item.index, item.name, "owner", message, forbidden=True)
        elif asset.pk not in editable:
            raise BulkError(item.index, item.name, None, f"You may not change this {asset_cls.kind}.", forbidden=True)
        elif "visibility" in item.values and item.values["visibility"] != asset.visibility:
            if asset.pk not in manageable:
                raise BulkError(
                    item.index, item.name, "visibility", "You may not change its visibility.", forbidden=True
                )


def _lookup(table: dict, key: str, index: int, name: str, field_name: str):
    if key not in table:
        raise BulkError(index, name, field_name, f"{key!r} is not known here.")
    return table[key]


def resolve_api_items(asset_cls, user, raw: list[dict]) -> list[AssetItem]:
    """The API's validated items (``BulkModelItemSerializer`` / ``BulkDatasetItemSerializer``) with their
    references looked up in one query per kind (media are a fixed vocabulary, licences the per-process
    knowledge base) and their licence resolved by the one resolver."""
    from licensing.services import complete_license_fields, expression_of, known_aliases

    fields = MODEL_FIELDS if asset_cls is MLModel else DATASET_FIELDS
    usernames = {r["owner"] for r in raw if r.get("owner")} | {a for r in raw for a in r.get("authors", [])}
    users = {user.username: user}
    if usernames - {user.username}:
        users |= {u.username: u for u in User.objects.filter(username__in=usernames)}
    wanted = {t for r in raw for t in r.get("tasks", [])}
    tasks = {t.slug: t for t in Task.objects.filter(slug__in=wanted)} if wanted else {}
    wanted = {d for r in raw for d in r.get("domains", [])}
    domains = {d.slug: d for d in Domain.objects.filter(slug__in=wanted)} if wanted else {}
    media = {slug: MediaType(slug=slug) for slug in {m for r in raw for m in r.get("media", [])}}  # migration rows
    aliases = known_aliases()
    licences = {lic.key: lic for lic in aliases.values()} if any(r.get("license") for r in raw) else {}
    items = []
    for index, r in enumerate(raw):
        name = r["name"]
        owner = _lookup(users, r.get("owner") or user.username, index, name, "owner")
        data = {k: v for k, v in r.items() if k in fields and k != "name"}
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
            for key, table in (("media", media), ("tasks", tasks), ("domains", domains), ("authors", users))
        }
        items.append(AssetItem(index, owner, name, data, architecture=r.get("architecture"), **links))
    return items


def api_write(asset_cls, user, raw: list[dict], request=None) -> BulkResult:
    """A bulk endpoint: resolve, check who may write what, write. A BulkError (naming the item) leaves
    nothing written."""
    items = resolve_api_items(asset_cls, user, raw)
    check_permissions(asset_cls, user, items)
    return write_assets(asset_cls, items, actor=user, request=request)


def api_create(asset_cls, user, raw: dict, request=None):
    """``POST /api/v1/models/`` (and datasets): one item, created in the caller's namespace."""
    item = resolve_api_items(asset_cls, user, [{**raw, "owner": None}])[0]
    if not may_create_for(user, item.owner):
        raise BulkError(0, item.name, "owner", f"You may not create {asset_cls.plural}.", forbidden=True)
    return create_asset(asset_cls, item, actor=user, request=request)
