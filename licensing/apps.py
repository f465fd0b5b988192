from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing"

    def ready(self) -> None:
        from licensing.models import License, LicenseAlias
        from licensing.services import forget_knowledge

        # The per-process knowledge base (services.known_aliases) follows every saved or deleted licence
        # and alias, whichever door wrote it (admin, load_records, the API); bulk writes call it themselves.
        for sender in (License, LicenseAlias):
            post_save.connect(forget_knowledge, sender=sender, dispatch_uid=f"knowledge-save-{sender.__name__}")
            post_delete.connect(forget_knowledge, sender=sender, dispatch_uid=f"knowledge-delete-{sender.__name__}")
