"""Evaluation results: one measured value of a metric for a model on a dataset split (issue #20).

A result is visible only when both its model and its dataset are visible to the reader
(``EvaluationResultQuerySet.visible_to``); a private dataset's results never show on a public
model's leaderboard.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from catalog.models.datasets import Dataset
from catalog.models.mlmodels import MLModel

metric_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.@/ -]{0,63}$",
    "A metric name is 1-64 letters, digits, spaces and _ . @ / - (for example top1, f1, exact_match).",
)


class EvaluationSource(models.TextChoices):
    TIMM = "timm", "timm result tables"
    MODEL_INDEX = "model-index", "model card (model-index)"
    API = "api", "entered through the API or a page"


class EvaluationResultQuerySet(models.QuerySet):
    def visible_to(self, user) -> EvaluationResultQuerySet:
        """Results whose model and dataset are both visible to ``user``."""
        return self.filter(
            model__in=MLModel.objects.visible_to(user).values("pk"),
            dataset__in=Dataset.objects.visible_to(user).values("pk"),
        )


class EvaluationResult(models.Model):
    model = models.ForeignKey(MLModel, on_delete=models.CASCADE, related_name="evaluations")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="evaluations")
    split = models.CharField(
        max_length=64, default="validation", help_text="The split evaluated on (validation, test, ...)."
    )
    metric = models.CharField(
        max_length=64, validators=[metric_validator], help_text="The metric's name, e.g. top1, top5, f1."
    )
    value = models.FloatField()
    higher_is_better = models.BooleanField(default=True)
    source = models.CharField(max_length=20, choices=EvaluationSource.choices, default=EvaluationSource.API)
    source_url = models.URLField(max_length=500, blank=True)
    evaluated_on = models.DateField(null=True, blank=True, help_text="When the evaluation was run or published.")
    config = models.JSONField(default=dict, blank=True, help_text="Settings of the run (image size, crop, ...).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EvaluationResultQuerySet.as_manager()

    class Meta:
        ordering = ["dataset_id", "metric", "-value", "id"]
        constraints = [
            models.UniqueConstraint(fields=["model", "dataset", "split", "metric"], name="evaluation_unique"),
        ]
        indexes = [
            # Leaderboards and "metric above X on dataset" filters.
            models.Index(fields=["dataset", "metric", "value"], name="evaluation_board_idx"),
            models.Index(fields=["model", "dataset"], name="evaluation_model_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.model_id} on {self.dataset_id} ({self.split}) {self.metric}={self.value}"
