from django.contrib import admin
from django.db.models import QuerySet

from catalog.admin import count_of
from catalog.models import Dataset, MLModel
from licensing.models import License


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    list_display = ["key", "spdx_id", "name", "category", "model_count", "dataset_count"]
    list_filter = ["category"]
    search_fields = ["key", "spdx_id", "name"]

    def get_queryset(self, request) -> QuerySet:
        return super().get_queryset(request).annotate(
            n_models=count_of(MLModel, "license"), n_datasets=count_of(Dataset, "license")
        )

    @admin.display(ordering="n_models", description="models")
    def model_count(self, obj) -> int:
        return obj.n_models

    @admin.display(ordering="n_datasets", description="datasets")
    def dataset_count(self, obj) -> int:
        return obj.n_datasets
