"""Covering indexes: the model and dataset statistics read these instead of the wide tables.

Every statistic over models needs the visibility columns plus one of a few narrow columns; with
them in one index, PostgreSQL answers from an index-only scan (about a tenth of the table's size
once cards and search vectors are in it). They replace 0001's visibility-only indexes.
"""

from django.db import migrations

ETHICS = (
    "informed_consent, transparency, user_control, equity_non_discrimination, security_measures_in_place, "
    "data_quality_documented, anonymization_applied, record_keeping_policy_exists, purpose_limitation_respected, "
    "accountability_defined"
)
INDEXES = {
    "insights_mlmodel_stats_idx": "catalog_mlmodel (visibility, owner_id, id) INCLUDE "
    "(architecture_family, training_type, license_id, parameter_count, created_at)",
    "insights_dataset_stats_idx": "catalog_dataset (visibility, owner_id, id) INCLUDE "
    f"(year, created_at, instances_number, features_number, {ETHICS})",
}
REPLACED = {
    "insights_mlmodel_visible_idx": "catalog_mlmodel (visibility, owner_id, id)",
    "insights_dataset_visible_idx": "catalog_dataset (visibility, owner_id, id)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, target in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
    for name in REPLACED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, target in REPLACED.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("insights", "0001_statistics_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
