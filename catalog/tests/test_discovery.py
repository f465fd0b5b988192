"""Data discovery (issue 20, part 3): union/join search over value sketches, datasets suited to a model, and
that neither ever shows an asset the caller may not see. The catalogue is built once for the module (profiled
with the real profiler) inside a transaction that is rolled back at the end."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import TestCase
from django.urls import reverse

from accounts import services as sharing
from accounts.models import User
from catalog import files, profiling, semantic
from catalog.discovery import data as data_discovery
from catalog.models import Dataset, DatasetFile, FileColumn, MLModel, ModelDataset, Task, Visibility
from catalog.tests.factories import DatasetFactory, MLModelFactory
from licensing.models import License

pytestmark = pytest.mark.django_db

N = 200
CITIES = ["Paris", "Lyon", "Nantes", "Lille", "Nice"]


def _csv(header: list[str], rows) -> bytes:
    return ("\n".join([",".join(header), *(",".join(map(str, row)) for row in rows)]) + "\n").encode()


QUERY = _csv(["customer_id", "email", "city"], ((i, f"user{i}@shop.example", CITIES[i % 5]) for i in range(1, N + 1)))
# Two columns share the query's values under other names (and one more column): a union candidate.
SAME_VALUES = _csv(["cid", "mail", "score"], ((i, f"user{i}@shop.example", i / 7) for i in range(1, N + 1)))
# The query's column names and types, none of its values.
SAME_NAMES = _csv(
    ["customer_id", "email", "city"], ((i, f"someone{i}@elsewhere.example", f"Town{i}") for i in range(9001, 9001 + N))
)
# Orders: a key of its own, and the query's customer ids (repeated): a join candidate.
ORDERS = _csv(["order_id", "customer_id", "amount"], ((50000 + i, 1 + i % N, i * 3) for i in range(3 * N)))


def _profiled(tmp: Path, dataset, path: str, data: bytes) -> DatasetFile:
    """The file as the pipeline records it: the real profiler's columns, value sketches included."""
    local = tmp / path.replace("/", "_")
    local.write_bytes(data)
    report = profiling.profile(local, "csv")
    dataset_file = DatasetFile.objects.create(
        dataset=dataset, path=path, format="csv", row_count=report.table["row_count"]
    )
    FileColumn.objects.bulk_create(FileColumn(dataset_file=dataset_file, **c) for c in report.table["columns"])
    return dataset_file


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("discovery")
    with django_db_blocker.unblock(), transaction.atomic():
        users = {  # no password: the tests log in with force_login, and hashing one costs a second
            n: User.objects.create(username=f"disc-{n}", email=f"disc-{n}@example.org")
            for n in ("owner", "stranger", "revoked")
        }
        owner = users["owner"]
        apache = License.objects.create(
            key="disc-apache",
            name="Apache-like",
            category="permissive",
            commercial_use=True,
            redistribution=True,
            relicensing="allowed",
        )
        non_commercial = License.objects.create(
            key="disc-nc",
            name="Non-commercial licence",
            category="non_commercial",
            commercial_use=False,
            redistribution=True,
        )
        task = Task.objects.create(slug="disc-tabular-classification", name="Tabular classification")
        public = {"owner": owner, "visibility": Visibility.PUBLIC}

        def dataset(name: str, **extra):
            d = DatasetFactory(name=name, **{**public, **extra})
            return d

        shop, crm, lookalike, orders = (dataset(n, license=apache) for n in ("shop", "crm", "lookalike", "orders"))
        secret = dataset("secret-twin", visibility=Visibility.PRIVATE, license=apache)
        files_ = {
            "query": _profiled(tmp, shop, "data/customers.csv", QUERY),
            "values": _profiled(tmp, crm, "contacts.csv", SAME_VALUES),
            "names": _profiled(tmp, lookalike, "customers.csv", SAME_NAMES),
            "orders": _profiled(tmp, orders, "orders.csv", ORDERS),
            "secret": _profiled(tmp, secret, "copy.csv", QUERY),
        }
        grant = sharing.grant_access(by=owner, asset=secret, permission="read", user=users["revoked"])
        sharing.revoke_grant(by=owner, grant=grant)

        model = MLModelFactory(name="churn", license=apache, **public)
        model.tasks.add(task)
        model.media.add("tabular")
        ModelDataset.objects.create(model=model, dataset=shop, role=ModelDataset.Role.TRAINED_ON)
        suited = {
            "columns": lookalike,  # task and media and the training data's columns
            "media": crm,  # the medium only
            "nc": dataset("nc-data", license=non_commercial),  # the task, under a non-commercial licence
            "hidden": dataset("hidden-data", visibility=Visibility.PRIVATE, license=apache),
        }
        lookalike.tasks.add(task)
        for d in (lookalike, crm):
            d.media.add("tabular")
        suited["nc"].tasks.add(task)
        suited["hidden"].tasks.add(task)
        suited["hidden"].media.add("tabular")
        hidden_model = MLModelFactory(name="secret-model", visibility=Visibility.PRIVATE, owner=owner)
        yield {
            "users": users,
            "files": files_,
            "model": model,
            "hidden_model": hidden_model,
            "suited": suited,
            "secret": secret,
        }
        transaction.set_rollback(True)


