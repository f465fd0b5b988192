"""Embeddings (catalog.semantic): the bundled encoder loads with networking disabled, an asset's embedding
is recomputed when its card changes (through a real Celery worker, and eagerly), the HNSW index plus the
delta of changes since its build, similar assets inside visible_to, and the bulk command."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from io import StringIO

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from catalog import semantic, services
from catalog.models import MLModel, SearchEmbedding, Visibility
from catalog.tests.factories import (
    DatasetFactory,
    DatasetFileFactory,
    FileColumnFactory,
    LicenseFactory,
    MLModelFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def index_dir(settings, tmp_path):
    settings.SEARCH_VECTOR_INDEX_DIR = tmp_path / "search-index"
    return settings.SEARCH_VECTOR_INDEX_DIR


def stored(model) -> np.ndarray:
    return semantic.from_bytes(SearchEmbedding.objects.get(model=model).vector)


def test_the_encoder_loads_and_encodes_with_networking_disabled(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the encoder tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    semantic.encoder.cache_clear()
    try:
        vectors = semantic.encode(["chest x-ray pneumonia classifier", "a recipe for bread"])
    finally:
        semantic.encoder.cache_clear()
    assert vectors.shape == (2, semantic.DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    near, far = semantic.encode(["lung radiograph model", "baking bread"])
    assert near @ vectors[0] > near @ vectors[1] and far @ vectors[1] > far @ vectors[0]


def test_an_embedding_is_recomputed_after_the_card_changes_eagerly(
    owner, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        model = services.save_model(user=owner, data={"name": "speech-model", "card": "Speech recognition."})
    before = stored(model)
    with django_capture_on_commit_callbacks(execute=True):
        services.save_model(user=owner, model=model, data={"card": "Image segmentation of satellite photos."})
    after = stored(model)
    assert not np.allclose(before, after)
    text = semantic.asset_text(MLModel.objects.get(pk=model.pk))
    assert np.allclose(after, semantic.encode([text])[0], atol=1e-5)


needs_worker = pytest.mark.skipif(
    not os.environ.get("REDIS_URL") or connection.vendor != "postgresql",
    reason="needs REDIS_URL and PostgreSQL (a worker process cannot share an in-memory SQLite test database)",
)


@needs_worker
@pytest.mark.django_db(transaction=True)
def test_an_embedding_is_recomputed_after_the_card_changes_in_a_real_celery_worker(owner, settings):
    from openmodelhub.celery import app

    queue = f"omh-search-test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "OMH_SEARCH_VECTOR_INDEX_DIR": str(settings.SEARCH_VECTOR_INDEX_DIR),
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "openmodelhub", "worker", "--pool=solo", "-Q", queue]
        + ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    previous_queue, previous_eager = app.conf.task_default_queue, app.conf.task_always_eager
    app.conf.task_default_queue, app.conf.task_always_eager = queue, False
    try:
        model = services.save_model(user=owner, data={"name": "worker-model", "card": "Speech recognition."})
        first = _wait_for(lambda: SearchEmbedding.objects.filter(model=model).first(), worker)
        services.save_model(user=owner, model=model, data={"card": "Image segmentation of satellite photos."})
        second = _wait_for(
            lambda: SearchEmbedding.objects.filter(model=model).exclude(digest=first.digest).first(), worker
        )
        text = semantic.asset_text(MLModel.objects.get(pk=model.pk))
        assert second.digest == semantic.digest(text, semantic.token_weights())
        assert np.allclose(semantic.from_bytes(second.vector), semantic.encode([text])[0], atol=1e-5)
    finally:
        app.conf.task_default_queue, app.conf.task_always_eager = previous_queue, previous_eager
        worker.terminate()
        worker.wait(30)


def _wait_for(probe, worker, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        if worker.poll() is not None:
            raise AssertionError("the worker stopped: " + worker.stdout.read().decode())
        time.sleep(0.3)
    raise AssertionError("no embedding within the time allowed")


def test_the_index_answers_and_the_delta_covers_changes_since_its_build(db):
    owner = UserFactory()
    cards = ["Speech recognition for English.", "Detect pneumonia in chest X-rays.", "Translate German to French."]
    models = [MLModelFactory(owner=owner, name=f"m{n}", card=card) for n, card in enumerate(cards)]
    assert sum(semantic.embed_assets(MLModel)) == 3
    assert semantic.vector_index("model").build() == 3
    query = semantic.encode(["lung x-ray"])[0]
    assert semantic.vector_index("model").nearest(query, 1)[0][0] == models[1].pk
    late = MLModelFactory(owner=owner, name="late", card="Chest radiograph pneumonia screening, lung X-ray.")
    list(semantic.embed_assets(MLModel, [late.pk]))
    assert semantic.delta_size("model") == 1
    assert late.pk in [pk for pk, _ in semantic.vector_index("model").nearest(query, 2)]
    assert list(semantic.embed_assets(MLModel)) == [4] and semantic.delta_size("model") == 1  # unchanged: kept


def test_similar_assets_stay_inside_what_the_caller_may_see(owner, stranger):
    public = MLModelFactory(owner=owner, name="speech-en", card="English speech recognition.")
    MLModelFactory(owner=owner, name="speech-de", card="German speech recognition.")
    MLModelFactory(owner=owner, name="speech-private", card="Speech recognition.", visibility=Visibility.PRIVATE)
    MLModelFactory(owner=owner, name="bread", card="Bread recipes.")
    call_command("embed_assets", stdout=StringIO())
    url = f"/api/v1/models/{owner.username}/speech-en/similar/"
    client = APIClient()
    client.force_authenticate(stranger)
    names = [row["name"] for row in client.get(url, {"limit": 3}).json()["results"]]
    assert names[0] == "speech-de" and "speech-private" not in names and "speech-en" not in names
    client.force_authenticate(owner)
    assert "speech-private" in [row["name"] for row in client.get(url).json()["results"]]
    assert client.get(url, {"limit": 0}).status_code == 400
    page = client.get(public.get_absolute_url())
    assert b"Similar models" in page.content and b"speech-de" in page.content


def test_embed_assets_reports_progress_and_refuses_bad_options(db):
    MLModelFactory(card="A model.")
    out = StringIO()
    call_command("embed_assets", "--kind", "models", stdout=out)
    assert "models: embedded in" in out.getvalue() and "models: 1 vectors indexed" in out.getvalue()
    with pytest.raises(CommandError, match="--batch"):
        call_command("embed_assets", "--batch", "0", stdout=StringIO())
    with pytest.raises(CommandError, match="exclude"):
        call_command("embed_assets", "--skip-index", "--index-only", stdout=StringIO())


def test_an_id_is_embedded_as_the_words_people_type():
    assert semantic.name_words("BlackMamba-2.8B") == "black mamba 2.8b"
    assert semantic.name_words("mobilenetv3_large_100.ra_in1k") == "mobilenetv3 large 100 ra in1k"
    assert semantic.name_words("GPT-NeoX-20B") == "gpt neo x 20b"


def test_unweighted_pooling_is_wordllamas_own_average():
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    texts = ["chest x-ray pneumonia classifier", "BlackMamba-2.8B", "", "a recipe for bread " * 50]
    tokenizer = Tokenizer.from_str(semantic.encoder().tokenizer.to_str())  # wordllama turns padding on in its own
    reference = WordLlamaInference(semantic.encoder().table, tokenizer).embed(texts[:2], norm=True)
    ours = semantic.encoder().encode(texts)
    assert np.allclose(ours[:2], reference, atol=1e-5)
    assert not ours[2].any() and np.isclose(np.linalg.norm(ours[3]), 1.0, atol=1e-4)


BOILERPLATE = (
    "Component licences recorded by the Model Openness Tool: model architecture, model parameters, datasets, "
    "model card, data card, technical report, research paper. Source: LF AI & Data Model Openness Tool."
)
SUBJECTS = ["pneumonia in chest radiographs", "bread recipes", "German to French translation", "bird songs"]


def test_token_weights_make_shared_boilerplate_weigh_less_than_what_tells_assets_apart(owner):
    models = [
        MLModelFactory(owner=owner, name=f"m{n}", card=f"{BOILERPLATE}\n{subject}\n{BOILERPLATE}")
        for n, subject in enumerate(SUBJECTS)
    ]
    list(semantic.embed_assets(MLModel))
    unweighted = {model.pk: stored(model) for model in models}
    assert semantic.token_weights() is None
    assert semantic.fit_token_weights() == len(SUBJECTS)
    weights = semantic.token_weights()
    tokenizer = semantic.encoder().tokenizer
    shared, telling = (tokenizer.encode(word, add_special_tokens=False).ids[-1] for word in ("Openness", "bread"))
    assert weights.idf[shared] < weights.idf[telling]
    assert list(semantic.embed_assets(MLModel)) == [len(SUBJECTS)]  # a refit recomputes every embedding
    query = semantic.encode(["pneumonia chest x-ray"])[0]
    before = semantic.encoder().encode(["pneumonia chest x-ray"])[0]
    target, others = models[0].pk, [model.pk for model in models[1:]]
    gap_weighted = stored(models[0]) @ query - max(stored(MLModel.objects.get(pk=pk)) @ query for pk in others)
    gap_plain = unweighted[target] @ before - max(unweighted[pk] @ before for pk in others)
    assert gap_weighted > gap_plain > 0
    assert SearchEmbedding.objects.get(model=models[0]).digest == semantic.digest(
        semantic.asset_text(MLModel.objects.get(pk=target)), weights
    )


def test_embed_assets_fits_the_token_weights_once_the_catalogue_is_large_enough(db, settings):
    MLModelFactory(card="A model.")
    out = StringIO()
    call_command("embed_assets", stdout=out)
    assert "token weights: not fitted yet (1 assets" in out.getvalue() and semantic.token_weights() is None
    call_command("embed_assets", "--refit-weights", stdout=out)
    assert "token weights: fitted on 1 texts" in out.getvalue() and semantic.token_weights() is not None
    with pytest.raises(CommandError, match="exclude"):
        call_command("embed_assets", "--index-only", "--refit-weights", stdout=StringIO())


def test_the_embedded_text_of_many_datasets_is_read_in_a_fixed_number_of_statements(owner, django_assert_num_queries):
    from catalog.models import Dataset, Domain, MediaType

    licence = LicenseFactory()
    health, education = (
        Domain.objects.create(slug="health", name="Health"),
        Domain.objects.create(slug="education", name="Education"),
    )
    datasets = []
    for n in range(3):
        dataset = DatasetFactory(owner=owner, name=f"survey_{n}", card="x" * 5000, license=licence, objective="triage")
        dataset.tasks.add(TaskFactory(slug="text-classification", name="Text Classification"))
        dataset.media.add(MediaType.objects.get(slug="text"), MediaType.objects.get(slug="image"))
        dataset.domains.add(health, education)
        second, first = (
            DatasetFileFactory(dataset=dataset, path="b.csv"),
            DatasetFileFactory(dataset=dataset, path="a.csv"),
        )
        FileColumnFactory(dataset_file=second, name="age", position=1, data_type_original="int64")
        FileColumnFactory(dataset_file=first, name="label", position=2, data_type_original="string")
        FileColumnFactory(dataset_file=first, name="note", position=1, data_type_original="string")
        datasets.append(dataset)
    with django_assert_num_queries(5):  # assets, tasks, media, domains, columns (files: a subquery)
        one = semantic.texts(Dataset, [datasets[0].pk])
    with django_assert_num_queries(5):
        every = semantic.texts(Dataset, [dataset.pk for dataset in datasets] + [10**9])
    assert set(every) == {dataset.pk for dataset in datasets} and every[datasets[0].pk] == one[datasets[0].pk]
    lines = every[datasets[1].pk].split("\n")
    assert lines[:8] == [
        f"{owner.username}/survey_1",
        "survey 1",
        "Text Classification text classification",
        "image data",
        "text data",
        f"licence {licence.name}",
        "triage",
        "Education",
    ]
    assert lines[8:10] == ["Health", "columns: note string, label string, age int64"]
    assert lines[10] == "x" * semantic.MAX_TEXT
    loaded = Dataset.objects.select_related("owner", "license").prefetch_related(
        "tasks", "media", "domains", "files__columns"
    )
    assert all(semantic.asset_text(dataset) == every[dataset.pk] for dataset in loaded)  # one text, two readers


def test_a_stopped_bulk_embedding_resumes_where_it_stopped(db):
    models = [MLModelFactory(card=f"Card number {n}.") for n in range(5)]
    batches = semantic.embed_assets(MLModel, batch=2)
    assert next(batches) == 2  # stopped after its first batch: those two are stored
    batches.close()
    first = dict(SearchEmbedding.objects.values_list("model_id", "updated_at"))
    assert set(first) == {models[0].pk, models[1].pk}
    assert list(semantic.embed_assets(MLModel, batch=2)) == [2, 2, 1]
    again = dict(SearchEmbedding.objects.values_list("model_id", "updated_at"))
    assert set(again) == {model.pk for model in models}
    assert all(again[pk] == written for pk, written in first.items())  # unchanged texts are not rewritten
    for model in models:
        text = semantic.asset_text(model)
        assert SearchEmbedding.objects.get(model=model).digest == semantic.digest(text)


@pytest.mark.parametrize("kind, column", [("model", "model_id"), ("dataset", "dataset_id")])
def test_a_kinds_delta_is_read_through_its_own_index_not_the_other_kinds_recent_rows(db, kind, column):
    """The delta since a kind's index build is read by an index of that kind's rows alone: through the shared
    updated_at index, every search of one kind walked the other kind's rows embedded since (145 ms at 1M)."""
    since = "2026-01-01 00:00:00"
    sql = f"SELECT {column} FROM catalog_searchembedding WHERE {column} IS NOT NULL AND updated_at >= %s"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute(f"EXPLAIN {sql}", [since])
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", [since])
        plan = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert f"embedding_{kind}_delta" in plan, plan


def test_a_process_that_cannot_load_an_index_as_it_starts_logs_it_and_starts(db, caplog):
    """semantic.warm (openmodelhub.startup): a broken index file (half-copied onto shared storage) must not stop
    a web process from starting; the first search that needs the index meets the same error."""
    owner = UserFactory()
    MLModelFactory(owner=owner, name="m0", card="Speech recognition for English.")
    assert sum(semantic.embed_assets(MLModel)) == 1 and semantic.vector_index("model").build() == 1
    index = semantic.vector_index("model")
    index.path.write_bytes(b"not an index")
    index.meta_path.write_text(index.meta_path.read_text())  # a new modification time: the file is reopened
    with caplog.at_level("WARNING", logger="catalog.semantic"):
        semantic.warm()
    assert any("could not load" in record.getMessage() for record in caplog.records), caplog.text
    assert semantic.encoder.cache_info().currsize == 1  # the rest was loaded
