"""Indexes on catalogue tables that the insights statistics need at scale (PostgreSQL only).

The catalog app owns these tables; the indexes live here so that the catalog's migrations stay
its own. ``IF NOT EXISTS`` makes them safe to add where someone created them by hand.
"""

from django.db import migrations

INDEXES = {
    # Lineage depth: the recursive CTE walks base -> derivative with index-only probes.
    "insights_lineage_base_model_idx": "catalog_modellineage (base_id, model_id)",
    # visible_to() for anonymous viewers and users: the visible ids come from the index alone.
    "insights_mlmodel_visible_idx": "catalog_mlmodel (visibility, owner_id, id)",
    "insights_dataset_visible_idx": "catalog_dataset (visibility, owner_id, id)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, target in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
