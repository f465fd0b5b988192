"""A small hand-made catalogue whose statistics are computed by hand in the tests, and the browser.

Models (owner unless said otherwise; m4 and d3 are private):

    name  media         tasks            family       training  params     licence    downloads  created
    m1    text          text-gen         transformer  pretrain  1,000      permissive 100        2024-01-15
    m2    text, image   text-gen, img    transformer  finetune  2,000      permissive 50         2024-01-20
    m3    image         img              cnn          finetune  3,000,000  copyleft   10         2024-03-01  stranger's
    m4    image         img              cnn          pretrain  40,000     -          1000       2024-03-05  PRIVATE
    m5    -             -                other        -         -          -          0          2024-02-10

Lineage: m2 -fine_tune-> m1, m3 -quantization-> m2, m4 -adapter-> m3, m5 -merge-> m1 and m3.
"""

from datetime import UTC, date, datetime

import pytest
from django.core.cache import cache

from accounts.models import Grant
from catalog.models import Dataset, Domain, Media, MediaType, MLModel, ModelLineage, Task
from catalog.tests.factories import DatasetFactory, LicenseFactory, MLModelFactory


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def _model(owner, name, *, media, tasks, created, **fields):
    model = MLModelFactory(owner=owner, name=name, **fields)
    model.media.set(media)
    model.tasks.set(tasks)
    MLModel.objects.filter(pk=model.pk).update(created_at=at(created))
    return model


def _dataset(owner, name, *, media, tasks, domains, created, **fields):
    dataset = DatasetFactory(owner=owner, name=name, **fields)
    dataset.media.set(media)
    dataset.tasks.set(tasks)
    dataset.domains.set(domains)
    Dataset.objects.filter(pk=dataset.pk).update(created_at=at(created))
    return dataset


@pytest.fixture
def catalogue(db, owner, stranger):
    # Rows of a data migration: a transactional test (the browser's live server) flushes them.
    MediaType.objects.bulk_create([MediaType(slug=slug) for slug in Media.values], ignore_conflicts=True)
    text_gen = Task.objects.create(slug="text-generation", name="Text generation", modality="text")
    img_cls = Task.objects.create(slug="image-classification", name="Image classification", modality="image")
    apache = LicenseFactory()
    gpl = LicenseFactory(key="gpl-3.0", spdx_id="GPL-3.0-only", name="GPL 3.0", category="copyleft")
    m1 = _model(
        owner,
        "m1",
        media=["text"],
        tasks=[text_gen],
        created="2024-01-15",
        architecture_family="transformer",
        training_type="pretrain",
        parameter_count=1_000,
        license=apache,
        release_date=date.fromisoformat("2019-02-14"),
        downloads=100,
    )
    m2 = _model(
        owner,
        "m2",
        media=["text", "image"],
        tasks=[text_gen, img_cls],
        created="2024-01-20",
        architecture_family="transformer",
        training_type="finetune",
        parameter_count=2_000,
        license=apache,
        release_date=date.fromisoformat("2023-07-18"),
        downloads=50,
    )
    m3 = _model(
        stranger,
        "m3",
        media=["image"],
        tasks=[img_cls],
        created="2024-03-01",
        architecture_family="cnn",
        training_type="finetune",
        parameter_count=3_000_000,
        license=gpl,
        release_date=date.fromisoformat("2024-04-18"),
        downloads=10,
    )
    m4 = _model(
        owner,
        "m4",
        media=["image"],
        tasks=[img_cls],
        created="2024-03-05",
        architecture_family="cnn",
        training_type="pretrain",
        parameter_count=40_000,
        license=None,
        release_date=date.fromisoformat("2024-09-01"),
        downloads=1000,
        visibility="private",
    )
    m5 = _model(
        owner,
        "m5",
        media=[],
        tasks=[],
        created="2024-02-10",
        architecture_family="other",
        training_type="",
        parameter_count=None,
        license=None,
        downloads=0,
    )
    for model, base, relation in [
        (m2, m1, "fine_tune"),
        (m3, m2, "quantization"),
        (m4, m3, "adapter"),
        (m5, m1, "merge"),
        (m5, m3, "merge"),
    ]:
        ModelLineage.objects.create(model=model, base=base, relation=relation)
    health = Domain.objects.create(slug="health", name="Health")
    finance = Domain.objects.create(slug="finance", name="Finance")
    d1 = _dataset(
        owner,
        "d1",
        media=["text"],
        tasks=[text_gen],
        domains=[health],
        created="2023-05-01",
        instances_number=100,
        features_number=10,
        year=2020,
        informed_consent=True,
        transparency=False,
    )
    d2 = _dataset(
        stranger,
        "d2",
        media=["image"],
        tasks=[img_cls],
        domains=[health, finance],
        created="2024-06-01",
        instances_number=1000,
        features_number=20,
        year=2021,
        informed_consent=True,
        transparency=True,
    )
    d3 = _dataset(
        owner,
        "d3",
        media=["text"],
        tasks=[text_gen],
        domains=[finance],
        created="2024-07-01",
        instances_number=10_000,
        features_number=None,
        year=2021,
        informed_consent=False,
        visibility="private",
    )
    return {"m1": m1, "m2": m2, "m3": m3, "m4": m4, "m5": m5, "d1": d1, "d2": d2, "d3": d3}


@pytest.fixture
def grant_on_private_model(catalogue, owner, grantee):
    return Grant.objects.create(model=catalogue["m4"], user=grantee, permission="read", created_by=owner)


# Browser fixtures (chromium, browser_page): catalog/tests/browser.py, registered in the root conftest.py.
