"""PostgreSQL: prefix indexes for repository-id search and type-ahead at 1,000,000 models.

Django's ``iexact`` and ``istartswith`` are ``UPPER(col) = UPPER(…)`` and ``UPPER(col) LIKE UPPER('…%')``.
The trigram GIN indexes of 0011 answer substrings but not a one- or two-letter prefix (no trigram), and
for a common prefix they return every row containing its trigrams for a recheck. A btree on ``UPPER(col)``
with ``text_pattern_ops`` (byte order, whatever the database's collation) answers both as a range. The
tables are analysed afterwards (a sample: seconds at 1,000,000 rows) so that the planner has statistics for
the new expressions: without them it guesses 3 % of the rows for any prefix and may scan the table.
SQLite: nothing (its FTS5 trigram table, catalog 0014, serves the same lookups).
"""

from django.db import migrations

INDEXES = {
    "mlmodel_name_upper_prefix_idx": ("catalog_mlmodel", "name"),
    "dataset_name_upper_prefix_idx": ("catalog_dataset", "name"),
    "user_username_upper_prefix_idx": ("accounts_user", "username"),
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} (UPPER({column}::text) text_pattern_ops, id)"
        )
    for table in sorted({table for table, _ in INDEXES.values()}):
        schema_editor.execute(f"ANALYZE {table}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0022_write_path")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
