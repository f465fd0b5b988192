from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.discovery.timm import SETS, TimmError, import_timm_results
from openmodelhub.progress import progress

DEFAULT_DIR = settings.BASE_DIR.parent / "shared" / "data" / "timm-results"


class Command(BaseCommand):
    help = (
        "Import the timm result tables (PyTorch Image Models, Apache-2.0: results-imagenet.csv and the seven "
        "robustness sets) as evaluation results: creates the eight evaluation datasets <owner>/imagenet-1k ... "
        "and the models <owner>/<timm model name> that are missing, then top1 and top5 per model and set "
        "(split validation, source timm). Idempotent: a second run changes nothing and says so; results "
        "entered by hand are never overwritten. All or nothing: a bad row writes nothing and exits 1 "
        "naming the file and line. Run embed_assets afterwards for semantic search over the new models."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dir", type=Path, default=DEFAULT_DIR, help=f"folder of the timm tables (default: {DEFAULT_DIR})"
        )
        parser.add_argument("--owner", default="timm", help="owner of the datasets and models (default: timm)")
        parser.add_argument("--limit", type=int, help="only the first N models of results-imagenet.csv")
        parser.add_argument("--dry-run", action="store_true", help="check and count everything, write nothing")

    def handle(self, *args, dir: Path, owner: str, limit: int | None, dry_run: bool, **options) -> None:
        if limit is not None and limit < 1:
            raise CommandError("--limit must be 1 or more")
        verbosity = options["verbosity"]
        try:
            with progress(len(SETS) + 2, "timm tables", stdout=self.stdout, verbosity=verbosity) as bar:
                report = import_timm_results(dir, owner=owner, limit=limit, dry_run=dry_run, progress=bar.advance)
        except TimmError as exc:
            raise CommandError(f"{exc}. Nothing was written.") from None
        if verbosity < 1:
            return
        prefix = "Dry run, nothing written. Would have created" if dry_run else "Created"
        results = report.results
        self.stdout.write(
            f"{prefix} {report.datasets_created} datasets, {report.models_created} models "
            f"({report.models_present} already present), {results.created} results; "
            f"{results.updated} results updated, {results.unchanged} unchanged, "
            f"{results.kept} kept from another source."
        )
        if report.other_sizes:
            self.stdout.write(
                f"  {report.other_sizes} rows of models also measured at a smaller image size: "
                "the larger size is kept, as timm's model cards report."
            )
        if not report.changed:
            self.stdout.write("Nothing changed: everything was already imported.")
        elif not dry_run:
            self.stdout.write(self.style.SUCCESS("Done. Run embed_assets to index the new models for search."))
