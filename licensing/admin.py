from django.contrib import admin, messages

from catalog.models import Dataset, MLModel
from licensing import services
from licensing.models import License, LicenseAlias
from openmodelhub.admin import CountColumnsMixin


class HasViolationsFilter(admin.SimpleListFilter):
    """For MLModelAdmin: models whose last compliance analysis found a violation (or not analysed yet)."""

    title = "licence violations"
    parameter_name = "has_violations"

    def lookups(self, request, model_admin):
        return [("yes", "Has violations"), ("no", "No violations"), ("unanalysed", "Not analysed yet")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(compliance__has_violations=True)
        if self.value() == "no":
            return queryset.filter(compliance__has_violations=False)
        if self.value() == "unanalysed":
            return queryset.filter(compliance__isnull=True)
        return queryset


@admin.action(description="Re-analyse licence")
def reanalyse_license(modeladmin, request, queryset) -> None:
    """Re-analyse the selected models (and their descendants) now."""
    analysed, violating = services.recompute_compliance(list(queryset.values_list("pk", flat=True)))
    modeladmin.message_user(
        request,
        f"Re-analysed {analysed} model(s), including descendants; {violating} with violations.",
        messages.WARNING if violating else messages.SUCCESS,
    )


class LicenseAliasInline(admin.TabularInline):
    model = LicenseAlias
    extra = 0


@admin.register(License)
class LicenseAdmin(CountColumnsMixin, admin.ModelAdmin):
    list_display = ["key", "spdx_id", "name", "category", "is_agreement", "source", "model_count", "dataset_count"]
    list_filter = ["category", "is_agreement", "source", "commercial_use", "use_restrictions", "relicensing"]
    search_fields = ["key", "spdx_id", "name", "aliases__alias"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [LicenseAliasInline]
    count_columns = {"model_count": ("models", MLModel, "license"), "dataset_count": ("datasets", Dataset, "license")}

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        services.schedule_reresolution()  # a new licence or alias may name what assets declared

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change:  # terms changed: every model under it, or trained on a dataset under it, is re-analysed
            services.schedule_compliance(MLModel.objects.filter(license=obj).values_list("pk", flat=True))
            services.schedule_compliance_for_datasets(Dataset.objects.filter(license=obj).values_list("pk", flat=True))


# --- Hooks used by catalog.admin: re-analyse after a curator changes licences, lineage or datasets ---


class ModelComplianceAdminMixin:
    """For MLModelAdmin: the model, its descendants and any model whose edge to it was removed are re-analysed."""

    def save_related(self, request, form, formsets, change) -> None:
        obj = form.instance
        before = set(obj.derivative_edges.values_list("model_id", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        services.schedule_compliance([obj.pk, *before])

    def delete_model(self, request, obj) -> None:
        derivatives = list(obj.derivative_edges.values_list("model_id", flat=True))
        super().delete_model(request, obj)
        services.schedule_compliance(derivatives)

    def delete_queryset(self, request, queryset) -> None:
        from catalog.models import ModelLineage

        derivatives = list(ModelLineage.objects.filter(base__in=queryset).values_list("model_id", flat=True))
        super().delete_queryset(request, queryset)
        services.schedule_compliance(derivatives)


class DatasetComplianceAdminMixin:
    """For DatasetAdmin: models trained on the dataset (before and after the change) are re-analysed."""

    def save_related(self, request, form, formsets, change) -> None:
        obj = form.instance
        before = list(obj.model_links.values_list("model_id", flat=True)) if change else []
        super().save_related(request, form, formsets, change)
        services.schedule_compliance_for_datasets([obj.pk])
        services.schedule_compliance(before)

    def delete_model(self, request, obj) -> None:
        users = list(obj.model_links.values_list("model_id", flat=True))
        super().delete_model(request, obj)
        services.schedule_compliance(users)


class EdgeComplianceAdminMixin:
    """For ModelLineageAdmin and ModelDatasetAdmin: the model at the derived end of the edge is re-analysed."""

    def save_model(self, request, obj, form, change) -> None:
        previous = type(obj).objects.filter(pk=obj.pk).values_list("model_id", flat=True).first() if change else None
        super().save_model(request, obj, form, change)
        services.schedule_compliance([obj.model_id, previous])

    def delete_model(self, request, obj) -> None:
        model_id = obj.model_id
        super().delete_model(request, obj)
        services.schedule_compliance([model_id])

    def delete_queryset(self, request, queryset) -> None:
        model_ids = list(queryset.values_list("model_id", flat=True))
        super().delete_queryset(request, queryset)
        services.schedule_compliance(model_ids)
