from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from catalog.croissant.importing import CroissantError, dataset_name, import_document, read_document
from catalog.models import Visibility


class Command(BaseCommand):
    help = (
        "Create or update datasets from Croissant (MLCommons, 1.0 or 1.1) JSON-LD documents: a file, or every "
        "*.json under a folder. Each document becomes a dataset of --user (its name from the document's name), "
        "with its files as file records (nothing is downloaded), their columns and relationships, the RAI texts "
        "and the hub's own omh: fields (docs/croissant.md). Each document is one transaction: a bad one is "
        "reported naming the file and the property, nothing of it is written, the others still load, and the "
        "command exits 1. Loading the same document again updates the same dataset to the same rows (no duplicates)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="a Croissant JSON file, or a folder searched for *.json")
        parser.add_argument("--user", required=True, help="username that owns the datasets (and is audited)")
        parser.add_argument("--name", help="dataset name (a single file only; default: from the document)")
        parser.add_argument("--private", action="store_true", help="new datasets are private (default: public)")
        parser.add_argument("--dry-run", action="store_true", help="check everything, write nothing")

    def handle(self, *args, path: Path, user: str, name: str | None, private: bool, dry_run: bool, **options):
        actor = User.objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"--user: no user {user!r}.")
        if path.is_dir():
            sources = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not sources:
                raise CommandError(f"{path}: no *.json file in this folder.")
            if name:
                raise CommandError("--name names one dataset: give a single file.")
        elif path.is_file():
            sources = [path]
        else:
            raise CommandError(f"{path}: no such file or folder.")
        failures = self._load_all(sources, actor, name, Visibility.PRIVATE if private else None, dry_run)
        if failures:
            raise CommandError(f"{failures} of {len(sources)} document(s) not loaded (nothing of them was written).")

    def _load_all(self, sources: list[Path], actor, name, visibility, dry_run: bool) -> int:
        taken: dict[str, Path] = {}  # dataset name -> the document of this run that loaded it
        failures = 0
        for source in sources:
            fallback = source.parent.name if source.stem == "metadata" else source.stem
            try:
                doc = read_document(source)
                wanted = name or dataset_name(doc, fallback)
                if wanted in taken:  # two documents of one run never write the same dataset
                    self.stdout.write(
                        f"{source}: name {wanted!r} already loaded from {taken[wanted]}, using {fallback!r}"
                    )
                    wanted = fallback
                with transaction.atomic():
                    result = import_document(doc, user=actor, source=str(source), name=wanted, visibility=visibility)
                    if dry_run:
                        transaction.set_rollback(True)
            except CroissantError as exc:
                failures += 1
                self.stderr.write(f"{exc}")
                continue
            taken[wanted] = source
            self.stdout.write(("(dry run) " if dry_run else "") + result.summary())
        return failures
