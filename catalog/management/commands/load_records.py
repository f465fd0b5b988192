from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.records import DEFAULT_OWNER, RecordError, load_records, read_records
from openmodelhub.progress import progress


class Command(BaseCommand):
    help = (
        "Load catalogue records (affiliations, users, licences, tasks, datasets, models, lineage) from a JSON "
        "file in the project's format (docs/records-format.md) or the original OpenModelHub records format. "
        "All or nothing: on bad input nothing is written and the command exits 1 naming the record and field. "
        "Loading the same file again creates no duplicates and never overwrites what was edited since it was "
        "loaded (models, datasets, licences, tasks, users, affiliations already present are kept and the edited "
        "ones listed) unless --update is given. Task names are mapped onto the task table with a synonyms file "
        "(--task-synonyms; the mappings applied are listed). Shows progress: a bar on a terminal, a line every "
        "OMH_PROGRESS_SECONDS otherwise, nothing with --verbosity 0."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="JSON records file")
        parser.add_argument("--dry-run", action="store_true", help="check and count everything, write nothing")
        parser.add_argument(
            "--update",
            action="store_true",
            help="overwrite records already present, including those edited since they were loaded",
        )
        parser.add_argument(
            "--owner",
            default=DEFAULT_OWNER,
            help=f"owner of original-format records without a namespace (default: {DEFAULT_OWNER}; created if missing)",
        )
        parser.add_argument(
            "--task-synonyms",
            metavar="PATH",
            default=None,
            help="task synonyms file (default: OMH_TASK_SYNONYMS, fixtures/task_synonyms.json; '' for no mapping)",
        )

    def handle(self, *args, path: Path, dry_run: bool, owner: str, update: bool, **options) -> None:
        verbosity = options["verbosity"]
        try:
            data = read_records(path)
            with progress(None, "records", stdout=self.stdout, verbosity=verbosity) as bar:
                report = load_records(
                    data,
                    default_owner=owner,
                    dry_run=dry_run,
                    update=update,
                    progress=bar,
                    task_synonyms=options["task_synonyms"],
                )
        except RecordError as exc:
            where = "" if exc.where == str(path) else f"{path}: "
            raise CommandError(f"{where}{str(exc).rstrip('.')}. Nothing was written.") from None
        if verbosity >= 1:  # --verbosity 0: only the warnings
            self._summary(report, path, dry_run)
        if report.kept:
            self.stdout.write(
                self.style.WARNING(
                    f"  kept {len(report.kept)} records edited since they were loaded, or not loaded by this command "
                    f"(--update overwrites them): "
                    + "; ".join(report.kept[:10])
                    + (f"; and {len(report.kept) - 10} more" if len(report.kept) > 10 else "")
                )
            )
        if not dry_run and verbosity >= 1:
            self.stdout.write(self.style.SUCCESS("Done."))

    def _summary(self, report, path: Path, dry_run: bool) -> None:
        prefix = "Dry run, nothing written. Would have" if dry_run else "Loaded"
        self.stdout.write(f"{prefix} from {path}:")
        for kind in sorted(set(report.created) | set(report.updated)):
            self.stdout.write(f"  {kind}: {report.created[kind]} created, {report.updated[kind]} already present")
        for line in report.renamed:
            self.stdout.write(f"  renamed duplicate {line}")
        if report.mapped_tasks:
            listed = ", ".join(
                f"{name!r} -> {slug} ({n})" for (name, slug), n in sorted(report.mapped_tasks.items(), key=_by_count)
            )
            self.stdout.write(f"  tasks mapped onto the task table ({report.task_synonyms_file}): {listed}")
        if report.unresolved_licenses:
            listed = ", ".join(f"{k!r} ({n})" for k, n in report.unresolved_licenses.most_common())
            self.stdout.write(f"  licences kept as declared but not recognised: {listed}")


def _by_count(item):
    (name, slug), n = item
    return (-n, name, slug)
