from django.contrib import admin

from agent.models import AgentQuery
from openmodelhub.admin import ReadOnlyAdmin


@admin.register(AgentQuery)
class AgentQueryAdmin(ReadOnlyAdmin):
    """The agent's log, read-only: it is evidence, like the audit trail."""

    list_display = (
        "id",
        "created_at",
        "user",
        "short_question",
        "entity_type",
        "status",
        "error_code",
        "row_count",
        "duration_ms",
    )
    list_filter = ("status", "error_code", "entity_type", "created_at")
    list_select_related = ("user",)
    search_fields = ("question", "sql", "user__username")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AgentQuery._meta.fields]

    @admin.display(description="question")
    def short_question(self, obj: AgentQuery) -> str:
        return obj.question[:80]
