from django.contrib import admin
from django.core.exceptions import PermissionDenied

from accounts import audit
from catalog import cache_scopes
from catalog.discovery import evaluations
from catalog.models import (
    CNNDetails,
    CNNModule,
    Dataset,
    DatasetFile,
    DatasetRelationship,
    DatasetRelationshipColumnLink,
    Domain,
    EvaluationResult,
    FileColumn,
    FileVersion,
    MediaType,
    MLModel,
    ModelDataset,
    ModelLineage,
    RepoFile,
    RNNDetails,
    Task,
    TransformerDetails,
)
from licensing.admin import (
    DatasetComplianceAdminMixin,
    EdgeComplianceAdminMixin,
    HasViolationsFilter,
    ModelComplianceAdminMixin,
    reanalyse_license,
)
from licensing.services import complete_license_fields, expression_of
from openmodelhub.admin import CountColumnsMixin, ReadOnlyAdmin, ReadOnlyInline


# --- Vocabularies ---------------------------------------------------------------------------


@admin.register(MediaType)
class MediaTypeAdmin(CountColumnsMixin, admin.ModelAdmin):
    list_display = ["slug", "model_count", "dataset_count"]
    search_fields = ["slug"]
    count_columns = {
        "model_count": ("models", MLModel.media.through, "mediatype"),
        "dataset_count": ("datasets", Dataset.media.through, "mediatype"),
    }


