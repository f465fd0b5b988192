from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Affiliation, ApiToken, AuditEvent, Grant, Invitation, User
from accounts.services import revoke_grant
from catalog.models import Dataset, MLModel
from openmodelhub.admin import CountColumnsMixin, ReadOnlyAdmin


@admin.register(Affiliation)
class AffiliationAdmin(CountColumnsMixin, admin.ModelAdmin):
    list_display = ["name", "member_count", "created_at"]
    search_fields = ["name"]
    count_columns = {"member_count": ("members", User.affiliations.through, "affiliation")}


@admin.register(User)
class UserAdmin(CountColumnsMixin, DjangoUserAdmin):
    list_display = [
        "username",
        "email",
        "role",
        "is_active",
        "model_count",
        "dataset_count",
        "last_login",
        "date_joined",
    ]
    list_filter = ["role", "is_active", "affiliations"]
    search_fields = ["username", "email", "first_name", "last_name"]
    autocomplete_fields = ["affiliations"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name", "email", "affiliations"]}),
        (
            "Role",
            {"fields": ["role", "is_active"], "description": "Admins manage everything; curators edit the catalogue."},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["username", "email", "role", "password1", "password2"]})]
    readonly_fields = ["last_login", "date_joined"]
    count_columns = {"model_count": ("models", MLModel, "owner"), "dataset_count": ("datasets", Dataset, "owner")}


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The trail is append-only: browse and filter, never edit (the database refuses it too)."""

    list_display = ["seq", "created_at", "actor_name", "action", "target_type", "target_id", "ip_address"]
    list_filter = ["action", "target_type", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["actor_name", "action", "target_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    ordering = ["-seq"]


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = ["__str__", "permission", "created_by", "created_at", "expires_at", "revoked_at"]
    list_filter = ["permission", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["model__owner", "dataset__owner", "user", "affiliation", "created_by"]
    search_fields = ["model__name", "dataset__name", "user__username", "affiliation__name"]
    autocomplete_fields = ["model", "dataset", "user", "affiliation", "created_by"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected grants")
    def revoke(self, request, queryset) -> None:
        for grant in queryset.filter(revoked_at__isnull=True):
            revoke_grant(by=request.user, grant=grant, request=request)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "permission", "status", "created_by", "created_at", "expires_at"]
    list_filter = ["permission"]
    list_select_related = ["model__owner", "dataset__owner", "invited_user", "created_by"]
    search_fields = ["email", "invited_user__username", "model__name", "dataset__name"]
    exclude = ["token_hash"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["name", "user", "prefix", "scope", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username"]
    exclude = ["token_hash"]
