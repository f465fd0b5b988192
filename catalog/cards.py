"""Repository cards: a ``README.md`` is its repository's card. Its YAML front matter goes into the
catalogue (licence through licensing's resolver, ``pipeline_tag`` into tasks, ``base_model`` into lineage,
``datasets`` into dataset links, ``model-index`` into evaluation results (catalog.discovery.model_index),
references resolved through what the uploader may see) and the rest of
what it declares (tags, library, language, ``model-index`` results) into ``hfhub.RepoCard``; the body
without the front matter becomes the card text the pages render.

``apply_committed_card`` applies it, as its uploader, once a README.md version is committed to main."""

from __future__ import annotations

import logging
import re

import yaml
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction

from catalog.models import Dataset, FileVersion, MLModel, ModelLineage, Relation, Task

log = logging.getLogger(__name__)

CARD_PATH = "README.md"
MAX_CARD_BYTES = 1 << 20
KEPT = ("tags", "library_name", "language", "model-index")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def split_front_matter(text: str) -> tuple[dict, str]:
    """(metadata, body). Front matter that is not a YAML mapping is no metadata, and stays out of the body."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        metadata = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        metadata = None
    return (metadata if isinstance(metadata, dict) else {}), text[match.end() :].lstrip("\n")


def _strings(value, limit: int = 50) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [item.strip()[:200] for item in values[:limit] if isinstance(item, str) and item.strip()]


def _kept(metadata: dict) -> dict:
    kept = {"tags": _strings(metadata.get("tags")), "language": _strings(metadata.get("language"))}
    if library := _strings(metadata.get("library_name"), 1):
        kept["library_name"] = library[0]
    if isinstance(metadata.get("model-index"), list):
        kept["model-index"] = metadata["model-index"][:20]
    return {key: value for key, value in kept.items() if value}


def _read(version: FileVersion) -> str | None:
    from catalog.files import read_plaintext

    if version.size > MAX_CARD_BYTES:
        return None
    try:
        return b"".join(read_plaintext(version)).decode("utf-8")
    except UnicodeDecodeError:
        return None


@transaction.atomic
def apply_card(asset, version: FileVersion, user) -> dict:
    """Read the README version's front matter into the catalogue; returns the metadata applied.

    The card, licence and tasks are written through the catalogue's save service, as an edit by the
    uploader (same permission check, audit event and compliance re-analysis as any other edit)."""
    from catalog.services import save_dataset, save_model
    from hfhub.models import RepoCard
    from licensing.services import resolve_license

    text = _read(version)
    if text is None:
        return {}
    metadata, body = split_front_matter(text)
    data = {"card": body}
    if declared := _strings(metadata.get("license"), 1):
        data |= {"license_declared": declared[0], "license": resolve_license(declared[0])}
    slugs = _strings(metadata.get("pipeline_tag"), 1) + _strings(metadata.get("task_categories"))
    if tasks := list(Task.objects.filter(slug__in=slugs)):
        data["tasks"] = [*asset.tasks.all(), *tasks]
    if isinstance(asset, MLModel):
        save_model(user=user, data=data, model=asset)
        _link_bases(asset, _strings(metadata.get("base_model")), user)
        _link_datasets(asset, _strings(metadata.get("datasets")), user)
        _import_results(asset, metadata.get("model-index"), user)
    else:
        save_dataset(user=user, data=data, dataset=asset)
    RepoCard.objects.update_or_create(**{asset.kind: asset}, defaults={"data": _kept(metadata), "version": version})
    return metadata


def apply_committed_card(asset, version: FileVersion) -> None:
    """After a README.md version reaches main: apply its card, as its uploader. A card that cannot be
    applied (the uploader lost write access, a value the catalogue refuses) leaves the metadata as it
    was and the file committed; the reason is logged."""
    user = version.uploaded_by
    if user is None:
        return
    try:
        apply_card(type(asset).objects.get(pk=asset.pk), version, user)
    except (ValidationError, PermissionDenied, ObjectDoesNotExist) as exc:
        log.warning("card of %s (version %s) not applied: %s", asset, version.pk, exc)


def _visible(model_cls, user, reference: str):
    return model_cls.objects.visible_to(user).with_name(reference).first()


def _link_bases(model: MLModel, references: list[str], user) -> None:
    from catalog.services import add_base_model

    for reference in references:
        base = _visible(MLModel, user, reference)
        if base is None or base.pk == model.pk or ModelLineage.objects.filter(model=model, base=base).exists():
            continue
        try:
            add_base_model(user=user, model=model, base=base, relation=Relation.FINE_TUNE)
        except ValidationError as exc:  # a cycle: the card cannot make the lineage wrong
            log.info("card of %s: base model %s not linked: %s", model, reference, exc.messages)


def _import_results(model: MLModel, model_index, user) -> None:
    """The card's ``model-index`` results (catalog.discovery.model_index); what it skips is logged."""
    from catalog.discovery.model_index import import_model_index

    if not model_index:
        return
    report = import_model_index(model=model, model_index=model_index, user=user)
    for problem in report.skipped:
        log.info("card of %s: result skipped: %s", model, problem)


def _link_datasets(model: MLModel, references: list[str], user) -> None:
    from catalog.services import link_dataset

    for reference in references:
        dataset = _visible(Dataset, user, reference)
        if dataset is not None:
            link_dataset(user=user, model=model, dataset=dataset, role="trained_on")
