"""GET /api/v1/graph and the /graph/ page: an asset's neighbourhood through visible_to, bounded, with the
stored licence verdicts. One world for the module (built once, removed at the end)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Grant, User
from catalog.models import Dataset, EvaluationResult, MLModel, Visibility
from licensing import services
from licensing.models import License
from licensing.tests.factories import dataset, derive, model, train

API = "/api/v1/graph"
VARIANTS = 4


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        licences_before = set(License.objects.values_list("pk", flat=True))
        alice = User.objects.create_user("alice", "alice@example.org", "alice-pass-123")
        stranger = User.objects.create_user("gstranger", "gs@example.org", "stranger-pass-123")
        revoked = User.objects.create_user("grevoked", "gr@example.org", "revoked-pass-123")
        reader = User.objects.create_user("greader", "grd@example.org", "reader-pass-123")
        base = model("base", "apache-2.0", owner=alice, downloads=900)
        tuned = model("tuned", "mit", owner=alice, downloads=500)
        derive(tuned, base)
        secret = model("secret-tune", "mit", owner=alice, visibility=Visibility.PRIVATE, downloads=10_000)
        derive(secret, base, "adapter")
        for i in range(VARIANTS):
            derive(model(f"variant-{i}", "apache-2.0", owner=alice, downloads=i), base, "quantization")
        corpus = dataset("corpus", "cc-by-nc-4.0", owner=alice)
        train(tuned, corpus)  # non-commercial data under MIT: a violation
        bench = dataset("bench", "cc-by-4.0", owner=alice)
        hidden_data = dataset("hidden-data", "cc-by-4.0", owner=alice, visibility=Visibility.PRIVATE)
        for data, value in ((bench, 81.5), (hidden_data, 77.0)):
            EvaluationResult.objects.create(model=tuned, dataset=data, metric="top1", value=value)
        EvaluationResult.objects.create(model=tuned, dataset=bench, metric="top5", value=95.25)
        now = timezone.now()
        Grant.objects.create(model=secret, user=revoked, created_by=alice, revoked_at=now - timedelta(minutes=1))
        Grant.objects.create(dataset=hidden_data, user=revoked, created_by=alice, revoked_at=now)
        Grant.objects.create(model=secret, user=reader, created_by=alice)
        for m in MLModel.objects.filter(owner=alice):
            services.analyse_model(m.pk)
        yield {"alice": alice, "stranger": stranger, "revoked": revoked, "reader": reader}
        MLModel.objects.filter(owner=alice).delete()
        Dataset.objects.filter(owner=alice).delete()
        Grant.objects.filter(user__in=[revoked, reader]).delete()
        User.objects.filter(pk__in=[alice.pk, stranger.pk, revoked.pk, reader.pk]).delete()
        License.objects.exclude(pk__in=licences_before).delete()


def get(client, user, **params):
    if user is not None:
        client.force_login(user)
    return client.get(API, params)


def by_id(answer: dict) -> dict:
    return {n["id"]: n for n in answer["nodes"]}


def edge(answer: dict, source: str, target: str) -> dict:
    (found,) = [e for e in answer["edges"] if e["source"] == source and e["target"] == target]
    return found


@pytest.mark.parametrize("who", ["stranger", "revoked", None])
def test_it_counts_hidden_neighbours_without_naming_them(client, db, world, who):
    response = get(client, world[who] if who else None, asset="models/alice/base")
    assert response.status_code == 200
    answer = response.json()
    nodes = by_id(answer)
    assert answer["root"] == "models/alice/base"
    assert {"models/alice/tuned", *(f"models/alice/variant-{i}" for i in range(VARIANTS))} <= set(nodes)
    assert edge(answer, "models/alice/tuned", "models/alice/base")["label"] == "Fine-tune"
    assert nodes["private/models/alice/base"] == {
        "id": "private/models/alice/base",
        "kind": "private",
        "label": "private asset",
        "count": 1,
    }
    text = response.content.decode()
    secret = MLModel.objects.get(name="secret-tune")
    assert "secret" not in text and "adapter" not in text.lower() and f'"{secret.pk}"' not in text


def test_the_revoked_grantee_sees_no_hidden_dataset_result_but_a_reader_sees_the_granted_model(client, db, world):
    answer = get(client, world["revoked"], asset="models/alice/tuned").json()
    assert "hidden-data" not in json.dumps(answer) and "77" not in json.dumps(answer)
    assert by_id(answer)["private/models/alice/tuned"]["count"] == 1
    reader = by_id(get(client, world["reader"], asset="models/alice/base").json())
    assert reader["models/alice/secret-tune"]["private"] is True
    assert "private/models/alice/base" not in reader


def test_a_hidden_root_answers_like_a_missing_one(client, db, world):
    hidden = get(client, world["stranger"], asset="models/alice/secret-tune")
    missing = get(client, world["stranger"], asset="models/alice/no-such-model")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert get(client, world["alice"], asset="models/alice/secret-tune").status_code == 200


def test_it_carries_verdicts_and_marks_the_violation_path(client, db, world):
    answer = get(client, None, asset="models/alice/tuned").json()
    nodes = by_id(answer)
    assert nodes["models/alice/tuned"]["verdict"] == "violation"
    assert nodes["models/alice/base"]["verdict"] == "ok"
    assert nodes["licenses/mit"]["kind"] == "license"
    trained = edge(answer, "models/alice/tuned", "datasets/alice/corpus")
    assert trained["kind"] == "dataset" and trained["label"] == "Trained on" and trained["violation"] is True
    assert edge(answer, "models/alice/tuned", "models/alice/base")["violation"] is False
    assert edge(answer, "models/alice/tuned", "licenses/mit")["label"] == "licensed under"


def test_evaluations_are_edges_with_their_best_results(client, db, world):
    answer = get(client, None, asset="datasets/alice/bench").json()
    evaluated = edge(answer, "models/alice/tuned", "datasets/alice/bench")
    assert evaluated["kind"] == "evaluation" and evaluated["count"] == 2
    assert evaluated["results"] == [
        {"metric": "top1", "split": "validation", "value": 81.5},
        {"metric": "top5", "split": "validation", "value": 95.25},
    ]
    assert evaluated["label"] == "top1 81.5"


def test_depth_two_reaches_the_neighbours_of_neighbours(client, db, world):
    one = by_id(get(client, None, asset="datasets/alice/corpus").json())
    two = by_id(get(client, None, asset="datasets/alice/corpus", depth=2).json())
    assert "models/alice/base" not in one and "models/alice/tuned" in one
    assert {"models/alice/base", "datasets/alice/bench", "private/models/alice/tuned"} <= set(two)


def test_it_caps_the_new_nodes_and_says_how_many_did_not_fit(client, db, world):
    full = get(client, None, asset="models/alice/base").json()
    assert full["truncated"] is False and full["omitted"] == 0
    capped = get(client, None, asset="models/alice/base", limit=3).json()
    assert len(capped["nodes"]) == 3 and capped["limit"] == 3 and capped["truncated"] is True
    assert capped["omitted"] == len(full["nodes"]) - 3
    ids = set(by_id(capped))
    assert all(e["source"] in ids and e["target"] in ids for e in capped["edges"])
    assert by_id(capped).keys() >= {"models/alice/base", "models/alice/tuned"}  # most downloaded first


def test_a_licence_lists_the_visible_assets_under_it(client, db, world):
    answer = get(client, world["stranger"], asset="licenses/mit").json()
    assert set(by_id(answer)) == {"licenses/mit", "models/alice/tuned"}


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "asset"),
        ({"asset": "models/alice"}, "asset"),
        ({"asset": "spaces/alice/x"}, "asset"),
        ({"asset": "models/alice/base", "depth": "9"}, "depth"),
        ({"asset": "models/alice/base", "limit": "0"}, "limit"),
        ({"asset": "models/alice/base", "limit": "ten"}, "limit"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(client, db, world, params, field):
    response = client.get(API, params)
    assert response.status_code == 400
    assert field in response.json()


def test_a_read_writes_nothing_in_a_fixed_number_of_queries(client, db, world, django_assert_max_num_queries):
    # per level at most 10 queries for its models and 6 for its datasets, then 3 for the nodes: none per node
    with django_assert_max_num_queries(10 + 16 + 3) as queries:
        get(client, None, asset="models/alice/tuned", depth=2)
    assert not [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))]


# --- the page -----------------------------------------------------------------------------------------


def test_the_page_embeds_the_neighbourhood_and_links_from_asset_pages(client, db, world):
    page = client.get("/graph/", {"asset": "models/alice/tuned"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="graph-data"' in html and "datasets/alice/corpus" in html and "hidden-data" not in html
    assert "<style" not in html and "style=" not in html
    link = '/graph/?asset=models/alice/tuned"'
    assert link in client.get("/models/alice/tuned/").content.decode()
    assert '/graph/?asset=datasets/alice/bench"' in client.get("/datasets/alice/bench/").content.decode()
    assert '/graph/?asset=licenses/mit"' in client.get("/licences/mit/").content.decode()


def test_the_page_hides_private_roots_and_asks_for_an_asset(client, db, world):
    client.force_login(world["stranger"])
    assert client.get("/graph/", {"asset": "models/alice/secret-tune"}).status_code == 404
    assert client.get("/graph/", {"asset": "models/nobody"}).status_code == 400
    empty = client.get("/graph/")
    assert empty.status_code == 200 and 'name="asset"' in empty.content.decode()
