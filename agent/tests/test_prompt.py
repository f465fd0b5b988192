import pytest

from agent import prompt, schema
from agent.synonyms import SYNONYMS
from catalog.models import Dataset, MLModel


@pytest.fixture
def system():
    return prompt.system_prompt(dialect="postgres")


def test_the_prompt_describes_the_exposed_tables_from_model_metadata(system):
    for model in (MLModel, Dataset):
        assert f"table {model._meta.db_table}" in system
        for field in model._meta.concrete_fields:
            shown = field.get_internal_type() not in schema.SKIPPED_FIELD_TYPES
            assert (f"  - {field.column} " in system) == shown
    assert "'finetune' (Fine-tune)" in system  # choices
    assert "owner_id bigint not null -> accounts_user.id" in system  # relations and types
    assert "e.g. LlamaForCausalLM, ResNet" in system  # help texts
    assert "table catalog_mlmodel_media (link table between catalog_mlmodel and catalog_mediatype)" in system


def test_the_prompt_hides_secrets_and_unlisted_tables(system):
    for hidden in (
        "password",
        "email",
        "last_login",
        "token_hash",
        "accounts_grant",
        "accounts_apitoken",
        "accounts_auditevent",
        "accounts_invitation",
        "django_session",
        "agent_agentquery",
    ):
        assert hidden not in system


def test_the_prompt_carries_the_synonyms_and_the_dialect(system):
    assert "language model" in system and "mediatype_id = 'text'" in system
    assert "vision model" in system and "'finetune'" in system
    assert all(words[0] in system for words, _meaning in SYNONYMS)
    assert "PostgreSQL" in system and "SQLite" in prompt.system_prompt(dialect="sqlite")


@pytest.mark.parametrize(
    ("entity_type", "phrase"),
    [
        ("model", "one row per model"),
        ("dataset", "one row per dataset"),
        ("user", "one row per user"),
        ("affiliation", "one row per affiliation"),
    ],
)
def test_the_entity_type_adds_a_constraint(entity_type, phrase):
    assert phrase in prompt.system_prompt(dialect="sqlite", entity_type=entity_type)
    assert phrase not in prompt.system_prompt(dialect="sqlite")


def test_only_allow_listed_models_are_exposed_and_new_columns_follow_the_models():
    labels = {t.label for t in schema.exposed_tables().values()}
    assert "accounts.Grant" not in labels and "accounts.ApiToken" not in labels
    assert {"catalog.MLModel", "catalog.MLModel_media", "accounts.User_affiliations"} <= labels
    user = schema.exposed_tables()["accounts_user"]
    assert "password" not in user.column_names and "username" in user.column_names
