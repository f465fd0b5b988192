"""What a repository card declares beyond the catalogue's own fields (catalog.cards keeps it here)."""

from __future__ import annotations

from django.db import models

from catalog.models import Dataset, FileVersion, MLModel, exactly_one_asset


class RepoCard(models.Model):
    """The card front matter's ``tags``, ``library_name``, ``language`` and ``model-index``, as declared by the
    README.md version it was read from. Licence, task, base models and datasets go into the catalogue."""

    model = models.OneToOneField(MLModel, null=True, blank=True, on_delete=models.CASCADE, related_name="hub_card")
    dataset = models.OneToOneField(Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="hub_card")
    data = models.JSONField(default=dict, blank=True)
    version = models.ForeignKey(FileVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [exactly_one_asset("repocard")]

    def __str__(self) -> str:
        return f"card of {self.model or self.dataset}"
