import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0014_search_embeddings"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Like",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "dataset",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="like_rows",
                        to="catalog.dataset",
                    ),
                ),
                (
                    "model",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="like_rows",
                        to="catalog.mlmodel",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="likes",
                        to=settings.AUTH_USER_MODEL,
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
                        name="like_exactly_one_asset",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("model__isnull", False)), fields=("user", "model"), name="like_user_model"
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("dataset__isnull", False)),
                        fields=("user", "dataset"),
                        name="like_user_dataset",
                    ),
                ],
            },
        ),
        migrations.AddIndex(
            model_name="mlmodel",
            index=models.Index(fields=["release_date", "id"], name="mlmodel_released_id_idx"),
        ),
    ]
