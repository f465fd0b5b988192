from django.core.management.base import BaseCommand, CommandError

from licensing import services
from openmodelhub.progress import progress


class Command(BaseCommand):
    help = (
        "Load the licence knowledge base: the ScanCode licence database bundled in license-expression, "
        "enriched with ModelGo terms and curated model licences, plus aliases (SPDX ids, Hugging Face tags, "
        "names). Then resolves models and datasets whose licence is unset but declared. Safe to run twice: a "
        "licence edited since it was loaded is kept and listed, unless --update is given. Shows progress: a bar "
        "on a terminal, a line every OMH_PROGRESS_SECONDS otherwise, nothing with --verbosity 0."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")
        parser.add_argument(
            "--update",
            action="store_true",
            help="overwrite licences edited since they were loaded with the knowledge base's terms",
        )
        parser.add_argument(
            "--no-resolve", action="store_true", help="do not re-resolve the declared licences of models and datasets"
        )

    def handle(self, *args, dry_run: bool, no_resolve: bool, update: bool, **options) -> None:
        try:
            with progress(None, "licences", stdout=self.stdout, verbosity=options["verbosity"]) as bar:
                summary = services.load_license_base(
                    dry_run=dry_run, resolve_assets=not no_resolve, update=update, progress=bar
                )
        except ValueError as exc:  # unreadable or inconsistent data files: nothing was written
            raise CommandError(f"licence data is invalid, nothing was loaded: {exc}") from None
        for problem in summary.problems:
            self.stderr.write(self.style.WARNING(problem))
        prefix = "[dry run] would load" if dry_run else "loaded"
        verbose = options["verbosity"] >= 1
        if verbose:
            self.stdout.write(
                f"{prefix}: {summary.created} licences created, {summary.updated} updated, "
                f"{summary.unchanged} unchanged; {summary.aliases} aliases"
            )
        if summary.kept:
            listed = "; ".join(summary.kept[:10]) + (
                f"; and {len(summary.kept) - 10} more" if len(summary.kept) > 10 else ""
            )
            self.stdout.write(
                self.style.WARNING(
                    f"kept {len(summary.kept)} licences edited since they were loaded "
                    f"(--update overwrites them): {listed}"
                )
            )
        if verbose and not dry_run and not no_resolve:
            self.stdout.write(
                f"resolved declared licences: {summary.resolved_models} models, {summary.resolved_datasets} datasets"
            )
