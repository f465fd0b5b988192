"""``cardData``: a repository card's metadata, served from the catalogue (licence, tasks, lineage,
dataset links and what ``catalog.cards`` kept of the card's front matter), never from the README."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist

from catalog.models import Dataset, MLModel


def _kept(asset) -> dict:
    try:
        return dict(asset.hub_card.data)
    except ObjectDoesNotExist:
        return {}


def license_id(asset) -> str | None:
    if asset.license_id:
        return (asset.license.spdx_id or asset.license.key).lower()
    return asset.license_declared or None


def list_card_data(asset) -> dict:
    """What a list entry shows: no query beyond the list's own (tasks prefetched, licence joined)."""
    card = {key: value for key, value in _kept(asset).items() if key in ("tags", "library_name", "language")}
    if lic := license_id(asset):
        card["license"] = lic
    tasks = [task.slug for task in asset.tasks.all()]
    if isinstance(asset, MLModel) and tasks:
        card["pipeline_tag"] = tasks[0]
    elif tasks:
        card["task_categories"] = tasks
    return card


def card_data(asset, user) -> dict:
    """The whole card of one repository; base models and datasets only as far as ``user`` may see them."""
    card = _kept(asset) | list_card_data(asset)
    if isinstance(asset, MLModel):
        bases = (
            MLModel.objects.visible_to(user)
            .filter(derivatives=asset)
            .select_related("owner")
            .order_by("owner__username", "name")
        )
        if names := [base.full_name for base in bases]:
            card["base_model"] = names[0] if len(names) == 1 else names
        else:
            card.pop("base_model", None)
        datasets = (
            Dataset.objects.visible_to(user)
            .filter(model_links__model=asset)
            .select_related("owner")
            .order_by("owner__username", "name")
            .distinct()
        )
        if names := [dataset.full_name for dataset in datasets]:
            card["datasets"] = names
        else:
            card.pop("datasets", None)
    return card
