"""Models, their architecture details and their lineage."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Q
from django.urls import reverse

from catalog.models.base import (
    _asset_indexes,
    _asset_constraints,
    Asset,
    Family,
    MediaType,
    Pooling,
    Relation,
    Task,
    TrainingType,
    non_negative,
)


class MLModel(Asset):
    """A machine-learning model (``MLModel`` to avoid clashing with ``django.db.models.Model``)."""

    kind, plural = "model", "models"

    TrainingType = TrainingType
    Family = Family

    media = models.ManyToManyField(MediaType, related_name="models", blank=True)
    tasks = models.ManyToManyField(Task, related_name="models", blank=True)
    training_type = models.CharField(max_length=16, choices=TrainingType.choices, blank=True, db_index=True)
    architecture_family = models.CharField(max_length=16, choices=Family.choices, default=Family.OTHER, db_index=True)
    architecture_name = models.CharField(max_length=200, blank=True, help_text="e.g. LlamaForCausalLM, ResNet")
    parameter_count = models.BigIntegerField(null=True, blank=True, db_index=True, validators=[non_negative])
    release_date = models.DateField(
        null=True,
        blank=True,
        db_index=True,
        help_text="When its authors first released it (not when it was added here); empty when unknown.",
    )
    authors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="authored_models", blank=True)
    bases = models.ManyToManyField(
        "self",
        through="ModelLineage",
        through_fields=("model", "base"),
        symmetrical=False,
        related_name="derivatives",
        blank=True,
    )
    datasets = models.ManyToManyField("Dataset", through="ModelDataset", related_name="models", blank=True)

    class Meta:
        verbose_name = "model"
        ordering = ["-updated_at", "-id"]
        constraints = [
            *_asset_constraints("mlmodel"),
            models.CheckConstraint(
                condition=Q(parameter_count__isnull=True) | Q(parameter_count__gte=0),
                name="mlmodel_parameter_count_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(training_type__in=["", *TrainingType.values]), name="mlmodel_training_type_valid"
            ),
            models.CheckConstraint(condition=Q(architecture_family__in=Family.values), name="mlmodel_family_valid"),
        ]
        indexes = [
            *_asset_indexes("mlmodel"),
            models.Index(fields=["parameter_count", "id"], name="mlmodel_params_id_idx"),
            models.Index(fields=["release_date", "id"], name="mlmodel_released_id_idx"),
        ]

    def get_absolute_url(self) -> str:
        return reverse("catalog:model-detail", kwargs={"owner": self.owner.username, "name": self.name})

    def ancestor_ids(self) -> set[int]:
        """Every model this one derives from, at any depth, in one recursive query."""
        return ancestor_ids([self.pk])


def ancestor_ids(model_ids: list[int]) -> set[int]:
    """All ancestors (bases of bases ...) of the given models, by one recursive CTE."""
    return _lineage_closure(model_ids, up=True)


def descendant_ids(model_ids: list[int]) -> set[int]:
    """Every model derived (at any depth) from the given ones, by one recursive CTE."""
    return _lineage_closure(model_ids, up=False)


def _lineage_closure(model_ids: list[int], *, up: bool) -> set[int]:
    if not model_ids:
        return set()
    table = ModelLineage._meta.db_table
    start, follow = ("model_id", "base_id") if up else ("base_id", "model_id")
    placeholders = ", ".join(["%s"] * len(model_ids))
    sql = f"""
        WITH RECURSIVE closure(id) AS (
            SELECT {follow} FROM {table} WHERE {start} IN ({placeholders})
            UNION
            SELECT l.{follow} FROM {table} l JOIN closure c ON l.{start} = c.id
        )
        SELECT id FROM closure
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, list(model_ids))
        return {row[0] for row in cursor.fetchall()}


class TransformerDetails(models.Model):
    model = models.OneToOneField(MLModel, on_delete=models.CASCADE, primary_key=True, related_name="transformer")
    decoder_count = models.PositiveIntegerField(null=True, blank=True)
    attention_size = models.PositiveIntegerField(null=True, blank=True)
    up_size = models.PositiveIntegerField(null=True, blank=True)
    down_size = models.PositiveIntegerField(null=True, blank=True)
    embedding_size = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "Transformer details"

    def __str__(self) -> str:
        return f"Transformer details of {self.model}"


class CNNDetails(models.Model):
    model = models.OneToOneField(MLModel, on_delete=models.CASCADE, primary_key=True, related_name="cnn")
    module_count = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "CNN details"

    def __str__(self) -> str:
        return f"CNN details of {self.model}"


class CNNModule(models.Model):
    Pooling = Pooling

    cnn = models.ForeignKey(CNNDetails, on_delete=models.CASCADE, related_name="modules")
    position = models.PositiveIntegerField()
    conv_size = models.PositiveIntegerField()
    pooling_type = models.CharField(max_length=8, choices=Pooling.choices)

    class Meta:
        verbose_name = "CNN module"
        ordering = ["cnn", "position"]
        constraints = [
            models.UniqueConstraint(fields=["cnn", "position"], name="cnnmodule_position_unique"),
            models.CheckConstraint(condition=Q(pooling_type__in=Pooling.values), name="cnnmodule_pooling_valid"),
        ]

    def __str__(self) -> str:
        return f"module {self.position}: conv {self.conv_size}, {self.pooling_type} pooling"


class RNNDetails(models.Model):
    model = models.OneToOneField(MLModel, on_delete=models.CASCADE, primary_key=True, related_name="rnn")
    criterion = models.CharField(max_length=100, blank=True, help_text="Training criterion / loss, e.g. cross_entropy")
    batch_size = models.PositiveIntegerField(null=True, blank=True)
    input_size = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "RNN details"

    def __str__(self) -> str:
        return f"RNN details of {self.model}"


class LineageCycleError(ValidationError):
    pass


class ModelLineage(models.Model):
    """A directed edge: ``model`` derives from ``base`` by ``relation``."""

    Relation = Relation

    model = models.ForeignKey(MLModel, on_delete=models.CASCADE, related_name="base_edges")
    base = models.ForeignKey(MLModel, on_delete=models.CASCADE, related_name="derivative_edges")
    relation = models.CharField(max_length=24, choices=Relation.choices, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "lineage edge"
        ordering = ["model", "base"]
        constraints = [
            models.UniqueConstraint(fields=["model", "base"], name="lineage_edge_unique"),
            models.CheckConstraint(condition=~Q(model=models.F("base")), name="lineage_no_self_loop"),
            models.CheckConstraint(condition=Q(relation__in=Relation.values), name="lineage_relation_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.model} --{self.relation}--> {self.base}"

    def clean(self) -> None:
        if self.model_id and self.base_id:
            check_lineage_edge(self.model_id, self.base_id)


def check_lineage_edge(model_id: int, base_id: int) -> None:
    """Refuse an edge model -> base that would close a cycle (base already derives from model)."""
    if model_id == base_id:
        raise LineageCycleError("A model cannot be its own base model.", code="self_loop")
    if model_id in ancestor_ids([base_id]):
        raise LineageCycleError(
            "This base model already derives from the model: the lineage would form a cycle.", code="cycle"
        )
