"""Likes: one row per user and asset; the asset's ``likes`` column is its count (sortable, indexed)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models.base import exactly_one_asset
from catalog.models.datasets import Dataset
from catalog.models.mlmodels import MLModel


class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    model = models.ForeignKey(MLModel, null=True, blank=True, on_delete=models.CASCADE, related_name="like_rows")
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="like_rows")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            exactly_one_asset("like"),
            models.UniqueConstraint(fields=["user", "model"], condition=Q(model__isnull=False), name="like_user_model"),
            models.UniqueConstraint(
                fields=["user", "dataset"], condition=Q(dataset__isnull=False), name="like_user_dataset"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.model_id or self.dataset_id}"
