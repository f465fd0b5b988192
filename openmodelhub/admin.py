"""Admin pieces every app uses: count columns on changelists and read-only admins."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce


def count_of(model, fk: str) -> Coalesce:
    """A correlated COUNT subquery: cheaper than JOIN + GROUP BY on a long changelist."""
    counts = model.objects.filter(**{fk: OuterRef("pk")}).order_by().values(fk).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def _count_column(annotation: str, description: str):
    @admin.display(ordering=annotation, description=description)
    def column(self, obj) -> int:
        return getattr(obj, annotation)

    return column


class CountColumnsMixin:
    """Sortable changelist columns counting related rows. ``count_columns`` maps a column name (used in
    ``list_display``) to (heading, related model, its foreign key to this one)."""

    count_columns: dict[str, tuple[str, type, str]] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for column, (description, _, _) in cls.count_columns.items():
            setattr(cls, column, _count_column(f"n_{column}", description))

    def get_queryset(self, request) -> QuerySet:
        counts = {f"n_{column}": count_of(model, fk) for column, (_, model, fk) in self.count_columns.items()}
        return super().get_queryset(request).annotate(**counts)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse and filter, never add, change or delete: records that are evidence (audit trail, logs) or
    written only by a service."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """An inline that lists rows without adding or deleting any (set ``fields``; they are shown read-only)."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return list(self.fields or [])

    def has_add_permission(self, request, obj=None) -> bool:
        return False
