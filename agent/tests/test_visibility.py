"""Whatever SQL is scripted, a user only ever reads the rows `visible_to` lets them see."""

import pytest

from agent import services
from agent.models import ErrorCode
from agent.tests.fake_llm import sql_reply

pytestmark = pytest.mark.django_db

PRIVATE = {"secret-llm", "shared-llm", "team-llm", "secret-data"}

PROBES = [
    "SELECT name FROM catalog_mlmodel",
    "SELECT name FROM catalog_mlmodel WHERE visibility = 'private'",
    "SELECT m.name FROM catalog_mlmodel m JOIN catalog_mlmodel_media mm ON mm.mlmodel_id = m.id",
    "SELECT name FROM catalog_dataset",
    "SELECT (SELECT name FROM catalog_mlmodel WHERE id = l.model_id) AS name FROM catalog_modellineage l",
    "SELECT CAST(model_id AS TEXT) || ':' || CAST(base_id AS TEXT) AS name FROM catalog_modellineage",
    "SELECT path AS name FROM catalog_datasetfile",
    "SELECT name FROM catalog_filecolumn",
    "SELECT name FROM catalog_mlmodel UNION ALL SELECT name FROM catalog_dataset",
    "WITH t AS (SELECT * FROM catalog_mlmodel) SELECT name FROM t",
    "SELECT name FROM (SELECT * FROM catalog_mlmodel) AS sub",
    "SELECT name FROM catalog_mlmodel WHERE id IN (SELECT mlmodel_id FROM catalog_mlmodel_tasks) OR 1 = 1",
    "SELECT MAX(parameter_count) AS name FROM catalog_mlmodel",
    "SELECT COUNT(*) AS name FROM catalog_mlmodel",
    "SELECT string_agg(name, ',') AS name FROM catalog_mlmodel",
]


def names(answer) -> set[str]:
    assert answer.error_code == ErrorCode.OK, answer.message
    return {str(v) for row in answer.rows for v in row}


def ask(fake_llm, user, sql):
    fake_llm.script(sql_reply(sql))
    return services.answer_question(user=user, question="?")


@pytest.mark.parametrize("sql", PROBES)
def test_private_assets_of_others_never_reach_a_stranger(fake_llm, catalogue, stranger, sql):
    found = names(ask(fake_llm, stranger, sql))
    assert not any(private in value for value in found for private in PRIVATE)
    for private in ("secret-llm", "shared-llm", "team-llm"):
        pk = str(catalogue[private.replace("-", "_")].pk)
        assert not any(value.startswith(f"{pk}:") for value in found)
    assert "secret_patient_name" not in found and "secret/patients.csv" not in found


def test_aggregates_only_count_what_the_user_may_see(fake_llm, catalogue, stranger, owner):
    sql = "SELECT COUNT(*) AS n, MAX(parameter_count) AS biggest FROM catalog_mlmodel"
    assert ask(fake_llm, stranger, sql).rows == [[1, 7_000_000_000]]
    assert ask(fake_llm, owner, sql).rows == [[4, 70_000_000_000]]


def test_owners_grantees_members_and_curators_see_what_visible_to_gives_them(
    fake_llm, catalogue, owner, grantee, member, curator, admin_user
):
    sql = "SELECT name FROM catalog_mlmodel"
    assert names(ask(fake_llm, owner, sql)) == {"open-llm", "secret-llm", "shared-llm", "team-llm"}
    assert names(ask(fake_llm, grantee, sql)) == {"open-llm", "shared-llm"}
    assert names(ask(fake_llm, member, sql)) == {"open-llm", "team-llm"}
    assert names(ask(fake_llm, curator, sql)) == {"open-llm", "secret-llm", "shared-llm", "team-llm"}
    assert names(ask(fake_llm, admin_user, sql)) == {"open-llm", "secret-llm", "shared-llm", "team-llm"}


def test_a_revoked_grant_hides_the_asset_again(fake_llm, catalogue, grantee):
    from django.utils import timezone

    catalogue["shared_llm"].grants.update(revoked_at=timezone.now())
    assert names(ask(fake_llm, grantee, "SELECT name FROM catalog_mlmodel")) == {"open-llm"}


def test_lineage_edges_need_both_ends_visible(fake_llm, catalogue, owner, stranger):
    sql = "SELECT model_id, base_id FROM catalog_modellineage"
    assert ask(fake_llm, stranger, sql).rows == []
    assert ask(fake_llm, owner, sql).rows == [[catalogue["secret_llm"].pk, catalogue["open_llm"].pk]]


def test_files_and_columns_of_a_private_dataset_are_hidden(fake_llm, catalogue, owner, stranger):
    sql = "SELECT f.path, c.name FROM catalog_filecolumn c JOIN catalog_datasetfile f ON f.id = c.dataset_file_id"
    assert ask(fake_llm, stranger, sql).rows == [["open/train.csv", "label"]]
    assert sorted(ask(fake_llm, owner, sql).rows) == [
        ["open/train.csv", "label"],
        ["secret/patients.csv", "secret_patient_name"],
    ]


def test_an_inactive_user_sees_only_public_assets(fake_llm, catalogue, owner):
    owner.is_active = False
    owner.save()
    assert names(ask(fake_llm, owner, "SELECT name FROM catalog_mlmodel")) == {"open-llm"}


LEAKY = [
    "SELECT 1 AS name FROM catalog_mlmodel WHERE CAST(name AS INTEGER) = 1",
    "SELECT name FROM catalog_mlmodel WHERE visibility = 'private' AND CAST(name AS INTEGER) > 0",
    "SELECT m.name FROM catalog_mlmodel m JOIN catalog_dataset d ON CAST(d.name AS INTEGER) = m.id",
    "SELECT name FROM catalog_filecolumn WHERE CAST(name AS INTEGER) = 1",
]


@pytest.mark.parametrize("sql", LEAKY)
def test_error_messages_do_not_leak_private_rows(fake_llm, catalogue, stranger, sql):
    """The filtered subqueries are optimisation fences: conditions never run on rows the user may not see."""
    fake_llm.default = sql_reply(sql)
    answer = services.answer_question(user=stranger, question="?")
    for private in (*PRIVATE, "secret_patient_name"):
        assert private not in answer.message and private not in repr(answer.rows)
