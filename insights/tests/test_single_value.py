import pytest

from catalog.tests.factories import DatasetFactory
from catalog.models import Dataset
from insights.counting import summary as size_summary

pytestmark = pytest.mark.django_db


def test_a_size_summary_over_one_value_has_no_standard_deviation(admin_user):
    DatasetFactory(instances_number=10, features_number=3)
    summary = size_summary(Dataset.objects.all(), "features_number", "features")
    assert summary["count"] == 1 and summary["mean"] == 3 and summary["stddev"] is None
