"""catalog.idsets: a set of ids as one query parameter (an array on PostgreSQL, JSON on SQLite)."""

import pytest
from django.db import connection

from catalog.idsets import InIds, id_rows
from catalog.models import MLModel
from catalog.tests.factories import MLModelFactory

pytestmark = pytest.mark.django_db


def test_it_filters_and_excludes_by_thousands_of_ids_sent_as_one_parameter():
    made = [MLModelFactory(name=f"m{i}").pk for i in range(5)]
    wanted = {made[1], made[3], *range(10**9, 10**9 + 3000)}  # ids that exist and 3,000 that do not
    sent = []

    def record(execute, sql, params, many, context):
        sent.append(params)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        found = set(MLModel.objects.filter(InIds("pk", wanted)).values_list("pk", flat=True))
    assert found == {made[1], made[3]}
    assert len(sent) == 1 and len(sent[0]) == 1  # the 3,002 ids as one parameter, not 3,002 placeholders
    assert set(MLModel.objects.exclude(InIds("pk", wanted)).values_list("pk", flat=True)) == set(made) - found
    assert not MLModel.objects.filter(InIds("pk", [])).exists()
    assert MLModel.objects.exclude(InIds("pk", [])).count() == 5


def test_id_rows_selects_each_id_once_as_a_relation():
    sql, params = id_rows([3, 1, 3, 2])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({sql}) AS ids ORDER BY 1", params)
        assert [row[0] for row in cursor.fetchall()] == [1, 2, 3]