def _related(client, dataset_file: DatasetFile, user=None, **params):
    if user is not None:
        client.force_login(user)
    d = dataset_file.dataset
    url = reverse(
        "api:dataset-related-files", kwargs={"owner": d.owner.username, "name": d.name, "path": dataset_file.path}
    )
    return client.get(url, params)


# --- sketches -----------------------------------------------------------------------------------


def test_value_sketches_estimate_the_overlap_of_two_columns(tmp_path):
    half = _csv(["v"], ((f"w{i}",) for i in range(500, 1500)))  # 500 of 1,000 shared: Jaccard 1/3
    whole = _csv(["v"], ((f"w{i}",) for i in range(1000)))
    sketches = []
    for name, data in (("a.csv", whole), ("b.csv", half), ("c.csv", whole)):
        (tmp_path / name).write_bytes(data)
        sketches.append(
            data_discovery.sketch(profiling.profile(tmp_path / name, "csv").table["columns"][0]["value_sketch"])
        )
    a, b, c = sketches
    assert (a == c).all()  # the same values give the same sketch (hashes do not depend on the process)
    estimate = data_discovery.SketchMatrix([b]).jaccard(a)[0]
    assert abs(estimate - 1 / 3) < 0.1
    assert data_discovery.containment(estimate, 1000, 1000) == pytest.approx(0.5, abs=0.12)


# --- union / join search ----------------------------------------------------------------------


def test_union_search_ranks_shared_values_above_shared_names(world):
    found = data_discovery.related_files(world["files"]["query"], world["users"]["stranger"])
    paths = [f.file.path for f in found]
    assert paths.index("contacts.csv") < paths.index("customers.csv")
    values = found[paths.index("contacts.csv")]
    assert values.kind == "union"
    pairs = {(m.query_column, m.column): m for m in values.union}
    assert set(pairs) >= {("customer_id", "cid"), ("email", "mail")}
    assert pairs[("email", "mail")].jaccard > 0.8 and "values overlap" in pairs[("email", "mail")].explanation
    names = found[paths.index("customers.csv")]
    assert all(m.jaccard == 0 and m.name_similarity == 1 for m in names.union)


def test_join_search_finds_the_key_holding_the_query_values(world):
    found = {f.file.path: f for f in data_discovery.related_files(world["files"]["query"], world["users"]["stranger"])}
    orders = found["orders.csv"]
    assert orders.kind == "join"
    assert (orders.join.query_column, orders.join.column) == ("customer_id", "customer_id")
    assert orders.join.containment > 0.8 and "join on" in orders.explanation


def test_related_files_api_explains_each_column_pair(client, world):
    response = _related(client, world["files"]["query"], world["users"]["stranger"], limit=2)
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 2 and body["path"] == "data/customers.csv"
    first = body["results"][0]
    assert {"dataset", "path", "kind", "score", "explanation", "union", "join"} <= set(first)
    assert all("explanation" in pair for pair in first["union"])


