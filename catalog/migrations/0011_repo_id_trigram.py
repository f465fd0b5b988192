"""PostgreSQL: trigram indexes for substring matches on repository ids (``owner/name``).

The Hub protocol's ``list_models(search=…)`` matches a substring of the repository id, as the Hub does;
Django's ``icontains`` is ``UPPER(col) LIKE UPPER('%text%')``, which only a trigram index on
``UPPER(col)`` serves (2.4 s -> milliseconds for a rare substring at 1,000,000 models). ``pg_trgm`` is a
trusted extension: the database owner may create it. Where it cannot be created, the indexes are
skipped with a note and searches scan. SQLite: nothing.
"""

from django.db import migrations, transaction

INDEXES = {
    "mlmodel_name_trgm_idx": ("catalog_mlmodel", "name"),
    "dataset_name_trgm_idx": ("catalog_dataset", "name"),
    "user_username_trgm_idx": ("accounts_user", "username"),
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 (permission or a server without contrib: searches still work, slower)
        print(f"\n  pg_trgm is not available ({exc}); repository-id search runs without its indexes")
        return
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0010_backfill_commits"), ("accounts", "0005_permission_levels")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
