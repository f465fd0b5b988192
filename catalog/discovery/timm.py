"""Import the timm result tables (``../shared/data/timm-results``, Apache-2.0, from
https://github.com/huggingface/pytorch-image-models ``results/``) as evaluation results.

Eight evaluation sets, each a dataset ``<owner>/<name>`` created with a card crediting its source;
every model of the tables becomes ``<owner>/<timm name>`` (image classification, parameter count);
each (model, set) gives ``top1`` and ``top5`` on split ``validation`` with the image size, crop and
interpolation in ``config``. A model evaluated at two image sizes keeps the larger one (the size
timm's model cards report). Everything is checked before anything is written; one transaction.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.services import ensure_user
from catalog import bulk, cache_scopes, services
from catalog.discovery.evaluations import ResultRow, UpsertReport, upsert_results
from catalog.models import (
    Dataset,
    EvaluationSource,
    Media,
    MediaType,
    MLModel,
    Task,
    Visibility,
    asset_name_validator,
)

TIMM_REPO = "https://github.com/huggingface/pytorch-image-models"
TASK = "image-classification"
REQUIRED_COLUMNS = ("model", "img_size", "top1", "top5", "param_count", "crop_pct", "interpolation")


@dataclass(frozen=True)
class EvalSet:
    file: str
    name: str
    title: str
    about: str
    url: str
    year: int
    images: int
    classes: int


SETS = (
    EvalSet(
        "results-imagenet.csv",
        "imagenet-1k",
        "ImageNet-1k (ILSVRC 2012) validation set",
        "The 50,000 validation images of the ImageNet Large Scale Visual Recognition Challenge 2012, "
        "1,000 classes (Deng et al., 2009; Russakovsky et al., 2015).",
        "https://www.image-net.org/",
        2012,
        50_000,
        1000,
    ),
    EvalSet(
        "results-imagenet-real.csv",
        "imagenet-real",
        "ImageNet ReaL (Reassessed Labels)",
        "The ImageNet-1k validation images with reassessed, multi-label annotations "
        '(Beyer et al., 2020, "Are we done with ImageNet?").',
        "https://github.com/google-research/reassessed-imagenet",
        2020,
        50_000,
        1000,
    ),
    EvalSet(
        "results-imagenetv2-matched-frequency.csv",
        "imagenetv2-matched-frequency",
        "ImageNetV2 (matched frequency)",
        "A new test set of 10,000 images collected following the original ImageNet process, matched to its "
        'class frequencies (Recht et al., 2019, "Do ImageNet Classifiers Generalize to ImageNet?").',
        "https://github.com/modestyachts/ImageNetV2",
        2019,
        10_000,
        1000,
    ),
    EvalSet(
        "results-sketch.csv",
        "imagenet-sketch",
        "ImageNet-Sketch",
        "50,889 black-and-white sketches of the 1,000 ImageNet classes (Wang et al., 2019, "
        '"Learning Robust Global Representations by Penalizing Local Predictive Power").',
        "https://github.com/HaohanWang/ImageNet-Sketch",
        2019,
        50_889,
        1000,
    ),
    EvalSet(
        "results-imagenet-a.csv",
        "imagenet-a",
        "ImageNet-A (natural adversarial examples)",
        "7,500 real-world images of 200 ImageNet classes that ResNet-50 classifiers misclassify "
        '(Hendrycks et al., 2021, "Natural Adversarial Examples").',
        "https://github.com/hendrycks/natural-adv-examples",
        2019,
        7_500,
        200,
    ),
    EvalSet(
        "results-imagenet-a-clean.csv",
        "imagenet-a-clean",
        "ImageNet-1k validation, ImageNet-A's 200 classes",
        "The ImageNet-1k validation images of the 200 classes of ImageNet-A: the clean reference that "
        "timm compares ImageNet-A accuracy with.",
        "https://github.com/hendrycks/natural-adv-examples",
        2019,
        10_000,
        200,
    ),
    EvalSet(
        "results-imagenet-r.csv",
        "imagenet-r",
        "ImageNet-R (renditions)",
        "30,000 renditions (art, cartoons, graffiti, embroidery, sculptures, ...) of 200 ImageNet classes "
        '(Hendrycks et al., 2021, "The Many Faces of Robustness").',
        "https://github.com/hendrycks/imagenet-r",
        2020,
        30_000,
        200,
    ),
    EvalSet(
        "results-imagenet-r-clean.csv",
        "imagenet-r-clean",
        "ImageNet-1k validation, ImageNet-R's 200 classes",
        "The ImageNet-1k validation images of the 200 classes of ImageNet-R: the clean reference that "
        "timm compares ImageNet-R accuracy with.",
        "https://github.com/hendrycks/imagenet-r",
        2020,
        10_000,
        200,
    ),
)


class TimmError(Exception):
    """Bad input: names the file and line."""


@dataclass
class Measure:
    img_size: int
    top1: float
    top5: float
    crop_pct: float
    interpolation: str
    param_count: int


@dataclass
class Tables:
    commit: str
    order: list[str] = field(default_factory=list)  # model names, in the order first seen
    seen: set[str] = field(default_factory=set)
    results: dict[str, dict[str, Measure]] = field(default_factory=dict)  # set name -> model -> measure
    other_sizes: int = 0  # rows of a model at a smaller image size than the one kept

    @property
    def source_url(self) -> str:
        return f"{TIMM_REPO}/tree/{self.commit}/results"


@dataclass
class ImportReport:
    datasets_created: int = 0
    models_created: int = 0
    models_present: int = 0
    results: UpsertReport = field(default_factory=UpsertReport)
    other_sizes: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.datasets_created or self.models_created or self.results.changed)


def _number(value: str, column: str, where: str) -> float:
    try:
        number = float(value.replace(",", ""))  # "1,013.01": thousands separators in param_count
    except (AttributeError, ValueError):
        raise TimmError(f"{where}: column {column!r} is not a number: {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise TimmError(f"{where}: column {column!r} must be a finite number >= 0: {value!r}")
    return number


def _measure(row: dict, where: str) -> Measure:
    top1, top5 = _number(row["top1"], "top1", where), _number(row["top5"], "top5", where)
    for column, value in (("top1", top1), ("top5", top5)):
        if value > 100:
            raise TimmError(f"{where}: column {column!r} is a percentage, got {value}")
    interpolation = (row["interpolation"] or "").strip()
    if not re.fullmatch(r"[a-z_]{1,20}", interpolation):
        raise TimmError(f"{where}: column 'interpolation' must be a word like bicubic, got {interpolation!r}")
    img_size = _number(row["img_size"], "img_size", where)
    if img_size != int(img_size) or not 0 < img_size <= 10_000:
        raise TimmError(f"{where}: column 'img_size' must be a whole number of pixels, got {row['img_size']!r}")
    return Measure(
        img_size=int(img_size),
        top1=top1,
        top5=top5,
        crop_pct=_number(row["crop_pct"], "crop_pct", where),
        interpolation=interpolation,
        param_count=round(_number(row["param_count"], "param_count", where) * 1_000_000),
    )


def _check_name(name: str, where: str) -> None:
    try:
        asset_name_validator(name)
    except ValidationError as exc:
        raise TimmError(f"{where}: column 'model': {name!r}: {' '.join(exc.messages)}") from None
    if len(name) > MLModel._meta.get_field("name").max_length:
        raise TimmError(f"{where}: column 'model': {name!r} is too long")


def _read_table(path: Path, tables: Tables, results: dict[str, Measure]) -> None:
    try:
        handle = open(path, encoding="utf-8", newline="")
    except FileNotFoundError:
        raise TimmError(f"{path}: no such file (the eight result tables are needed)") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise TimmError(f"{path}:1: missing column(s) {', '.join(missing)}")
        try:
            for row in reader:
                where = f"{path}:{reader.line_num}"
                name = (row["model"] or "").strip()
                _check_name(name, where)
                measure = _measure(row, where)
                kept = results.get(name)
                if kept is not None:
                    tables.other_sizes += 1
                    if kept.img_size >= measure.img_size:
                        continue
                elif name not in tables.seen:
                    tables.seen.add(name)
                    tables.order.append(name)
                results[name] = measure
        except UnicodeDecodeError as exc:
            raise TimmError(f"{path}: not UTF-8 text: {exc}") from None
        except csv.Error as exc:
            raise TimmError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None


def read_tables(folder: Path, *, limit: int | None = None) -> Tables:
    """Read and check the eight tables; ``limit`` keeps the first N models of the ImageNet table."""
    readme = folder / "README.md"
    try:
        match = re.search(r"Commit:\s*`?([0-9a-f]{40})", readme.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TimmError(f"{readme}: no such file (it names the timm commit the tables come from)") from None
    if match is None:
        raise TimmError(f"{readme}: no 'Commit: <40 hex digits>' line naming the timm commit")
    tables = Tables(commit=match.group(1))
    for evalset in SETS:
        tables.results[evalset.name] = {}
        _read_table(folder / evalset.file, tables, tables.results[evalset.name])
    if limit is not None:
        keep = set(tables.order[:limit])
        tables.order = tables.order[:limit]
        for name in tables.results:
            tables.results[name] = {m: v for m, v in tables.results[name].items() if m in keep}
    return tables


def _dataset_card(evalset: EvalSet, tables: Tables) -> str:
    return (
        f"# {evalset.title}\n\n{evalset.about}\n\nSource: {evalset.url}\n\n"
        f"Created by `import_timm_results` as the evaluation set of the timm result table "
        f"`{evalset.file}` ({tables.source_url}; timm is Apache-2.0, Ross Wightman and contributors). "
        "The images are not stored here; see the source for the data and its terms of use.\n"
    )


def _model_card(name: str, tables: Tables) -> str:
    arch, _, tag = name.partition(".")
    tag_line = f" with the pretrained weights tagged `{tag}`" if tag else ""
    return (
        f"# {name}\n\nThe image classification model `{arch}` of timm (PyTorch Image Models){tag_line}; "
        f"on the Hugging Face Hub as `timm/{name}`.\n\n"
        f"Evaluation results imported from the timm result tables at {tables.source_url} "
        "(Apache-2.0, Ross Wightman and contributors). The weights' licence is on the model's Hugging Face page.\n"
    )


def _ensure_datasets(owner, tables: Tables, report: ImportReport) -> dict[str, Dataset]:
    present = {d.name: d for d in Dataset.objects.filter(owner=owner, name__in=[s.name for s in SETS])}
    task = list(Task.objects.filter(slug=TASK))
    for evalset in SETS:
        if evalset.name in present:
            continue
        data = {
            "name": evalset.name,
            "card": _dataset_card(evalset, tables),
            "visibility": Visibility.PUBLIC,
            "media": [Media.IMAGE],
            "tasks": task,
            "year": evalset.year,
            "citation_link": evalset.url,
            "documentation_link": evalset.url,
            "instances_number": evalset.images,
            "features_description": f"images labelled with one of {evalset.classes:,} ImageNet classes",
            "objective": "evaluation of image classifiers",
        }
        present[evalset.name] = services.save_dataset(user=owner, data=data)
        report.datasets_created += 1
    return present


def _ensure_models(owner, tables: Tables, report: ImportReport) -> dict[str, int]:
    """The models' ids by name, creating the missing ones through the hub's bulk writer (``catalog.bulk``:
    one INSERT, the links, one audit event, the licence analysis and embeddings scheduled); a model already
    present, edited or not, is left as it is (only the missing ones are given to the writer)."""
    ids = dict(MLModel.objects.filter(owner=owner, name__in=tables.order).values_list("name", "pk"))
    report.models_present = len(ids)
    first_measure = {}
    for results in tables.results.values():
        for name, measure in results.items():
            first_measure.setdefault(name, measure)
    media, tasks = list(MediaType.objects.filter(slug=Media.IMAGE)), list(Task.objects.filter(slug=TASK))
    items = [
        bulk.AssetItem(
            index=index,
            owner=owner,
            name=name,
            values={
                "card": _model_card(name, tables),
                "visibility": Visibility.PUBLIC,
                "architecture_name": name.partition(".")[0],
                "parameter_count": first_measure[name].param_count,
            },
            media=media,
            tasks=tasks,
        )
        for index, name in enumerate(n for n in tables.order if n not in ids)
    ]
    if not items:
        return ids
    try:
        written = bulk.write_assets(MLModel, items, actor=owner, source="import_timm_results", create=True)
    except bulk.BulkError as exc:  # names are checked while reading; anything else is named here
        raise TimmError(f"model {exc.name!r}: {exc.message}") from None
    report.models_created = len(written.assets)
    return {**ids, **{m.name: m.pk for m in written.assets}}


def _rows(tables: Tables, datasets: dict[str, Dataset], model_ids: dict[str, int]) -> list[ResultRow]:
    rows = []
    for evalset in SETS:
        dataset_id = datasets[evalset.name].pk
        for name, m in tables.results[evalset.name].items():
            config = {"img_size": m.img_size, "crop_pct": m.crop_pct, "interpolation": m.interpolation}
            for metric, value in (("top1", m.top1), ("top5", m.top5)):
                rows.append(
                    ResultRow(
                        model_id=model_ids[name],
                        dataset_id=dataset_id,
                        metric=metric,
                        value=value,
                        source_url=tables.source_url,
                        config=config,
                    )
                )
    return rows


class DryRunRollback(Exception):
    pass


def import_timm_results(
    folder: Path,
    *,
    owner: str = "timm",
    limit: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Read, check, then write everything in one transaction (rolled back with ``dry_run``).
    ``progress(n)`` is called as work is done, out of ``len(SETS) + 2`` steps."""
    tables = read_tables(folder, limit=limit)
    step = progress or (lambda n: None)
    step(len(SETS))
    report = ImportReport(other_sizes=tables.other_sizes)
    try:
        with transaction.atomic():
            user, _ = ensure_user(username=owner, role="")
            datasets = _ensure_datasets(user, tables, report)
            model_ids = _ensure_models(user, tables, report)
            step(1)
            report.results = upsert_results(
                user=user,
                rows=_rows(tables, datasets, model_ids),
                source=EvaluationSource.TIMM,
                audit_details={"via": "import_timm_results", "source_url": tables.source_url},
            )
            step(1)
            if dry_run:
                raise DryRunRollback
    except DryRunRollback:
        return report
    if report.changed:
        cache_scopes.bump_generation()
    return report
