"""The downloads index carries the repository id's columns (``INCLUDE (name, owner_id)``, PostgreSQL).

Search chooses each id tier's candidates as its most downloaded matches (catalog.search.most_downloaded_ctes):
for a common fragment it walks the downloads index from the top and checks each row's name (or owner).
Without the name in the index every row walked was a table page read at random (10,000 pages for 10,000
rows: ~250 ms once they left the buffers at 1,000,000 models); with it the walk reads the index alone
(index-only: the table's pages are all-visible once vacuumed). The new index is built under another name and
swapped in, so that lists sorted by downloads keep theirs while it builds. SQLite has no covering indexes:
its index stays as it is.
"""

from django.db import migrations, models

TABLES = {"mlmodel_downloads_id_idx": "catalog_mlmodel", "dataset_downloads_id_idx": "catalog_dataset"}


def swap(include: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, table in TABLES.items():  # (a SHARE lock: reads go on, the old index serves them)
            schema_editor.execute(f"CREATE INDEX {name}_new ON {table} (downloads, id){include}")
        for name in TABLES:  # (an exclusive lock until the migration commits: moments)
            schema_editor.execute(f"DROP INDEX {name}")
            schema_editor.execute(f"ALTER INDEX {name}_new RENAME TO {name}")

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0026_request_cost")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(swap(" INCLUDE (name, owner_id)"), swap(""), elidable=False),
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="dataset", name="dataset_downloads_id_idx"),
                migrations.RemoveIndex(model_name="mlmodel", name="mlmodel_downloads_id_idx"),
                migrations.AddIndex(
                    model_name="dataset",
                    index=models.Index(
                        fields=["downloads", "id"], include=("name", "owner"), name="dataset_downloads_id_idx"
                    ),
                ),
                migrations.AddIndex(
                    model_name="mlmodel",
                    index=models.Index(
                        fields=["downloads", "id"], include=("name", "owner"), name="mlmodel_downloads_id_idx"
                    ),
                ),
            ],
        )
    ]
