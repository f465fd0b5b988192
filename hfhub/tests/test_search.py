"""``list_models(search=…)``: a substring of the repository id, the same answer whichever plan serves it."""

from __future__ import annotations

import pytest

from catalog.models import Visibility
from catalog.tests.factories import MLModelFactory, UserFactory
from hfhub import listing

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    alice, bob = UserFactory(username="alice-lab"), UserFactory(username="bob")
    for name in ("bert-base-uncased", "bert-large", "roberta-base", "gpt-2", "tiny-BERT"):
        MLModelFactory(owner=bob, name=name)
    MLModelFactory(owner=alice, name="vision-1")
    MLModelFactory(owner=bob, name="bert-secret", visibility=Visibility.PRIVATE)


def ids(client, search: str) -> list[str]:
    response = client.get("/hf/api/models", {"search": search, "sort": "id", "direction": "1"})
    assert response.status_code == 200
    return [item["id"] for item in response.json()]


CASES = {
    "bert": ["bob/bert-base-uncased", "bob/bert-large", "bob/roberta-base", "bob/tiny-BERT"],
    "ERT-B": ["bob/bert-base-uncased"],
    "alice": ["alice-lab/vision-1"],
    "lab/vis": ["alice-lab/vision-1"],
    "b/bert-l": ["bob/bert-large"],
    "50%_": [],
    "zz": [],
}


@pytest.mark.parametrize("rare", [2000, 1], ids=["listed candidates", "common substring walk"])
def test_search_matches_substrings_of_the_repository_id_by_either_plan(client, catalogue, monkeypatch, rare):
    monkeypatch.setattr(listing, "RARE", rare)
    for search, expected in CASES.items():
        assert ids(client, search) == expected, search
