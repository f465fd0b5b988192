from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet

from accounts.models import Affiliation, User
from catalog.admin import count_of
from catalog.models import Dataset, MLModel


@admin.register(Affiliation)
class AffiliationAdmin(admin.ModelAdmin):
    list_display = ["name", "member_count", "created_at"]
    search_fields = ["name"]

    def get_queryset(self, request) -> QuerySet:
        return super().get_queryset(request).annotate(n_members=count_of(User.affiliations.through, "affiliation"))

    @admin.display(ordering="n_members", description="members")
    def member_count(self, obj) -> int:
        return obj.n_members


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "role", "is_active", "model_count", "dataset_count", "last_login", "date_joined"]
    list_filter = ["role", "is_active", "affiliations"]
    search_fields = ["username", "email", "first_name", "last_name"]
    autocomplete_fields = ["affiliations"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name", "email", "affiliations"]}),
        ("Role", {"fields": ["role", "is_active"], "description": "Admins manage everything; curators edit the catalogue."}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["username", "email", "role", "password1", "password2"]})]
    readonly_fields = ["last_login", "date_joined"]

    def get_queryset(self, request) -> QuerySet:
        return super().get_queryset(request).annotate(
            n_models=count_of(MLModel, "owner"), n_datasets=count_of(Dataset, "owner")
        )

    @admin.display(ordering="n_models", description="models")
    def model_count(self, obj) -> int:
        return obj.n_models

    @admin.display(ordering="n_datasets", description="datasets")
    def dataset_count(self, obj) -> int:
        return obj.n_datasets
