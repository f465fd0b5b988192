"""SQLite: indexes that serve the lists' order under the public-visibility filter.

An anonymous list filters ``visibility = 'public'`` and sorts by a key and the id. SQLite took the index on
``visibility`` for the filter and sorted every public row in a temporary B-tree for the first page (the
PostgreSQL indexes of 0006 exist only there). With ``(visibility, key, id)`` it walks the index in the
list's order (backwards for the descending sorts: SQLite puts NULLs last in DESC, as the lists ask) and
stops after one page. Signed-in lists (public OR own OR granted) walk the plain ``(key, id)`` indexes of
0004. PostgreSQL: nothing (its planner already uses 0006's indexes with a filter).
"""

from django.db import migrations

KEYS = {
    "catalog_mlmodel": ("mlmodel", ["updated_at", "created_at", "downloads", "likes", "name", "parameter_count",
                                    "release_date"]),
    "catalog_dataset": ("dataset", ["updated_at", "created_at", "downloads", "likes", "name", "instances_number",
                                    "year"]),
}  # fmt: skip


def _names():
    for table, (prefix, columns) in KEYS.items():
        for column in columns:
            yield table, column, f"{prefix}_vis_{column.removesuffix('_at')}_id_idx"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for table, column, name in _names():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} (visibility, {column}, id)")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for _, _, name in _names():
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0021_uploads")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