@pytest.mark.parametrize("who", ["stranger", "revoked", None])
def test_related_files_never_name_a_hidden_dataset(client, world, who):
    response = _related(client, world["files"]["query"], world["users"][who] if who else None)
    assert response.status_code == 200
    assert b"secret-twin" not in response.content and b"copy.csv" not in response.content


def test_the_owner_finds_its_private_copy_first(client, world):
    body = _related(client, world["files"]["query"], world["users"]["owner"]).json()
    assert (body["results"][0]["dataset"], body["results"][0]["path"]) == ("disc-owner/secret-twin", "copy.csv")


@pytest.mark.parametrize("who", ["stranger", "revoked", None])
def test_a_hidden_query_file_answers_404_like_a_missing_one(client, world, who):
    user = world["users"][who] if who else None
    assert _related(client, world["files"]["secret"], user).status_code == 404
    page = reverse("catalog:file-related", kwargs={"owner": "disc-owner", "name": "secret-twin", "path": "copy.csv"})
    assert client.get(page).status_code == 404


def test_a_missing_path_and_a_bad_limit_are_refused(client, world):
    shop = world["files"]["query"].dataset
    url = reverse("api:dataset-related-files", kwargs={"owner": "disc-owner", "name": shop.name, "path": "nope.csv"})
    assert client.get(url).status_code == 404
    response = _related(client, world["files"]["query"], limit="0")
    assert response.status_code == 400 and "limit" in response.json()


def test_the_related_files_page_shows_the_explanations(client, world):
    client.force_login(world["users"]["stranger"])
    url = reverse("catalog:file-related", kwargs={"owner": "disc-owner", "name": "shop", "path": "data/customers.csv"})
    response = client.get(url)
    assert response.status_code == 200
    text = response.content.decode()
    assert "contacts.csv" in text and "join on" in text and "values overlap" in text and "secret-twin" not in text
    dataset_page = client.get(reverse("catalog:dataset-detail", kwargs={"owner": "disc-owner", "name": "shop"}))
    assert url in dataset_page.content.decode()


# --- datasets suited to a model -----------------------------------------------------------------


def _suited(client, model: MLModel, user=None, **params):
    if user is not None:
        client.force_login(user)
    url = reverse("api:model-suited-datasets", kwargs={"owner": model.owner.username, "name": model.name})
    return client.get(url, params)


def test_suited_datasets_are_ranked_and_explained(world):
    found = data_discovery.suited_datasets(world["model"], world["users"]["stranger"])
    names = [s.dataset.name for s in found]
    assert "shop" not in names  # already linked to the model
    assert names.index("lookalike") < names.index("crm")
    lookalike = found[names.index("lookalike")]
    assert lookalike.shared_tasks == ["Tabular classification"] and lookalike.shared_media == ["tabular"]
    assert set(lookalike.shared_columns) == {"customer_id", "email", "city"}
    assert any(r.startswith("columns ") for r in lookalike.reasons) and lookalike.licence["status"] == "ok"


def test_a_dataset_whose_licence_forbids_the_purpose_is_flagged_and_can_be_left_out(client, world):
    body = _suited(client, world["model"], world["users"]["stranger"]).json()
    nc = next(r for r in body["results"] if r["dataset"] == "disc-owner/nc-data")
    assert nc["licence"]["status"] == "violation" and nc["licence"]["answers"]["commercial"] == "no"
    assert "commercial" in nc["licence"]["worsens"]
    assert any(f["code"] == "non-commercial-upstream" for f in nc["licence"]["findings"])
    commercial = _suited(client, world["model"], purpose="commercial").json()
    assert "disc-owner/nc-data" not in [r["dataset"] for r in commercial["results"]]
    assert "disc-owner/lookalike" in [r["dataset"] for r in commercial["results"]]
    assert _suited(client, world["model"], purpose="fun").status_code == 400


