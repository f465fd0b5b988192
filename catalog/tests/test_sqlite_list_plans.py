"""On SQLite the lists walk an index in their order (migration catalog 0022) instead of sorting every public
row in a temporary B-tree for one page (issue 18: the embedded default must not be the slow one)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.tests.factories import DatasetFactory, MLModelFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner (PostgreSQL: migration 0006)"),
]


def _list_plan(url: str, table: str) -> list[str]:
    """EXPLAIN QUERY PLAN of the page query the endpoint ran (the SQL as executed, parameters included)."""
    with CaptureQueriesContext(connection) as queries:
        assert Client().get(url).status_code == 200
    page = next(q["sql"] for q in queries if f'FROM "{table}"' in q["sql"] and "ORDER BY" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {page}")
        return [row[-1] for row in cursor.fetchall()]


@pytest.mark.parametrize("sort", ["", "?sort=downloads", "?sort=likes", "?sort=created", "?sort=name"])
def test_the_public_model_list_reads_an_index_in_its_order(owner, sort):
    for i in range(3):
        MLModelFactory(owner=owner, name=f"m{i}", visibility="public" if i else "private")
    plan = _list_plan(f"/api/v1/models/{sort}", "catalog_mlmodel")
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in plan), plan
    assert any("_vis_" in step for step in plan), plan


def test_the_public_dataset_list_reads_an_index_in_its_order(owner):
    DatasetFactory(owner=owner, name="d", visibility="public")
    plan = _list_plan("/api/v1/datasets/", "catalog_dataset")
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in plan), plan
