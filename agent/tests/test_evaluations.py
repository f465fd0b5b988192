"""The agent reads evaluation results, only those whose model and dataset the user may see (issue #20)."""

import pytest

from agent import schema, services
from agent.models import ErrorCode
from agent.tests.fake_llm import sql_reply
from catalog.models import EvaluationResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def results(catalogue, owner):
    rows = [
        ("open_llm", "open_data", 81.0),  # both visible to everyone; entered by nobody known
        ("open_llm", "secret_data", 92.0),  # the dataset is private
        ("secret_llm", "open_data", 93.0),  # the model is private
        ("shared_llm", "open_data", 94.0),  # private, shared with the grantee
    ]
    for model, dataset, value in rows:
        EvaluationResult.objects.create(
            model=catalogue[model], dataset=catalogue[dataset], metric="top1", value=value, created_by=owner
        )
    EvaluationResult.objects.filter(value=81.0).update(created_by=None)
    return catalogue


def ask(fake_llm, user, sql):
    fake_llm.script(sql_reply(sql))
    return services.answer_question(user=user, question="?")


def values(answer) -> list:
    assert answer.error_code == ErrorCode.OK, answer.message
    return sorted(row[0] for row in answer.rows)


def test_the_table_is_exposed_without_who_entered_a_result():
    table = schema.exposed_tables()["catalog_evaluationresult"]
    assert {"model_id", "dataset_id", "metric", "value"} <= set(table.column_names)
    assert "created_by_id" not in table.column_names
    assert {label for _, label in table.filtered_by} == {"catalog.MLModel", "catalog.Dataset"}


def test_results_follow_the_visibility_of_their_model_and_dataset(fake_llm, results, owner, stranger, grantee):
    sql = "SELECT value FROM catalog_evaluationresult WHERE metric = 'top1'"
    assert values(ask(fake_llm, stranger, sql)) == [81.0]
    assert values(ask(fake_llm, grantee, sql)) == [81.0, 94.0]
    assert values(ask(fake_llm, owner, sql)) == [81.0, 92.0, 93.0, 94.0]
    counted = "SELECT COUNT(*) FROM catalog_evaluationresult r JOIN catalog_mlmodel m ON m.id = r.model_id"
    assert values(ask(fake_llm, stranger, counted)) == [1]


def test_who_entered_a_result_cannot_be_asked(fake_llm, results, owner):
    answer = ask(fake_llm, owner, "SELECT created_by_id FROM catalog_evaluationresult")
    assert answer.error_code != ErrorCode.OK