def test_a_dataset_described_alike_is_suited_without_a_shared_task(world, settings, tmp_path):
    settings.SEARCH_VECTOR_INDEX_DIR = tmp_path / "index"  # none built: the stored vectors are scanned
    notes = DatasetFactory(
        name="churn-notes", owner=world["model"].owner, visibility=Visibility.PUBLIC, card="Customer churn records."
    )
    list(semantic.embed_assets(MLModel, [world["model"].pk]))
    list(semantic.embed_assets(Dataset, [notes.pk, world["suited"]["hidden"].pk]))
    found = {s.dataset.name: s for s in data_discovery.suited_datasets(world["model"], world["users"]["stranger"])}
    assert "churn-notes" in found and "hidden-data" not in found
    assert found["churn-notes"].shared_tasks == [] and found["churn-notes"].parts["similarity"] > 0


@pytest.mark.parametrize("who", ["stranger", "revoked", None])
def test_suited_datasets_never_show_a_hidden_one(client, world, who):
    response = _suited(client, world["model"], world["users"][who] if who else None)
    assert response.status_code == 200 and b"hidden-data" not in response.content
    assert _suited(client, world["hidden_model"]).status_code == 404
    owner_view = data_discovery.suited_datasets(world["model"], world["users"]["owner"])
    assert "hidden-data" in [s.dataset.name for s in owner_view]


def test_the_model_page_lists_suited_datasets(client, world):
    model = world["model"]
    page = client.get(model.get_absolute_url()).content.decode()
    url = f"/models/{model.full_name}/suited-datasets/"
    assert f'data-lazy-section="{url}?partial=1"' in page  # loaded by static/js/hub.js
    for suffix in ("?partial=1", ""):
        response = client.get(url + suffix)
        text = response.content.decode()
        assert response.status_code == 200 and ("<html" in text) == (suffix == "")
        assert "Datasets suited to this model" in text and "lookalike" in text and "hidden-data" not in text


# --- sketches for files profiled before they were kept ------------------------------------------


def _upload(user, asset, path: str, data: bytes):
    with TestCase.captureOnCommitCallbacks(execute=True):
        version = files.upload_file(user=user, asset=asset, path=path, content=io.BytesIO(data))
    version.refresh_from_db()
    return version


@pytest.mark.usefixtures("file_store", "eager_celery")
def test_uploads_keep_sketches_and_the_command_restores_missing_ones(owner):
    dataset = DatasetFactory(owner=owner)
    assert _upload(owner, dataset, "contacts.csv", SAME_VALUES).status == "ready"
    columns = FileColumn.objects.filter(dataset_file__dataset=dataset).order_by("position")
    kept = {c.name: bytes(c.value_sketch) for c in columns}
    assert set(kept) == {"cid", "mail", "score"} and all(len(v) == 512 for v in kept.values())
    columns.update(value_sketch=None)  # as profiled before sketches were kept

    out = io.StringIO()
    call_command("sketch_columns", "--dry-run", stdout=out)
    assert "1 profiled file(s) to sketch" in out.getvalue() and not columns.filter(value_sketch__isnull=False).exists()
    call_command("sketch_columns", stdout=out)
    assert {c.name: bytes(c.value_sketch) for c in columns.all()} == kept
    again = io.StringIO()
    call_command("sketch_columns", stdout=again)
    assert "0 file(s) sketched" in again.getvalue()


@pytest.mark.django_db
def test_a_model_without_media_finds_datasets_by_task(owner):
    # An empty media list once emptied the whole candidate query (an empty __in inside Count's filter).
    task = Task.objects.create(slug="tabular-regression", name="Tabular regression")
    model = MLModelFactory(owner=owner, name="regressor")
    model.tasks.set([task])
    suited = DatasetFactory(owner=owner, name="house-prices")
    suited.tasks.set([task])
    DatasetFactory(owner=owner, name="unrelated")

    found = data_discovery.suited_datasets(model, owner)

    assert [s.dataset.name for s in found] == ["house-prices"]
