from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


def _drop_search_triggers(sender, using, plan=None, **kwargs) -> None:
    """SQLite cannot rename a rebuilt table while a trigger names a missing one (catalog.fts)."""
    from django.db import connections

    from catalog import fts

    if plan:
        fts.drop(connections[using], tables=False)


def _ensure_search_tables(sender, using, **kwargs) -> None:
    from django.db import connections

    from catalog import fts

    fts.ensure(connections[using])


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from catalog import response_cache

        response_cache.install()  # every write of this process retires the cached API answers
        pre_migrate.connect(_drop_search_triggers, sender=self, dispatch_uid="catalog-fts-drop")
        post_migrate.connect(_ensure_search_tables, sender=self, dispatch_uid="catalog-fts")
