"""Licences made from the real knowledge-base entries (ScanCode + ModelGo + curated), one row at a time.

Loading the whole base (2,000+ licences) is what ``load_licenses`` does and is tested once; the other
tests create just the licences they use, with the same terms.
"""

from functools import lru_cache

from catalog.models import Dataset, MLModel, ModelDataset, ModelLineage
from catalog.tests.factories import DatasetFactory, MLModelFactory, UserFactory
from licensing.knowledge import Entry, build_entries
from licensing.models import License


@lru_cache(maxsize=1)
def _entries() -> dict[str, Entry]:
    return build_entries()[0]


def license_for(key: str) -> License:
    existing = License.objects.filter(key=key).first()
    entry = _entries()[key]
    lic = existing or License(key=key)
    for attr in Entry.FIELDS:
        setattr(lic, attr, getattr(entry, attr))
    lic.save()
    return lic


def model(name: str, license_key: str | None = None, *, owner=None, declared: str = "", **kwargs) -> MLModel:
    lic = license_for(license_key) if license_key else None
    return MLModelFactory(
        name=name,
        owner=owner or UserFactory(username="maker"),
        license=lic,
        license_declared=declared or (license_key or ""),
        **kwargs,
    )


def dataset(name: str, license_key: str | None = None, *, owner=None, declared: str = "", **kwargs) -> Dataset:
    lic = license_for(license_key) if license_key else None
    return DatasetFactory(
        name=name,
        owner=owner or UserFactory(username="maker"),
        license=lic,
        license_declared=declared or (license_key or ""),
        **kwargs,
    )


def derive(child: MLModel, base: MLModel, relation: str = "fine_tune") -> ModelLineage:
    return ModelLineage.objects.create(model=child, base=base, relation=relation)


def train(model_: MLModel, data: Dataset, role: str = "trained_on") -> ModelDataset:
    return ModelDataset.objects.create(model=model_, dataset=data, role=role)
