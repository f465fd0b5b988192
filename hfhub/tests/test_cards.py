"""README.md front matter -> the catalogue -> cardData, and the page shows the card without it."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from catalog.cards import apply_card, apply_committed_card, split_front_matter
from catalog.models import MLModel, ModelLineage, Task, Visibility
from catalog.tests.factories import LicenseFactory, MLModelFactory, UserFactory
from hfhub.tests.conftest import put_files

pytestmark = pytest.mark.django_db(transaction=True)

README = b"""---
license: apache-2.0
tags: [tiny, demo-tag]
pipeline_tag: text-classification
library_name: transformers
base_model: owner/base-bert
datasets:
  - owner/tiny-csv
  - someone/hidden-data
language: [en, fr]
model-index:
  - name: tiny-bert
    results:
      - task: {type: text-classification}
        metrics: [{type: accuracy, value: 0.9}]
---
# Tiny BERT

A small model.
"""


def commit_readme(world, model, content: bytes = README):
    """Upload the card: committing README.md applies it (catalog.files -> catalog.cards)."""
    put_files(user=world.owner, asset=model, contents={"README.md": content}, message="Card")


def test_front_matter_round_trips_through_the_catalogue_into_card_data(client, world):
    licence = LicenseFactory(key="apache-2.0", spdx_id="Apache-2.0")
    Task.objects.create(slug="text-classification", name="Text classification")
    base = MLModelFactory(owner=world.owner, name="base-bert")
    commit_readme(world, world.model)
    model = MLModel.objects.get(pk=world.model.pk)
    assert model.license == licence and model.license_declared == "apache-2.0"
    assert ModelLineage.objects.filter(model=model, base=base).exists()
    assert list(model.tasks.values_list("slug", flat=True)) == ["text-classification"]
    assert model.card.startswith("# Tiny BERT")
    card = client.get("/hf/api/models/owner/tiny-bert").json()["cardData"]
    assert card["license"] == "apache-2.0" and card["pipeline_tag"] == "text-classification"
    assert card["base_model"] == "owner/base-bert" and card["datasets"] == ["owner/tiny-csv"]
    assert card["tags"] == ["tiny", "demo-tag"] and card["library_name"] == "transformers"
    assert card["language"] == ["en", "fr"]
    assert card["model-index"][0]["results"][0]["metrics"] == [{"type": "accuracy", "value": 0.9}]
    listed = client.get("/hf/api/models?filter=demo-tag").json()
    assert [item["id"] for item in listed] == ["owner/tiny-bert"]
    assert "demo-tag" in listed[0]["tags"] and listed[0]["pipeline_tag"] == "text-classification"


def test_a_card_links_only_what_its_uploader_may_see(world):
    hidden = MLModelFactory(owner=UserFactory(username="someone"), name="base-bert", visibility=Visibility.PRIVATE)
    commit_readme(world, world.model, README.replace(b"owner/base-bert", b"someone/base-bert"))
    assert not ModelLineage.objects.filter(model=world.model, base=hidden).exists()
    assert list(world.model.datasets.values_list("name", flat=True)) == ["tiny-csv"]


def test_the_page_renders_the_card_without_its_front_matter(client, world):
    MLModel.objects.filter(pk=world.model.pk).update(card=README.decode())  # even a card edited with front matter
    page = client.get("/models/owner/tiny-bert/").content.decode()
    assert "Tiny BERT" in page and "library_name" not in page and "pipeline_tag:" not in page


@pytest.mark.parametrize(
    "text", ["---\n[unclosed\n---\nbody", "---\n- a list\n---\nbody", "---\n!!python/object:os.system ls\n---\nbody"]
)
def test_crafted_front_matter_is_no_metadata_and_stays_out_of_the_body(text):
    assert split_front_matter(text) == ({}, "body")


def test_applying_a_card_twice_changes_nothing_more_and_is_audited_as_an_edit(world):
    LicenseFactory(key="apache-2.0", spdx_id="Apache-2.0")
    MLModelFactory(owner=world.owner, name="base-bert")
    commit_readme(world, world.model)
    links = (ModelLineage.objects.filter(model=world.model).count(), world.model.datasets.count())
    version = world.model.repo_files.get(path="README.md").latest_ready()
    apply_card(MLModel.objects.get(pk=world.model.pk), version, world.owner)
    assert (ModelLineage.objects.filter(model=world.model).count(), world.model.datasets.count()) == links
    assert AuditEvent.objects.filter(action="asset.update", actor=world.owner).exists()


def test_a_card_whose_uploader_lost_write_access_is_not_applied_and_nothing_is_raised(world):
    commit_readme(world, world.model, b"# First card\n")
    version = world.model.repo_files.get(path="README.md").latest_ready()
    MLModel.objects.filter(pk=world.model.pk).update(card="Edited since")
    version.uploaded_by = UserFactory(username="no-longer-a-writer")
    apply_committed_card(world.model, version)  # refused by the save service: logged, not raised
    assert MLModel.objects.get(pk=world.model.pk).card == "Edited since"
    version.uploaded_by = world.owner
    apply_committed_card(world.model, version)
    assert MLModel.objects.get(pk=world.model.pk).card == "# First card\n"
