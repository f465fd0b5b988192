"""Search as people type it (catalog.search): repository-id fragments, typos, the ranking tiers, hybrid
search inside visible_to and the filters, facet counts over the same rows, pagination of a common word
that returns every match exactly once, type-ahead, and the SQLite path through FTS5."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Grant
from accounts.services import grant_access, revoke_grant
from catalog import search, semantic
from catalog.models import MLModel, Visibility
from catalog.tests.factories import MLModelFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def index_dir(settings, tmp_path):
    settings.SEARCH_VECTOR_INDEX_DIR = tmp_path / "search-index"
    return settings.SEARCH_VECTOR_INDEX_DIR


@pytest.fixture
def hub(db):
    people = {name: UserFactory(username=name) for name in ("google", "Zyphra", "timm", "meta-llama", "someone")}
    made = {}
    for owner, name, card in [
        ("google", "bert-base-uncased", "BERT base model, uncased, pretrained on English Wikipedia."),
        ("google", "bert-large-cased", "BERT large model, cased."),
        ("someone", "tiny-bert-for-sentiment", "A small English sentiment classifier distilled from BERT."),
        ("Zyphra", "BlackMamba-2.8B", "A mixture-of-experts state-space language model."),
        ("timm", "mobilenetv3_large_100.ra_in1k", "MobileNet-V3 image classification model trained on ImageNet."),
        ("meta-llama", "Llama-3-8B", "Meta's large language model."),
        ("someone", "chest-xray-pneumonia-resnet", "Detects pneumonia in chest X-ray radiographs."),
    ]:
        made[name] = MLModelFactory(owner=people[owner], name=name, card=card)
    return made


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def found(client: APIClient, text: str, mode: str = "keyword", **params) -> list[str]:
    response = client.get("/api/v1/models/", {"search": text, "mode": mode, **params})
    assert response.status_code == 200, response.content
    return [f"{row['owner']}/{row['name']}" for row in response.json()["results"]]


def embed_everything() -> None:
    for _ in semantic.embed_assets(MLModel):
        pass
    semantic.vector_index("model").build()


def test_fragments_of_a_repository_id_find_it(hub):
    assert found(api(), "bert-base")[0] == "google/bert-base-uncased"
    assert "Zyphra/BlackMamba-2.8B" in found(api(), "mamba")
    assert found(api(), "google/bert-l") == ["google/bert-large-cased"]


def test_a_typo_within_one_edit_finds_the_model(hub):
    assert found(api(), "mobilnet")[0] == "timm/mobilenetv3_large_100.ra_in1k"
    assert found(api(), "bert-bse-uncased")[0] == "google/bert-base-uncased"
    assert found(api(), "blackmamba-2.9b")[0] == "Zyphra/BlackMamba-2.8B"


def test_ranking_puts_exact_before_prefix_before_substring(db):
    owner = UserFactory(username="lab")
    for name in ("roberta", "bert-large", "bert"):
        MLModelFactory(owner=owner, name=name, card="")
    assert found(api(), "bert") == ["lab/bert", "lab/bert-large", "lab/roberta"]


def test_a_short_card_naming_the_word_ranks_above_a_long_card_naming_it_once(db):
    owner = UserFactory(username="lab")
    filler = " ".join(f"Paragraph {n} of a long card about training details and evaluation." for n in range(60))
    MLModelFactory(owner=owner, name="m-short", card="Speech recognition for English.")
    MLModelFactory(owner=owner, name="m-long", card=f"Speech recognition for English. {filler}")  # the later id
    assert found(api(), "speech") == ["lab/m-short", "lab/m-long"]  # bm25 on SQLite, ts_rank normalised by length


def test_a_rare_word_of_a_description_finds_an_unpopular_asset_beside_a_word_everything_has(db, settings):
    settings.SEARCH_RANKED_CANDIDATES = 5  # the head: fewer than the assets the common word matches
    owner = UserFactory(username="lab")
    for n in range(10):
        MLModelFactory(owner=owner, name=f"popular-{n}", card="A language model.", downloads=1000 + n)
    MLModelFactory(owner=owner, name="rare", card="A Korean language model.", downloads=0)
    assert found(api(), "korean chatbot model")[0] == "lab/rare"  # no asset has every word: any word may match


def test_the_head_of_a_description_is_one_statement_whatever_its_number_of_words(db, settings):
    settings.SEARCH_RANKED_CANDIDATES = 5
    owner = UserFactory(username="lab")
    for n in range(10):
        MLModelFactory(owner=owner, name=f"popular-{n}", card="A language model.", downloads=1000 + n)
    MLModelFactory(owner=owner, name="rare", card="A Korean speech model.", downloads=0)
    counts, results = [], []
    for text in ("korean chatbot tiny model", "korean chatbot speech model tokenizer assistant"):
        with CaptureQueriesContext(connection) as statements:
            results.append(found(api(), text))
        counts.append(len(statements))
    assert results[0][0] == results[1][0] == "lab/rare"  # the rare word's match, beside the common word's head
    assert set(results[0]) == {"lab/rare", *(f"lab/popular-{n}" for n in range(10))}
    assert counts[0] == counts[1], counts  # one UNION ALL of the words' bounded walks, not one walk per word


SHUFFLED = [(n * 7) % 30 for n in range(30)]  # downloads 0-29, created out of their order


@pytest.mark.parametrize(
    "few, probe, walk",
    [(1000, 20, 5000), (5, 1000, 5000), (5, 40, 25)],
    ids=["matches-sorted", "downloads-walked", "walk-falls-short"],
)
@pytest.mark.parametrize("tier", ["exact", "prefix", "substring", "owner", "fuzzy"])
def test_each_id_tier_takes_its_most_downloaded_matches(db, monkeypatch, tier, few, probe, walk):
    # which path chooses them (catalog.search.most_downloaded_ctes): on PostgreSQL the ``probe`` most downloaded
    # rows decide between a walk of the downloads index (up to ``walk`` rows) and sorting every match; on
    # SQLite up to ``few`` matches are sorted, past which the downloads index is walked
    monkeypatch.setattr(search, "FEW_MATCHES", few)
    monkeypatch.setattr(search, "PROBE", probe)
    monkeypatch.setattr(search, "WALK", walk)
    monkeypatch.setattr(search, "FUZZY_WALK_TIMES", 1)  # (4 by default: the same paths, a longer walk)
    monkeypatch.setattr(search, "FUZZY_CANDIDATES", 10)
    popular = UserFactory(username="popular")
    for n in range(20):  # the most downloaded rows match nothing: a walk of the downloads index meets them first
        MLModelFactory(owner=popular, name=f"unrelated-{n:02d}", card="", downloads=10**6 + n)
    made = {}
    for i in SHUFFLED:
        owner = UserFactory(username=f"fan-of-xbert-{i:02d}" if tier == "owner" else f"lab-{i:02d}")
        name = {"exact": "x-bert", "owner": f"m-{i:02d}"}.get(tier, f"x-bert-{i:02d}")
        made[i] = MLModelFactory(owner=owner, name=name, card="", downloads=i).pk
    text = {"exact": "x-bert", "prefix": "x-bert", "substring": "bert-", "owner": "xbert", "fuzzy": "x-bxrt"}[tier]
    candidates = search.id_candidates(MLModel, text, 10)
    assert sorted(candidates) == sorted(made[i] for i in range(20, 30))  # not any 10 of the 30
    assert search.id_candidates(MLModel, text, 10) == candidates


@pytest.mark.parametrize("few, probe", [(1000, 20), (5, 1000)], ids=["matches-sorted", "downloads-walked"])
def test_pages_of_a_fragment_with_more_matches_than_the_bound_return_each_once_and_the_same_every_time(
    db, settings, monkeypatch, few, probe
):
    settings.SEARCH_RANKED_CANDIDATES = 10
    monkeypatch.setattr(search, "FEW_MATCHES", few)
    monkeypatch.setattr(search, "PROBE", probe)
    owner = UserFactory(username="lab")
    for i in SHUFFLED:
        MLModelFactory(owner=owner, name=f"x-bert-{i:02d}", card="", downloads=i)
    client = api()

    def walk() -> list[str]:
        seen, url = [], "/api/v1/models/?search=x-bert&mode=keyword&limit=4"
        while url:
            body = client.get(url).json()
            seen += [f"{row['owner']}/{row['name']}" for row in body["results"]]
            url = body["next"]
        return seen

    first = walk()
    assert first == walk()
    assert len(first) == len(set(first)) == 30
    assert set(first[:10]) == {f"lab/x-bert-{i:02d}" for i in range(20, 30)}  # the ranked window: the most downloaded


def test_hybrid_search_finds_by_meaning_and_keeps_exact_names_first(hub):
    embed_everything()
    assert found(api(), "Llama-3-8B", mode="hybrid")[0] == "meta-llama/Llama-3-8B"
    assert "someone/chest-xray-pneumonia-resnet" in found(api(), "lung radiograph model", mode="vector")[:3]


def test_hybrid_results_never_include_what_the_caller_may_not_see(hub, owner, grantee, stranger):
    secret = MLModelFactory(owner=owner, name="secret-bert-sentiment", visibility=Visibility.PRIVATE, card="BERT")
    grant = grant_access(by=owner, asset=secret, user=grantee, permission="read")
    embed_everything()
    for mode in ("keyword", "hybrid", "vector"):
        assert "secret-bert-sentiment" in [name.split("/")[1] for name in found(api(grantee), "bert sentiment", mode)]
        assert all("secret" not in name for name in found(api(stranger), "bert sentiment", mode))
        assert all("secret" not in name for name in found(api(), "secret-bert-sentiment", mode))
    revoke_grant(by=owner, grant=Grant.objects.get(pk=grant.pk))
    for mode in ("keyword", "hybrid", "vector"):
        assert all("secret" not in name for name in found(api(grantee), "secret-bert-sentiment", mode))
    suggestions = api(grantee).get("/api/v1/search/suggest/", {"q": "secret"}).json()
    assert suggestions["models"] == [] and suggestions["users"] == []


def test_facet_counts_agree_with_the_result_set(hub, owner):
    MLModelFactory(owner=owner, name="private-bert", visibility=Visibility.PRIVATE, card="BERT")
    embed_everything()
    for mode in ("keyword", "hybrid"):
        rows = api(owner).get("/api/v1/models/", {"search": "bert", "mode": mode, "limit": 200}).json()["results"]
        facets = api(owner).get("/api/v1/models/facets", {"search": "bert", "mode": mode}).json()
        assert facets["total"] == len(rows)
        by_family = {item["value"]: item["count"] for item in facets["facets"]["architecture"]}
        expected: dict[str, int] = {}
        for row in rows:
            expected[row["architecture_family"]] = expected.get(row["architecture_family"], 0) + 1
        assert {k: v for k, v in by_family.items() if v} == {k: v for k, v in expected.items() if k}


@pytest.mark.parametrize("text", ["bert", "small english sentiment model", "bert-base"])
def test_a_search_over_a_queryset_that_can_match_nothing_finds_nothing(hub, text):
    """``pk__in=[]`` (the facet sidebar's private part for a user with no private asset or grant) cannot be
    compiled to SQL; the statements search writes by hand must answer "nothing", not raise (it was a 500)."""
    for mode in ("keyword", "hybrid"):
        assert list(search.apply(MLModel.objects.filter(pk__in=[]), text, mode)) == []


def test_the_model_list_page_searches_for_a_signed_in_user_without_private_assets(hub, client, stranger):
    client.force_login(stranger)
    response = client.get("/models/", {"search": "bert"})
    assert response.status_code == 200
    assert b"bert-base-uncased" in response.content


def test_every_match_of_a_common_word_comes_exactly_once_across_pages(db, settings):
    settings.SEARCH_RANKED_CANDIDATES = 5  # a head of 5 ranked matches, the rest paged by id
    owner = UserFactory(username="many")
    expected = {f"many/bert-{n}" for n in range(23)} | {"many/other-0", "many/other-1"}
    for n in range(23):
        MLModelFactory(owner=owner, name=f"bert-{n}", card="")
    MLModelFactory(owner=owner, name="other-0", card="a bert derivative")
    MLModelFactory(owner=owner, name="other-1", card="Bert again")
    MLModelFactory(owner=owner, name="unrelated", card="nothing to see")
    client, seen, pages = api(), [], []
    url = "/api/v1/models/?search=bert&mode=keyword&limit=4"
    while url:
        body = client.get(url).json()
        pages.append(body)
        seen += [f"{row['owner']}/{row['name']}" for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) and set(seen) == expected
    back, url = [], pages[-1]["previous"]
    while url:
        body = client.get(url).json()
        back = [f"{row['owner']}/{row['name']}" for row in body["results"]] + back
        url = body["previous"]
    last = [f"{row['owner']}/{row['name']}" for row in pages[-1]["results"]]
    assert back + last == seen  # the previous links walk the same order back


def test_type_ahead_returns_models_datasets_and_owners_by_prefix(hub):
    body = api().get("/api/v1/search/suggest/", {"q": "bert"}).json()
    assert {item["id"] for item in body["models"][:2]} == {"google/bert-base-uncased", "google/bert-large-cased"}
    assert {"id": "someone/tiny-bert-for-sentiment", "kind": "model"} in body["models"]
    assert api().get("/api/v1/search/suggest/", {"q": "goo"}).json()["users"] == [{"username": "google"}]
    assert api().get("/api/v1/search/suggest/", {"q": ""}).status_code == 400


def test_type_ahead_puts_an_exact_name_first_then_the_most_downloaded_prefixes(db, monkeypatch):
    monkeypatch.setattr(search, "SUGGEST_CANDIDATES", 5)  # fewer candidates than matches: not any 5 of them
    owner = UserFactory(username="someone")
    for n in range(12):
        MLModelFactory(owner=owner, name=f"bert-variant-{n}", downloads=100 * (n + 1))
    MLModelFactory(owner=owner, name="BERT", downloads=0)
    MLModelFactory(owner=owner, name="hidden-bert", visibility=Visibility.PRIVATE, downloads=10**6)
    ids = [item["id"] for item in api().get("/api/v1/search/suggest/", {"q": "bert"}).json()["models"]]
    assert ids == ["someone/BERT"] + [f"someone/bert-variant-{n}" for n in range(11, 2, -1)]
    ids = [item["id"] for item in api().get("/api/v1/search/suggest/", {"q": "be"}).json()["models"]]
    assert ids == [f"someone/bert-variant-{n}" for n in range(11, 1, -1)]  # two letters: most downloaded first
    ids = [item["id"] for item in api(owner).get("/api/v1/search/suggest/", {"q": "variant-1"}).json()["models"]]
    assert ids == ["someone/bert-variant-11", "someone/bert-variant-10", "someone/bert-variant-1"]  # substrings


def test_a_search_whose_head_holds_every_match_looks_for_no_tail(hub):
    client = api()
    for text, expected in [("qwzx", []), ("pneumonia", ["someone/chest-xray-pneumonia-resnet"])]:
        with CaptureQueriesContext(connection) as statements:
            assert found(client, text) == expected
        tails = [q["sql"] for q in statements.captured_queries if 'ORDER BY "catalog_mlmodel"."id" DESC' in q["sql"]]
        assert tails == [], tails  # every match is in the head: no walk of the id index for more


def test_an_unknown_mode_is_a_400(hub):
    response = api().get("/api/v1/models/", {"search": "bert", "mode": "psychic"})
    assert response.status_code == 400 and "mode" in response.json()


def test_search_query_counts_are_pinned(hub):
    embed_everything()
    client = api()
    client.get("/api/v1/models/", {"search": "bert", "mode": "hybrid"})  # warm the encoder and the index
    with CaptureQueriesContext(connection) as keyword:
        client.get("/api/v1/models/", {"search": "bert", "mode": "keyword"})
    with CaptureQueriesContext(connection) as hybrid:
        client.get("/api/v1/models/", {"search": "bert", "mode": "hybrid"})
    with CaptureQueriesContext(connection) as suggest:
        client.get("/api/v1/search/suggest/", {"q": "bert"})
    counts = (len(keyword), len(hybrid), len(suggest))
    # keyword: the id candidates (every tier in one statement; fuzzy ones when few matched, one more), the
    # full-text candidates and which candidates the caller may see (one statement on PostgreSQL, two on
    # SQLite), the page and its rows' media and tasks (one statement); hybrid adds the index's delta (the
    # neighbours' visibility is read with the id candidates'); type-ahead: per kind 1-2 (exact and prefix
    # names in one statement on PostgreSQL, then substrings when few), the users 1.
    assert counts == PINNED[connection.vendor], [q["sql"][:100] for q in hybrid.captured_queries]


PINNED = {"postgresql": (5, 6, 5), "sqlite": (7, 8, 5)}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite search path")
def test_sqlite_search_reads_the_fts5_tables(hub):
    model = hub["chest-xray-pneumonia-resnet"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, body FROM catalog_mlmodel_fts_words WHERE rowid = %s", [model.pk])
        name, body = cursor.fetchone()
        assert name == model.name and "pneumonia" in body
        cursor.execute("SELECT repo_id FROM catalog_mlmodel_fts_id WHERE rowid = %s", [model.pk])
        assert cursor.fetchone() == ("someone/chest-xray-pneumonia-resnet",)
    assert "someone/chest-xray-pneumonia-resnet" in found(api(), "radiographs")  # a card word, stemmed
    with connection.cursor() as cursor:  # without its FTS row the card word no longer finds it
        cursor.execute("DELETE FROM catalog_mlmodel_fts_words WHERE rowid = %s", [model.pk])
    assert "someone/chest-xray-pneumonia-resnet" not in found(api(), "radiographs")
    MLModel.objects.filter(pk=model.pk).update(card="Detects pneumonia in chest X-ray radiographs, v2.")
    assert "someone/chest-xray-pneumonia-resnet" in found(api(), "radiographs")  # the trigger rewrote it


def test_a_walk_reads_the_callers_rows_without_joining_the_table_to_itself(db):
    """``search.rows_of``: a queryset that is the table filtered (visibility, a member's grants, a column facet)
    is walked as that filter; only one that joins another table (a task facet) is read as ``id IN (…)``.
    Django names the selected column (``AS "pk"``): missing that made every walk a self-join by primary key,
    2.5 times the pages read at 1,000,000 models."""
    from django.contrib.auth.models import AnonymousUser

    member = UserFactory()
    table = connection.ops.quote_name(MLModel._meta.db_table)
    for queryset in (
        MLModel.objects.visible_to(AnonymousUser()),
        MLModel.objects.visible_to(member),
        MLModel.objects.visible_to(member).filter(downloads__gte=1),
    ):
        rows, _ = search.rows_of(queryset)
        assert rows.startswith(f"FROM {table} WHERE (") and f"{table}.id IN (SELECT" not in rows, rows
    rows, _ = search.rows_of(MLModel.objects.visible_to(member).filter(tasks__slug="text-classification"))
    assert rows.startswith(f"FROM {table} WHERE {table}.id IN (SELECT"), rows
    mine = MLModelFactory(owner=member, visibility=Visibility.PRIVATE, name="x-bert-private", downloads=5)
    MLModelFactory(name="x-bert-public", downloads=1)
    MLModelFactory(name="x-bert-hidden", visibility=Visibility.PRIVATE, downloads=9)
    ids = search.full_text_candidates(MLModel.objects.visible_to(member), "bert", 10)[0]
    assert mine.pk in ids and len(ids) == 2  # the walk's filter is the caller's visibility
