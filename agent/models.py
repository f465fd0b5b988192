"""The agent's log: every question asked, the SQL tried, the outcome and how long it took."""

from django.conf import settings
from django.db import models
from django.urls import reverse


class ErrorCode(models.IntegerChoices):
    OK = 0, "Success"
    NOT_CONFIGURED = 1, "Agent not configured"
    LLM_FAILURE = 2, "Language model failure"
    REJECTED = 3, "SQL rejected"
    EXECUTION_ERROR = 4, "Execution error"
    TIMEOUT = 5, "Timeout"
    INTERNAL_ERROR = 6, "Internal error"


class EntityType(models.TextChoices):
    ANY = "", "Anything"
    MODEL = "model", "Models"
    DATASET = "dataset", "Datasets"
    USER = "user", "Users"
    AFFILIATION = "affiliation", "Affiliations"


class AgentQueryQuerySet(models.QuerySet):
    def asked_by(self, user) -> "AgentQueryQuerySet":
        if not (user and user.is_authenticated):
            return self.none()
        return self.filter(user=user)


class AgentQuery(models.Model):
    ErrorCode = ErrorCode
    EntityType = EntityType

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="agent_queries"
    )
    question = models.TextField()
    entity_type = models.CharField(max_length=16, choices=EntityType.choices, blank=True, default="")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    error_code = models.SmallIntegerField(choices=ErrorCode.choices, null=True, blank=True, db_index=True)
    message = models.TextField(blank=True, help_text="Why it failed, when it did.")
    sql = models.TextField(blank=True, help_text="The last SQL the model wrote.")
    executed_sql = models.TextField(blank=True, help_text="That SQL as executed: guarded and filtered for the user.")
    attempts = models.JSONField(default=list, blank=True, help_text="Each attempt: SQL and error.")
    columns = models.JSONField(default=list, blank=True)
    rows = models.JSONField(default=list, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    llm_model = models.CharField(max_length=200, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = AgentQueryQuerySet.as_manager()

    class Meta:
        verbose_name = "agent query"
        verbose_name_plural = "agent queries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "running", "done"]), name="agentquery_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.question[:60]}"

    def get_absolute_url(self) -> str:
        return reverse("agent:query-detail", kwargs={"pk": self.pk})

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def succeeded(self) -> bool:
        return self.is_done and self.error_code == ErrorCode.OK
