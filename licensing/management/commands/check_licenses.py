import time

from django.core.management.base import BaseCommand, CommandError

from licensing import services
from licensing.management.commands._common import model_by_name
from openmodelhub.progress import progress


class Command(BaseCommand):
    help = (
        "Analyse the licence compliance of the whole catalogue (--all) or of the named models and store the "
        "results. Prints a summary; with --strict exits 1 when any model has a violation. Shows progress: a bar on a "
        "terminal, a line every OMH_PROGRESS_SECONDS otherwise, nothing with --verbosity 0."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("models", nargs="*", metavar="OWNER/NAME")
        parser.add_argument("--all", action="store_true", help="every model in the catalogue")
        parser.add_argument("--strict", action="store_true", help="exit 1 when a model has a violation")

    def handle(self, *args, models: list[str], all: bool, strict: bool, **options) -> None:
        if all == bool(models):
            raise CommandError("give either --all or one or more OWNER/NAME", returncode=2)
        ids = None if all else [model_by_name(name).pk for name in models]
        started = time.perf_counter()
        with progress(None, "models analysed", stdout=self.stdout, verbosity=options["verbosity"]) as bar:
            analysed, violating = services.analyse_models(ids, progress=bar)
        elapsed = time.perf_counter() - started
        if options["verbosity"] >= 1:
            self.stdout.write(f"analysed {analysed} models in {elapsed:.1f} s; {violating} with violations")
        if strict and violating:
            raise CommandError(f"{violating} model(s) with licence violations", returncode=1)
