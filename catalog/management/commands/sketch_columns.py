"""Keep the value sketches (union/join search, catalog.discovery.data) of files profiled before they were kept."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from catalog.discovery import data as data_discovery
from catalog.inspection import Rejected
from openmodelhub.progress import progress


class Command(BaseCommand):
    help = (
        "Compute the MinHash value sketch of every column of the profiled dataset files (CSV, TSV, JSON Lines, "
        "Parquet) that lack one, by profiling the stored file again; union/join search (related files) compares "
        "these sketches. Only the sketches are written. Files described by metadata alone (no stored file) are "
        "skipped. Safe to run again: files whose columns all have a sketch are skipped unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="recompute the sketches of every profiled file")
        parser.add_argument(
            "--dry-run", action="store_true", help="count the files that would be profiled, write nothing"
        )

    def handle(self, *args, force: bool, dry_run: bool, **options):
        verbosity = options["verbosity"]
        todo = list(data_discovery.unsketched_files(force=force))
        if dry_run:
            self.stdout.write(f"{len(todo)} profiled file(s) to sketch; nothing written (--dry-run).")
            return
        sketched = columns = metadata_only = failed = 0
        with progress(len(todo), "files", stdout=self.stdout, verbosity=verbosity) as bar:
            for dataset_file in todo:
                try:
                    done = data_discovery.sketch_file(dataset_file)
                except Rejected as exc:
                    failed += 1
                    self.stderr.write(f"{dataset_file}: not profiled again: {exc}")
                    done = 0
                if done is None:
                    metadata_only += 1
                elif done:
                    sketched, columns = sketched + 1, columns + done
                bar.advance()
        if verbosity:
            self.stdout.write(
                f"{sketched} file(s) sketched ({columns} columns); {metadata_only} without a stored file skipped"
                + (f"; {failed} could not be profiled" if failed else "")
            )
        if failed:
            raise CommandError(f"{failed} file(s) could not be profiled again (named above)")
