"""The deepest-chains statistic on a random lineage graph with private models, for four viewers,
against a longest-path computation in Python (and the direct walk the bounded search replaces)."""

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services as sharing
from catalog.models import MLModel, ModelLineage
from catalog.tests.factories import MLModelFactory
from insights import lineage, selectors
from insights.queries import TOP_N, analytics_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def forest(owner, stranger, grantee):
    """120 models, a quarter private (owner's or stranger's), each derived from up to two earlier ones:
    long chains that private models cut for some viewers, with merges."""
    rng = random.Random(7)
    models = []
    for i in range(120):
        private = rng.random() < 0.25
        models.append(
            MLModelFactory(
                owner=rng.choice([owner, stranger]), name=f"n{i}", visibility="private" if private else "public"
            )
        )
    edges = set()
    for i, model in enumerate(models[1:], start=1):
        if rng.random() < 0.9:
            for base in rng.sample(models[max(0, i - 6) : i], k=min(i, rng.choice([1, 1, 1, 2]))):
                edges.add((model.pk, base.pk))
    ModelLineage.objects.bulk_create([ModelLineage(model_id=m, base_id=b, relation="fine_tune") for m, b in edges])
    granted = [m for m in models if m.visibility == "private" and m.owner == stranger][:4]
    for model in granted:
        sharing.grant_access(by=stranger, asset=model, permission="read", user=grantee)
    return models, edges


def longest_visible_chains(models, edges, visible_ids, minimum) -> list[tuple[int, int]]:
    bases: dict[int, list[int]] = {}
    for model_id, base_id in edges:
        bases.setdefault(model_id, []).append(base_id)
    depth: dict[int, int] = {}
    for model in sorted(models, key=lambda m: m.pk):  # bases always come first
        if model.pk in visible_ids:
            depth[model.pk] = max([depth[b] + 1 for b in bases.get(model.pk, []) if b in visible_ids], default=0)
    ranked = sorted(((pk, d) for pk, d in depth.items() if d >= minimum), key=lambda row: (-row[1], row[0]))
    return ranked[:TOP_N]


@pytest.mark.parametrize("viewer", ["anonymous", "owner", "stranger", "grantee", "admin_user"])
def test_the_bounded_search_finds_the_longest_visible_chains(forest, viewer, request):
    models, edges = forest
    user = request.getfixturevalue(viewer)
    visible = set(MLModel.objects.visible_to(user).values_list("pk", flat=True))
    for skip in (True, False):
        expected = longest_visible_chains(models, edges, visible, 2 if skip else 1)
        assert len(expected) == TOP_N  # deep enough for the bound to matter
        with analytics_session():
            assert [tuple(r) for r in lineage._deepest(user, skip_first_level_leaves=skip)] == expected
            assert [tuple(r) for r in lineage._deepest_direct(user, skip_first_level_leaves=skip)] == expected
    depths = [row["depth"] for row in selectors.statistic("lineage_deepest", user, use_cache=False)["rows"]]
    assert depths == [d for _, d in longest_visible_chains(models, edges, visible, 2)]


def test_when_the_bound_prunes_too_little_the_direct_walk_answers(forest, anonymous, settings):
    models, edges = forest
    settings.INSIGHTS_LINEAGE_MAX_CANDIDATES = 0  # give up at once and walk the visible graph directly
    visible = set(MLModel.objects.visible_to(anonymous).values_list("pk", flat=True))
    with analytics_session(), CaptureQueriesContext(connection) as queries:
        assert [tuple(r) for r in lineage._deepest(anonymous, skip_first_level_leaves=False)] == longest_visible_chains(
            models, edges, visible, 1
        )
    assert not any("up(leaf, node, d)" in q["sql"] for q in queries.captured_queries)
    assert any("WITH RECURSIVE hidden(id)" in q["sql"] for q in queries.captured_queries)
