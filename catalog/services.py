"""Writes on models, datasets and lineage that pages and the API share: validated, atomic, audited,
and followed by licence re-analysis (licensing app) when something upstream changed."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from accounts import audit
from catalog import cache_scopes, semantic
from catalog.models import (
    CNNDetails,
    CNNModule,
    Dataset,
    DatasetRole,
    Like,
    MediaType,
    MLModel,
    ModelDataset,
    ModelLineage,
    RNNDetails,
    TransformerDetails,
    check_lineage_edge,
)

DETAIL_CLASSES = {"transformer": TransformerDetails, "cnn": CNNDetails, "rnn": RNNDetails}
DETAIL_FIELDS = {
    "transformer": ["decoder_count", "attention_size", "up_size", "down_size", "embedding_size"],
    "cnn": ["module_count"],
    "rnn": ["criterion", "batch_size", "input_size"],
}
MODEL_FIELDS = [
    "name",
    "card",
    "visibility",
    "training_type",
    "architecture_family",
    "architecture_name",
    "parameter_count",
    "release_date",
    "license",
    "license_declared",
]
DATASET_FIELDS = [
    "name",
    "card",
    "visibility",
    "license",
    "license_declared",
    *Dataset.IDENTIFICATION_FIELDS,
    *Dataset.TECHNICAL_FIELDS,
    *Dataset.ETHICS_FLAGS,
    "data_errors_description",
]


def _schedule_models(model_ids) -> None:
    from licensing.services import schedule_compliance

    schedule_compliance(list(model_ids))


def _schedule_datasets(dataset_ids) -> None:
    from licensing.services import schedule_compliance_for_datasets

    schedule_compliance_for_datasets(list(dataset_ids))


def _set_m2m(asset, data: dict[str, Any], *, created: bool = False) -> None:
    """Media, tasks, domains and authors as given; a new asset has none yet, so they are only added (no
    read of the current links)."""
    for field in ("media", "tasks", "domains", "authors"):
        if field not in data:
            continue
        values = data[field]
        if field == "media":
            # Forms send slugs, serializers MediaType rows: compare by slug, never by str(row) (its label).
            slugs = [getattr(media, "slug", media) for media in values]
            if not all(isinstance(media, MediaType) for media in values):
                values = MediaType.objects.filter(slug__in=slugs)
        if created:
            getattr(asset, field).add(*values)
        else:
            getattr(asset, field).set(values)


def _check_editable(user, asset) -> None:
    if not asset.is_editable_by(user):
        raise PermissionDenied("You may not change this asset.")


def _check_manageable(user, asset, action: str) -> None:
    """Visibility, deletion and sharing need the manage level (accounts.models.Permission)."""
    from accounts.services import MANAGE_REFUSED

    if not asset.is_manageable_by(user):
        raise PermissionDenied(MANAGE_REFUSED.format(action))


def _save_architecture(model: MLModel, architecture: dict | None) -> None:
    if architecture is None:
        return
    family = model.architecture_family
    for other, cls in DETAIL_CLASSES.items():
        if other != family:
            cls.objects.filter(model=model).delete()
    if family not in DETAIL_CLASSES:
        return
    cls = DETAIL_CLASSES[family]
    details = cls.objects.filter(model=model).first() or cls(model=model)
    for field in DETAIL_FIELDS[family]:
        if field in architecture:
            setattr(
                details, field, architecture[field] if architecture[field] is not None or field != "criterion" else ""
            )
    details.full_clean(exclude=["model"])
    details.save()
    if family == "cnn" and "modules" in architecture:
        details.modules.all().delete()
        for position, module in enumerate(architecture["modules"], start=1):
            item = CNNModule(cnn=details, position=position, **module)
            item.full_clean(exclude=["cnn"])
            item.save()


def _begin_save(user, asset_cls, asset, data: dict):
    """The asset to write (a new one owned by ``user``) and what a change must be compared with.
    A write grant edits; changing the visibility needs manage (refused, never silently dropped)."""
    if asset is None:
        return asset_cls(owner=user), None
    _check_editable(user, asset)
    if "visibility" in data and data["visibility"] != asset.visibility:
        _check_manageable(user, asset, "change its visibility")
    return asset, {"visibility": asset.visibility, "license_id": asset.license_id}


def _finish_save(user, asset, data: dict, before: dict | None, request) -> None:
    """Links, authors and the audit events shared by models and datasets."""
    _set_m2m(asset, data, created=before is None)
    semantic.schedule_embedding(asset)  # after the commit; a no-op when the embedded text is unchanged
    audit.record(
        "asset.create" if before is None else "asset.update",
        actor=user,
        target=asset,
        request=request,
        details={"name": asset.full_name, "fields": sorted(data)},
    )
    if before is not None and before["visibility"] != asset.visibility:
        audit.record(
            "asset.visibility",
            actor=user,
            target=asset,
            request=request,
            details={"name": asset.full_name, "from": before["visibility"], "to": asset.visibility},
        )
        cache_scopes.bump_generation()  # cached insights and facet counts stop naming it


def _apply(asset, fields: list[str], data: dict) -> None:
    for field in fields:
        if field in data:
            setattr(asset, field, data[field])
    if "license_declared" in data or "license" in data:
        from licensing.services import expression_of

        # the parsed AND / OR expression is kept next to the licence, whichever door declared it
        asset.license_expression = expression_of(asset.license, asset.license_declared)


def _clean_and_save(asset) -> None:
    """Validate the fields and write the row. The database enforces the constraints (owner/name unique,
    the checks that mirror the fields' choices and validators), so they are not queried one by one
    beforehand; a clash of names is the same form error the check would have given."""
    asset.full_clean(exclude=["owner", "license"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            asset.save()
    except IntegrityError:
        clash = type(asset).objects.filter(owner_id=asset.owner_id, name=asset.name).exclude(pk=asset.pk)
        if clash.exists():
            message = f"A {asset.kind} named {asset.owner.username}/{asset.name} already exists."
            raise ValidationError({"name": message}) from None
        raise


def _create(asset_cls, *, user, data: dict[str, Any], request):
    """A new asset owned by ``user`` through the one writer of new assets (catalog.bulk), from the
    validated data of a form or a serializer; a taken name is the form error it always was."""
    from catalog import bulk
    from licensing.services import expression_of

    fields = MODEL_FIELDS if asset_cls is MLModel else DATASET_FIELDS
    values = {name: data[name] for name in fields if name in data and name != "name"}
    if "license" in data or "license_declared" in data:
        values["license_expression"] = expression_of(data.get("license"), data.get("license_declared") or "")
    architecture = data.get("architecture") or None
    if architecture and "family" in architecture:
        values["architecture_family"] = architecture["family"]
    links = {}
    for name in bulk.LINKS[asset_cls.kind]:
        if name in data:
            rows = list(data[name])
            if name == "media":  # forms send slugs, serializers rows; the rows are the migration's
                rows = [row if isinstance(row, MediaType) else MediaType(slug=row) for row in rows]
            links[name] = rows
    item = bulk.AssetItem(0, user, data["name"], values, architecture=architecture, **links)
    try:
        return bulk.create_asset(asset_cls, item, actor=user, request=request)
    except bulk.BulkError as exc:
        raise ValidationError({exc.field or "__all__": exc.message}) from None


def save_model(*, user, data: dict[str, Any], model: MLModel | None = None, request=None) -> MLModel:
    """Create (``model`` None; the user becomes the owner) or update a model from validated data."""
    if model is None:
        return _create(MLModel, user=user, data=data, request=request)
    return _update_model(user=user, data=data, model=model, request=request)


@transaction.atomic
def _update_model(*, user, data: dict[str, Any], model: MLModel, request) -> MLModel:
    model, before = _begin_save(user, MLModel, model, data)
    _apply(model, MODEL_FIELDS, data)
    if "architecture" in data and data["architecture"] and "family" in data["architecture"]:
        model.architecture_family = data["architecture"]["family"]
    _clean_and_save(model)
    _save_architecture(model, data.get("architecture"))
    _finish_save(user, model, data, before, request)
    if before is None or before["license_id"] != model.license_id or "license_declared" in data:
        _schedule_models([model.pk])
    return model


def save_dataset(*, user, data: dict[str, Any], dataset: Dataset | None = None, request=None) -> Dataset:
    if dataset is None:
        return _create(Dataset, user=user, data=data, request=request)
    return _update_dataset(user=user, data=data, dataset=dataset, request=request)


@transaction.atomic
def _update_dataset(*, user, data: dict[str, Any], dataset: Dataset, request) -> Dataset:
    dataset, before = _begin_save(user, Dataset, dataset, data)
    _apply(dataset, DATASET_FIELDS, data)
    _clean_and_save(dataset)
    _finish_save(user, dataset, data, before, request)
    if before is not None and before["license_id"] != dataset.license_id:
        _schedule_datasets([dataset.pk])
    return dataset


@transaction.atomic
def delete_asset(*, user, asset, request=None) -> None:
    _check_manageable(user, asset, "delete it")
    downstream = []
    if isinstance(asset, MLModel):
        downstream = list(asset.derivative_edges.values_list("model_id", flat=True))
    else:
        downstream = list(asset.model_links.values_list("model_id", flat=True))
    audit.record("asset.delete", actor=user, target=asset, request=request, details={"name": asset.full_name})
    asset.delete()
    cache_scopes.bump_generation()
    if downstream:
        _schedule_models(downstream)


@transaction.atomic
def add_base_model(*, user, model: MLModel, base: MLModel, relation: str, request=None) -> ModelLineage:
    _check_editable(user, model)
    if relation not in ModelLineage.Relation.values:
        raise ValidationError({"relation": f"Must be one of {', '.join(ModelLineage.Relation.values)}."})
    if ModelLineage.objects.filter(model=model, base=base).exists():
        raise ValidationError({"base": "This model already derives from that base model."})
    try:
        check_lineage_edge(model.pk, base.pk)
    except ValidationError as exc:
        raise ValidationError({"base": exc.messages}) from None
    edge = ModelLineage.objects.create(model=model, base=base, relation=relation)
    audit.record(
        "lineage.add", actor=user, target=model, request=request, details={"base": base.full_name, "relation": relation}
    )
    _schedule_models([model.pk])
    return edge


@transaction.atomic
def remove_base_model(*, user, edge: ModelLineage, request=None) -> None:
    _remove_link(user, edge, "lineage.remove", {"base": edge.base.full_name, "relation": edge.relation}, request)


def _remove_link(user, link: ModelLineage | ModelDataset, action: str, details: dict, request) -> None:
    """Delete a lineage edge or a dataset link of a model the user may edit; audit; re-analyse it."""
    _check_editable(user, link.model)
    audit.record(action, actor=user, target=link.model, request=request, details=details)
    model_id = link.model_id
    link.delete()
    _schedule_models([model_id])


@transaction.atomic
def link_dataset(*, user, model: MLModel, dataset: Dataset, role: str, request=None) -> ModelDataset:
    _check_editable(user, model)
    if role not in DatasetRole.values:
        raise ValidationError({"role": f"Must be one of {', '.join(DatasetRole.values)}."})
    link, created = ModelDataset.objects.get_or_create(model=model, dataset=dataset, role=role)
    if created:
        audit.record(
            "dataset_link.add",
            actor=user,
            target=model,
            request=request,
            details={"dataset": dataset.full_name, "role": role},
        )
        _schedule_models([model.pk])
    return link


@transaction.atomic
def unlink_dataset(*, user, link: ModelDataset, request=None) -> None:
    """Forget that the model used the dataset (in that role); its compliance is analysed again."""
    _remove_link(user, link, "dataset_link.remove", {"dataset": link.dataset.full_name, "role": link.role}, request)


def _like_filter(user, asset) -> dict:
    return {"user": user, asset.kind: asset}


@transaction.atomic
def set_like(*, user, asset, liked: bool, request=None) -> bool:
    """Like (``liked``) or unlike an asset the caller may see (the caller looks it up through
    ``named``/``visible_to``); idempotent: a second like or unlike changes nothing. The asset's
    ``likes`` column moves with the rows (an UPDATE, so ``updated_at`` stays). Returns whether the
    user now likes it."""
    if not (user and user.is_authenticated and user.is_active):
        raise PermissionDenied("Log in to like models and datasets.")
    lookup = _like_filter(user, asset)
    if liked:
        try:
            with transaction.atomic():  # a concurrent like of the same asset by the same user: one row
                Like.objects.create(**lookup)
        except IntegrityError:
            return True
        delta = 1
    else:
        deleted, _ = Like.objects.filter(**lookup).delete()
        if not deleted:
            return False
        delta = -1
    type(asset).objects.filter(pk=asset.pk).update(likes=F("likes") + delta)
    audit.record(
        "asset.like" if liked else "asset.unlike",
        actor=user,
        target=asset,
        request=request,
        details={"name": asset.full_name},
    )
    return liked
