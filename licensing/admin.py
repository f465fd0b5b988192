from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from catalog.models import Dataset, MLModel
from licensing import services
from licensing.models import ComplianceReport, License, LicenseAlias


def count_of(model, fk: str):
    """A correlated COUNT subquery (as catalog.admin's; not imported, since catalog.admin imports this module)."""
    counts = model.objects.filter(**{fk: OuterRef("pk")}).order_by().values(fk).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


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
        request, f"Re-analysed {analysed} model(s), including descendants; {violating} with violations.",
        messages.WARNING if violating else messages.SUCCESS,
    )


class LicenseAliasInline(admin.TabularInline):
    model = LicenseAlias
    extra = 0


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    list_display = ["key", "spdx_id", "name", "category", "is_agreement", "source", "model_count", "dataset_count"]
    list_filter = ["category", "is_agreement", "source", "commercial_use", "use_restrictions", "relicensing"]
    search_fields = ["key", "spdx_id", "name", "aliases__alias"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [LicenseAliasInline]

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

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change:  # terms changed: every model under it, or trained on a dataset under it, is re-analysed
            services.schedule_compliance(MLModel.objects.filter(license=obj).values_list("pk", flat=True))
            services.schedule_compliance_for_datasets(Dataset.objects.filter(license=obj).values_list("pk", flat=True))


@admin.register(ComplianceReport)
class ComplianceReportAdmin(admin.ModelAdmin):
    list_display = ["model", "has_violations", "violation_count", "warning_count", "obligation_count",
                    "ancestor_count", "dataset_count", "analysed_at"]
    list_filter = ["has_violations"]
    list_select_related = ["model__owner"]
    search_fields = ["model__name", "model__owner__username"]
    readonly_fields = [f.name for f in ComplianceReport._meta.fields]
    actions = ["reanalyse"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Re-analyse licence")
    def reanalyse(self, request, queryset) -> None:
        reanalyse_license(self, request, MLModel.objects.filter(pk__in=queryset.values("model_id")))
