"""The embedded default's search (catalog.search on SQLite): FTS5 serves the matching, and a common word's
ranked head is bounded as on PostgreSQL (the most downloaded matches), whatever the number of matches."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog.tests.factories import MLModelFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite search path (PostgreSQL: full text)"),
]


@pytest.fixture
def common_word(owner):
    """Eight public models whose cards say "bert", by rising downloads, and one that does not."""
    models = [
        MLModelFactory(owner=owner, name=f"enc-{i}", card="A bert encoder.", downloads=i * 10, visibility="public")
        for i in range(8)
    ]
    MLModelFactory(owner=owner, name="other", card="Images.", downloads=1000, visibility="public")
    return models


def test_the_search_queries_read_the_fts5_tables(common_word):
    with CaptureQueriesContext(connection) as queries:
        response = APIClient().get("/api/v1/models/", {"search": "bert", "mode": "keyword"})
    assert response.status_code == 200
    fts = [q["sql"] for q in queries if "_fts_words" in q["sql"]]
    assert fts and all(" MATCH " in sql for sql in fts), [q["sql"][:200] for q in queries]
    page = next(q["sql"] for q in queries if 'FROM "catalog_mlmodel"' in q["sql"] and "LIMIT" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {page}")
        plan = [row[-1] for row in cursor.fetchall()]
    # The matches come from the FTS5 index (a virtual-table lookup), not from a scan of the cards.
    assert any("catalog_mlmodel_fts_words VIRTUAL TABLE INDEX" in step for step in plan), plan
    # The id substring (LIKE) is served by the trigram index ("L"): a LIKE with an ESCAPE clause would scan it.
    likes = [q["sql"] for q in queries if "repo_id LIKE" in q["sql"]]
    assert likes
    for sql in likes:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            steps = [row[-1] for row in cursor.fetchall()]
        assert any("catalog_mlmodel_fts_id VIRTUAL TABLE INDEX 0:L" in step for step in steps), (sql, steps)


def test_a_common_words_head_is_its_most_downloaded_matches_and_pages_return_every_match_once(common_word, settings):
    settings.SEARCH_RANKED_CANDIDATES = 3
    with CaptureQueriesContext(connection) as queries:
        rows = APIClient().get("/api/v1/models/", {"search": "bert", "mode": "keyword", "limit": 50}).json()["results"]
    scored = [q["sql"] for q in queries if "bm25(" in q["sql"]]
    assert len(scored) == 1 and "+rowid IN" in scored[0] and "ORDER BY" not in scored[0]  # only the head is scored
    names = [row["name"] for row in rows]
    assert sorted(names[:3]) == ["enc-5", "enc-6", "enc-7"]  # the ranked head: the three most downloaded
    assert names[3:] == ["enc-4", "enc-3", "enc-2", "enc-1", "enc-0"]  # the tail, by id
    seen, url = [], "/api/v1/models/?search=bert&mode=keyword&limit=2"
    while url:
        body = APIClient().get(url).json()
        seen += [row["name"] for row in body["results"]]
        url = body["next"]
    assert seen == names