@admin.register(Task)
class TaskAdmin(CountColumnsMixin, admin.ModelAdmin):
    list_display = ["slug", "name", "modality", "model_count", "dataset_count"]
    list_filter = ["modality"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    count_columns = {
        "model_count": ("models", MLModel.tasks.through, "task"),
        "dataset_count": ("datasets", Dataset.tasks.through, "task"),
    }


@admin.register(Domain)
class DomainAdmin(CountColumnsMixin, admin.ModelAdmin):
    list_display = ["slug", "name", "dataset_count"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    count_columns = {"dataset_count": ("datasets", Dataset.domains.through, "domain")}


def resolve_declared_license(asset, changed: list[str]) -> None:
    """The licence and declared string as the API completes them (licensing.services.complete_license_fields):
    a declared string entered without choosing the licence is resolved. A licence chosen by hand for the
    declared string already there (a curator resolving what the resolver did not) keeps that string."""
    given = {name: getattr(asset, name) for name in ("license", "license_declared") if name in changed}
    if given.keys() == {"license"} and asset.license_declared:
        return
    for name, value in complete_license_fields(given).items():
        setattr(asset, name, value)
    asset.license_expression = expression_of(asset.license, asset.license_declared)


class AuditedAssetAdmin(admin.ModelAdmin):
    """Creating, changing (visibility included) and deleting a model or dataset here is audited.
    Visibility changes and deletion need the manage level (accounts.models.Permission), as on the
    pages and in the API; the admin's users (admins, curators) hold it on every asset."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or obj.is_manageable_by(request.user))

    def save_model(self, request, obj, form, change) -> None:
        before = type(obj).objects.filter(pk=obj.pk).values_list("visibility", flat=True).first() if change else None
        if change and before != obj.visibility and not obj.is_manageable_by(request.user):
            raise PermissionDenied("Changing the visibility needs the manage permission.")
        resolve_declared_license(obj, form.changed_data)
        super().save_model(request, obj, form, change)
        audit.record(
            "asset.update" if change else "asset.create",
            actor=request.user,
            target=obj,
            request=request,
            details={"name": obj.full_name, "fields": form.changed_data},
        )
        if change and before != obj.visibility:
            audit.record(
                "asset.visibility",
                actor=request.user,
                target=obj,
                request=request,
                details={"name": obj.full_name, "from": before, "to": obj.visibility},
            )
        if change and (before != obj.visibility or "owner" in form.changed_data):
            cache_scopes.bump_generation()  # cached insights and facet counts follow who may see it

    def delete_model(self, request, obj) -> None:
        audit.record("asset.delete", actor=request.user, target=obj, request=request, details={"name": obj.full_name})
        super().delete_model(request, obj)
        cache_scopes.bump_generation()

    def delete_queryset(self, request, queryset) -> None:
        if queryset.exclude(pk__in=queryset.model.objects.manageable_by(request.user).values("pk")).exists():
            raise PermissionDenied("Deleting needs the manage permission on every selected asset.")
        for obj in queryset.select_related("owner"):
            audit.record(
                "asset.delete", actor=request.user, target=obj, request=request, details={"name": obj.full_name}
            )
        super().delete_queryset(request, queryset)
        cache_scopes.bump_generation()


# --- Models ---------------------------------------------------------------------------------


class TransformerInline(admin.StackedInline):
    model = TransformerDetails
    can_delete = True
    extra = 0


class CNNInline(admin.StackedInline):
    model = CNNDetails
    extra = 0
    show_change_link = True  # the modules are edited on the CNN details page


class RNNInline(admin.StackedInline):
    model = RNNDetails
    extra = 0


class BaseModelInline(admin.TabularInline):
    model = ModelLineage
    fk_name = "model"
    verbose_name = "base model"
    verbose_name_plural = "base models (this model derives from)"
    autocomplete_fields = ["base"]
    extra = 0


class DerivativeInline(admin.TabularInline):
    model = ModelLineage
    fk_name = "base"
    verbose_name = "derivative"
    verbose_name_plural = "derivatives (models derived from this one)"
    autocomplete_fields = ["model"]
    extra = 0


class ModelDatasetInline(admin.TabularInline):
    model = ModelDataset
    autocomplete_fields = ["dataset"]
    extra = 0


@admin.register(MLModel)
class MLModelAdmin(CountColumnsMixin, ModelComplianceAdminMixin, AuditedAssetAdmin):
    list_display = [
        "__str__",
        "architecture_family",
        "training_type",
        "parameter_count",
        "license",
        "visibility",
        "base_count",
        "derivative_count",
        "dataset_count",
        "downloads",
        "updated_at",
    ]
    list_filter = [
        "architecture_family",
        "training_type",
        "visibility",
        "media",
        "license__category",
        "tasks",
        "release_date",
        HasViolationsFilter,
    ]
    actions = [reanalyse_license]
    list_select_related = ["owner", "license"]
    search_fields = ["name", "owner__username", "architecture_name", "card"]
    autocomplete_fields = ["owner", "license", "tasks", "media", "authors"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "created_at"
    inlines = [TransformerInline, CNNInline, RNNInline, BaseModelInline, DerivativeInline, ModelDatasetInline]
    fieldsets = [
        (None, {"fields": ["owner", "name", "visibility", "card"]}),
        ("Classification", {"fields": ["media", "tasks", "training_type", "architecture_family", "architecture_name"]}),
        ("Size, release and licence", {"fields": ["parameter_count", "release_date", "license", "license_declared"]}),
        ("People and activity", {"fields": ["authors", "downloads", "likes", "created_at", "updated_at"]}),
    ]
    count_columns = {
        "base_count": ("bases", ModelLineage, "model"),
        "derivative_count": ("derivatives", ModelLineage, "base"),
        "dataset_count": ("datasets", ModelDataset, "model"),
    }


class CNNModuleInline(admin.TabularInline):
    model = CNNModule
    extra = 0
    ordering = ["position"]


@admin.register(CNNDetails)
class CNNDetailsAdmin(CountColumnsMixin, admin.ModelAdmin):
    list_display = ["model", "module_count", "modules_recorded"]
    list_select_related = ["model__owner"]
    search_fields = ["model__name", "model__owner__username"]
    autocomplete_fields = ["model"]
    inlines = [CNNModuleInline]
    count_columns = {"modules_recorded": ("modules recorded", CNNModule, "cnn")}


@admin.register(TransformerDetails)
class TransformerDetailsAdmin(admin.ModelAdmin):
    list_display = ["model", "decoder_count", "attention_size", "up_size", "down_size", "embedding_size"]
    list_select_related = ["model__owner"]
    search_fields = ["model__name", "model__owner__username"]
    autocomplete_fields = ["model"]


@admin.register(RNNDetails)
class RNNDetailsAdmin(admin.ModelAdmin):
    list_display = ["model", "criterion", "batch_size", "input_size"]
    list_filter = ["criterion"]
    list_select_related = ["model__owner"]
    search_fields = ["model__name", "model__owner__username", "criterion"]
    autocomplete_fields = ["model"]


@admin.register(CNNModule)
class CNNModuleAdmin(admin.ModelAdmin):
    list_display = ["cnn", "position", "conv_size", "pooling_type"]
    list_filter = ["pooling_type"]
    list_select_related = ["cnn__model__owner"]
    search_fields = ["cnn__model__name"]
    autocomplete_fields = ["cnn"]


@admin.register(ModelLineage)
class ModelLineageAdmin(EdgeComplianceAdminMixin, admin.ModelAdmin):
    list_display = ["model", "relation", "base", "created_at"]
    list_filter = ["relation"]
    list_select_related = ["model__owner", "base__owner"]
    search_fields = ["model__name", "base__name", "model__owner__username", "base__owner__username"]
    autocomplete_fields = ["model", "base"]


@admin.register(ModelDataset)
class ModelDatasetAdmin(EdgeComplianceAdminMixin, admin.ModelAdmin):
    list_display = ["model", "role", "dataset"]
    list_filter = ["role"]
    list_select_related = ["model__owner", "dataset__owner"]
    search_fields = ["model__name", "dataset__name"]
    autocomplete_fields = ["model", "dataset"]


# --- Datasets -------------------------------------------------------------------------------


class DatasetFileInline(admin.TabularInline):
    model = DatasetFile
    fields = ["path", "logical_role", "format", "mime_type", "size_bytes", "row_count"]
    show_change_link = True  # the columns are edited on the file's page
    extra = 0


class DatasetRelationshipInline(admin.TabularInline):
    model = DatasetRelationship
    fields = ["from_file", "relationship_type", "to_file", "description"]
    show_change_link = True  # the column links are edited on the relationship's page
    extra = 0

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in ("from_file", "to_file"):
            dataset_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = (
                DatasetFile.objects.filter(dataset_id=dataset_id) if dataset_id else DatasetFile.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class UsedByModelInline(admin.TabularInline):
    model = ModelDataset
    autocomplete_fields = ["model"]
    verbose_name_plural = "models using this dataset"
    extra = 0


@admin.register(Dataset)
class DatasetAdmin(CountColumnsMixin, DatasetComplianceAdminMixin, AuditedAssetAdmin):
    list_display = [
        "__str__",
        "year",
        "instances_number",
        "license",
        "visibility",
        "file_count",
        "model_count",
        "downloads",
        "updated_at",
    ]
    list_filter = [
        "visibility",
        "media",
        "license__category",
        "tasks",
        "domains",
        "has_missing_values",
        "split",
        *Dataset.ETHICS_FLAGS,
    ]
    list_select_related = ["owner", "license"]
    search_fields = ["name", "owner__username", "objective", "card"]
    autocomplete_fields = ["owner", "license", "tasks", "media", "domains", "authors"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "created_at"
    inlines = [DatasetFileInline, DatasetRelationshipInline, UsedByModelInline]
    fieldsets = [
        (None, {"fields": ["owner", "name", "visibility", "card", "license", "license_declared", "authors"]}),
        ("Identification", {"fields": list(Dataset.IDENTIFICATION_FIELDS)}),
        ("Technical characteristics", {"fields": ["media", "tasks", "domains", *Dataset.TECHNICAL_FIELDS]}),
        ("Ethics", {"fields": [*Dataset.ETHICS_FLAGS, "data_errors_description"]}),
        ("Activity", {"fields": ["downloads", "likes", "created_at", "updated_at"]}),
    ]
    count_columns = {
        "file_count": ("files", DatasetFile, "dataset"),
        "model_count": ("models", ModelDataset, "dataset"),
    }


class FileColumnInline(admin.TabularInline):
    model = FileColumn
    fields = [
        "position",
        "name",
        "data_type_original",
        "data_type_interpreted",
        "is_primary_key_component",
        "is_nullable",
        "is_pii",
        "example_values",
        "stats",
    ]
    extra = 0
    ordering = ["position"]


@admin.register(DatasetFile)
class DatasetFileAdmin(CountColumnsMixin, admin.ModelAdmin):
    list_display = ["path", "dataset", "logical_role", "format", "size_bytes", "row_count", "column_count"]
    list_filter = ["format", "logical_role"]
    list_select_related = ["dataset__owner"]
    search_fields = ["path", "dataset__name", "dataset__owner__username"]
    autocomplete_fields = ["dataset"]
    inlines = [FileColumnInline]
    count_columns = {"column_count": ("columns", FileColumn, "dataset_file")}


@admin.register(FileColumn)
class FileColumnAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset_file", "position", "data_type_original", "data_type_interpreted", "is_pii"]
    list_filter = ["is_pii", "data_type_interpreted", "is_primary_key_component", "is_nullable"]
    list_select_related = ["dataset_file__dataset__owner"]
    search_fields = ["name", "dataset_file__path", "dataset_file__dataset__name"]
    autocomplete_fields = ["dataset_file"]


class ColumnLinkInline(admin.TabularInline):
    model = DatasetRelationshipColumnLink
    autocomplete_fields = ["from_column", "to_column"]
    extra = 0
    ordering = ["link_order"]


@admin.register(DatasetRelationship)
class DatasetRelationshipAdmin(CountColumnsMixin, admin.ModelAdmin):
    list_display = ["__str__", "dataset", "relationship_type", "link_count"]
    list_filter = ["relationship_type"]
    list_select_related = ["dataset__owner", "from_file", "to_file"]
    search_fields = ["dataset__name", "from_file__path", "to_file__path"]
    autocomplete_fields = ["dataset", "from_file", "to_file"]
    inlines = [ColumnLinkInline]
    count_columns = {"link_count": ("column links", DatasetRelationshipColumnLink, "relationship")}


@admin.register(DatasetRelationshipColumnLink)
class DatasetRelationshipColumnLinkAdmin(admin.ModelAdmin):
    list_display = ["relationship", "link_order", "from_column", "to_column"]
    list_select_related = ["relationship__from_file", "relationship__to_file", "from_column", "to_column"]
    search_fields = ["from_column__name", "to_column__name", "relationship__dataset__name"]
    autocomplete_fields = ["relationship", "from_column", "to_column"]


# --- Files ----------------------------------------------------------------------------------


class FileVersionInline(ReadOnlyInline):
    model = FileVersion
    fields = ["number", "status", "reason", "size", "sha256", "kind", "uploaded_by", "created_at"]
    ordering = ["-number"]
    show_change_link = True


@admin.register(RepoFile)
class RepoFileAdmin(CountColumnsMixin, admin.ModelAdmin):
    """Paths of models' and datasets' repositories; versions are immutable (upload through the pages or API)."""

    list_display = ["path", "model", "dataset", "version_count", "created_at", "deleted_at"]
    list_filter = [("deleted_at", admin.EmptyFieldListFilter)]
    list_select_related = ["model__owner", "dataset__owner"]
    search_fields = ["path", "model__name", "dataset__name"]
    readonly_fields = ["model", "dataset", "path", "created_at"]
    inlines = [FileVersionInline]

    def has_add_permission(self, request) -> bool:
        return False

    count_columns = {"version_count": ("versions", FileVersion, "file")}


@admin.register(FileVersion)
class FileVersionAdmin(admin.ModelAdmin):
    list_display = ["file", "number", "status", "size", "kind", "key_id", "uploaded_by", "created_at"]
    list_filter = ["status", "kind", "key_id"]
    list_select_related = ["file__model__owner", "file__dataset__owner", "uploaded_by"]
    search_fields = ["file__path", "sha256", "file__model__name", "file__dataset__name"]
    exclude = ["wrapped_key", "nonce_prefix"]
    actions = ["rerun_pipeline"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return [f.name for f in FileVersion._meta.fields if f.name not in ("wrapped_key", "nonce_prefix")]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Re-run the pipeline for pending versions (re-scan)")
    def rerun_pipeline(self, request, queryset) -> None:
        from catalog.tasks import process_file_version

        pending = list(queryset.filter(status=FileVersion.Status.PENDING).values_list("pk", flat=True))
        for pk in pending:
            process_file_version.delay(pk)
        self.message_user(request, f"Queued {len(pending)} pending versions; ready and rejected ones are final.")


from catalog.models import Commit, CommitChange  # noqa: E402  (revisions: kept together below)


class CommitChangeInline(ReadOnlyInline):
    model = CommitChange
    fields = ["path", "version"]


@admin.register(Commit)
class CommitAdmin(ReadOnlyAdmin):
    """Read-only: history is written by catalog.revisions.commit_changes only."""

    list_display = ["short_oid", "number", "model", "dataset", "author_name", "message", "created_at"]
    list_select_related = ["model__owner", "dataset__owner"]
    search_fields = ["oid", "message", "author_name"]
    inlines = [CommitChangeInline]


# --- Evaluation results ---------------------------------------------------------------------


@admin.register(EvaluationResult)
class EvaluationResultAdmin(admin.ModelAdmin):
    """Curation of evaluation results; saving and deleting go through catalog.discovery.evaluations
    (audited, write permission on the model)."""

    list_display = ["model", "dataset", "split", "metric", "value", "source", "evaluated_on", "updated_at"]
    list_filter = ["source", "split", "higher_is_better", "metric"]
    list_select_related = ["model__owner", "dataset__owner"]
    search_fields = ["model__name", "model__owner__username", "dataset__name", "dataset__owner__username", "metric"]
    autocomplete_fields = ["model", "dataset"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    date_hierarchy = "updated_at"

    def save_model(self, request, obj, form, change) -> None:
        fields = form.changed_data if change else list(form.cleaned_data)
        data = {name: form.cleaned_data[name] for name in fields if name in form.cleaned_data}
        current = EvaluationResult.objects.get(pk=obj.pk) if change else None
        saved = evaluations.save_result(user=request.user, data=data, result=current, request=request)
        obj.pk = saved.pk

    def delete_model(self, request, obj) -> None:
        evaluations.delete_result(user=request.user, result=obj, request=request)

    def delete_queryset(self, request, queryset) -> None:
        for result in queryset.select_related("model__owner", "dataset__owner"):
            evaluations.delete_result(user=request.user, result=result, request=request)
