from django.core.management.base import BaseCommand

from insights import selectors


class Command(BaseCommand):
    help = (
        "Compute every insights statistic for the shared scopes (admins and curators; anonymous visitors) "
        "into the cache, so that the next page view is warm. Safe to run any time (cron, Celery beat)."
    )

    def handle(self, *args, **options) -> None:
        for scope, seconds in selectors.warm_shared_scopes().items():
            self.stdout.write(f"{scope}: {seconds:.2f} s")
        self.stdout.write(self.style.SUCCESS(f"Cached for {selectors.cache_seconds()} s."))
