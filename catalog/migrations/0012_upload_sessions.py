import django.core.validators
import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0011_repo_id_trigram"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="UploadSession",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                (
                    "oid",
                    models.CharField(
                        blank=True, help_text="SHA-256 the client announced (LFS), or empty.", max_length=64
                    ),
                ),
                (
                    "sha256",
                    models.CharField(
                        blank=True, help_text="SHA-256 of the received bytes, once verified.", max_length=64
                    ),
                ),
                (
                    "size",
                    models.BigIntegerField(
                        validators=[django.core.validators.MinValueValidator(0, "Must be zero or more.")]
                    ),
                ),
                ("part_size", models.BigIntegerField(help_text="Bytes per part (the last part may be shorter).")),
                (
                    "received_parts",
                    models.JSONField(blank=True, default=list, help_text="Part numbers (from 1) received."),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("receiving", "Receiving"), ("verified", "Verified")],
                        default="receiving",
                        max_length=10,
                    ),
                ),
                ("staging_name", models.CharField(max_length=100)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("expires_at", models.DateTimeField(db_index=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "dataset",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="catalog.dataset",
                    ),
                ),
                (
                    "model",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="catalog.mlmodel",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["model", "oid"], name="uploadsession_model_oid"),
                    models.Index(fields=["dataset", "oid"], name="uploadsession_dataset_oid"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("model__isnull", False), ("dataset__isnull", True)),
                            models.Q(("model__isnull", True), ("dataset__isnull", False)),
                            _connector="OR",
                        ),
                        name="uploadsession_exactly_one_asset",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("size__gte", 0)), name="uploadsession_size_non_negative"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("part_size__gt", 0)), name="uploadsession_part_size_positive"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["receiving", "verified"])), name="uploadsession_status_valid"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "verified"), _negated=True),
                            models.Q(("sha256", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="uploadsession_verified_has_sha256",
                    ),
                ],
            },
        ),
    ]
