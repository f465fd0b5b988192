"""Models carry a release date (when their authors released them), loaded from records that have one."""

import datetime

import pytest

from catalog.models import MLModel
from catalog.records import RecordError, load_records

pytestmark = pytest.mark.django_db


def records(**model_fields) -> dict:
    return {
        "format": "openmodelhub/records-v1",
        "users": [{"username": "alice"}],
        "models": [{"owner": "alice", "name": "dated", **model_fields}],
    }


def test_a_release_date_in_the_records_is_stored_as_a_date():
    load_records(records(release_date="2024-07-23"))
    assert MLModel.objects.get(name="dated").release_date == datetime.date(2024, 7, 23)


def test_a_model_without_a_release_date_keeps_it_unknown():
    load_records(records())
    load_records(records(release_date=None))
    assert MLModel.objects.get(name="dated").release_date is None


@pytest.mark.parametrize("value", ["2024-13-01", "July 2024", 2024, ["2024-07-23"]])
def test_a_bad_release_date_names_the_record_and_field_and_writes_nothing(value):
    with pytest.raises(RecordError, match="models\\[0\\] 'dated', field 'release_date'"):
        load_records(records(release_date=value))
    assert not MLModel.objects.filter(name="dated").exists()
