import pytest

from agent.tests.fake_llm import FakeLLM


@pytest.fixture(autouse=True)
def eager_celery():
    """With REDIS_URL set (CI) tasks would go to a broker; here they run in process."""
    from openmodelhub.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def fake_llm(settings):
    server = FakeLLM().start()
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_BASE_URL = server.base_url
    settings.OPENAI_MODEL = "fake-model"
    settings.AGENT_LLM_MAX_RETRIES = 0
    settings.AGENT_LLM_TIMEOUT_SECONDS = 5
    yield server
    server.stop()


@pytest.fixture
def no_llm(settings):
    settings.OPENAI_API_KEY = ""
    return settings


@pytest.fixture
def catalogue(db, owner, grantee, member, affiliation):
    """A small catalogue: public and private models and datasets of `owner`, one private model shared."""
    from accounts.models import Grant
    from catalog.models import MediaType
    from catalog.tests.factories import (
        DatasetFactory,
        DatasetFileFactory,
        FileColumnFactory,
        LineageFactory,
        MLModelFactory,
    )

    text, _ = MediaType.objects.get_or_create(slug="text")
    open_llm = MLModelFactory(owner=owner, name="open-llm", parameter_count=7_000_000_000, training_type="finetune")
    secret_llm = MLModelFactory(owner=owner, name="secret-llm", visibility="private", parameter_count=70_000_000_000)
    shared_llm = MLModelFactory(owner=owner, name="shared-llm", visibility="private", parameter_count=1_000)
    team_llm = MLModelFactory(owner=owner, name="team-llm", visibility="private", parameter_count=2_000)
    for model in (open_llm, secret_llm, shared_llm, team_llm):
        model.media.add(text)
    LineageFactory(model=secret_llm, base=open_llm)
    open_data = DatasetFactory(owner=owner, name="open-data")
    secret_data = DatasetFactory(owner=owner, name="secret-data", visibility="private")
    secret_file = DatasetFileFactory(dataset=secret_data, path="secret/patients.csv")
    FileColumnFactory(dataset_file=secret_file, name="secret_patient_name", is_pii=True)
    FileColumnFactory(dataset_file=DatasetFileFactory(dataset=open_data, path="open/train.csv"), name="label")
    Grant.objects.create(model=shared_llm, user=grantee, created_by=owner)
    Grant.objects.create(model=team_llm, affiliation=affiliation, created_by=owner)
    return {
        "open_llm": open_llm,
        "secret_llm": secret_llm,
        "shared_llm": shared_llm,
        "team_llm": team_llm,
        "open_data": open_data,
        "secret_data": secret_data,
    }
