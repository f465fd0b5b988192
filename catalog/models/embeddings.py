"""One search embedding per model or dataset (catalog.semantic writes and searches them)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from catalog.models.base import exactly_one_asset
from catalog.models.datasets import Dataset
from catalog.models.mlmodels import MLModel


class SearchEmbedding(models.Model):
    model = models.OneToOneField(MLModel, null=True, blank=True, on_delete=models.CASCADE, related_name="embedding")
    dataset = models.OneToOneField(Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="embedding")
    vector = models.BinaryField(help_text="float32 little-endian, L2-normalised")
    digest = models.CharField(max_length=64, help_text="SHA-256 of the encoder and the embedded text")
    encoder = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [exactly_one_asset("searchembedding")]
        # What changed since a kind's vector index was built (catalog.semantic.delta_size, VectorIndex.nearest):
        # one index per kind, so that the models' delta never walks the datasets' recent rows (200,000
        # datasets embedded after the models' index was built made every hybrid search read them: 145 ms).
        indexes = [
            models.Index(fields=["updated_at"], name="embedding_model_delta", condition=Q(model__isnull=False)),
            models.Index(fields=["updated_at"], name="embedding_dataset_delta", condition=Q(dataset__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"embedding of {'model' if self.model_id else 'dataset'} {self.model_id or self.dataset_id}"
