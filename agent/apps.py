from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AgentConfig(AppConfig):
    name = "agent"
    verbose_name = "Agent"

    def ready(self) -> None:
        from agent.readonly import setup_after_migrate

        # Keep the read-only PostgreSQL role's privileges in step with the tables after every migrate.
        post_migrate.connect(setup_after_migrate, sender=self, dispatch_uid="agent-reader-role")
