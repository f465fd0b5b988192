"""Search (issue 19, issue 18's FTS5 on SQLite): one embedding per asset (catalog.semantic), and on SQLite
the FTS5 tables and triggers of catalog.fts, which catalog.search reads. PostgreSQL has its tsvector
(0004/0005) and trigram (0011) indexes already: nothing to do there."""

import django.db.models.deletion
from django.db import migrations, models


def forward(apps, schema_editor):
    from catalog import fts

    fts.ensure(schema_editor.connection, triggers=False)  # the triggers: after migrate (catalog.apps)


def backward(apps, schema_editor):
    from catalog import fts

    fts.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0013_file_profiling")]

    operations = [
        migrations.CreateModel(
            name="SearchEmbedding",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("vector", models.BinaryField(help_text="float32 little-endian, L2-normalised")),
                ("digest", models.CharField(help_text="SHA-256 of the encoder and the embedded text", max_length=64)),
                ("encoder", models.CharField(max_length=64)),
                ("updated_at", models.DateTimeField(auto_now=True, db_index=True)),
                (
                    "dataset",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="embedding",
                        to="catalog.dataset",
                    ),
                ),
                (
                    "model",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="embedding",
                        to="catalog.mlmodel",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("model__isnull", False), ("dataset__isnull", True)),
                            models.Q(("model__isnull", True), ("dataset__isnull", False)),
                            _connector="OR",
                        ),
                        name="searchembedding_exactly_one_asset",
                    )
                ],
            },
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
