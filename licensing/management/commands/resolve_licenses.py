from django.core.management.base import BaseCommand

from licensing import services


class Command(BaseCommand):
    help = (
        "Resolve again the declared licence strings of models and datasets that the knowledge base did not "
        'recognise (no licence, or one whose terms are unknown such as "other"), after it grew: new licences '
        "or aliases from load_licenses, load_records or the admin. Changed models (and models trained on changed "
        "datasets) are re-analysed. load_licenses runs this at its end. Safe to run twice."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")

    def handle(self, *args, dry_run: bool, **options) -> None:
        models, datasets = services.reresolve_assets(dry_run=dry_run)
        prefix = "[dry run] would resolve" if dry_run else "resolved"
        self.stdout.write(f"{prefix} declared licences: {models} models, {datasets} datasets")
