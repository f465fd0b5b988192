import json
from pathlib import Path

from django.contrib.auth.models import AnonymousUser
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from accounts.models import User
from catalog.croissant.exporting import export_dataset
from catalog.models import Dataset


class Command(BaseCommand):
    help = (
        "Write datasets as Croissant 1.1 JSON-LD with the RAI fields (docs/croissant.md), as the REST API serves "
        "them at /api/v1/datasets/OWNER/NAME/croissant. Only datasets --as USER may see are exported (default: "
        "an anonymous visitor, i.e. public datasets); a hidden or missing one is an error. One dataset goes to "
        "standard output or --out FILE; several (or --all) need --out DIR and are written as DIR/OWNER/NAME.json."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("datasets", nargs="*", metavar="OWNER/NAME", help="datasets to export")
        parser.add_argument("--all", action="store_true", help="every dataset --as USER may see")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME", help="export what this user may see")
        parser.add_argument("--out", type=Path, help="output file (one dataset) or folder (several)")
        parser.add_argument(
            "--base-url",
            default="http://localhost:8000",
            help="scheme and host of the hub, for the download and page URLs (default: %(default)s)",
        )

    def handle(self, *args, datasets: list[str], all: bool, as_user, out: Path | None, base_url: str, **options):
        if not base_url.startswith(("http://", "https://")):
            raise CommandError("--base-url must start with http:// or https://.")
        viewer = AnonymousUser()
        if as_user:
            viewer = User.objects.filter(username=as_user).first()
            if viewer is None:
                raise CommandError(f"--as: no user {as_user!r}.")
        if all == bool(datasets):
            raise CommandError("Name datasets as OWNER/NAME, or give --all (not both).")
        chosen = self._chosen(datasets, viewer) if datasets else list(Dataset.objects.visible_to(viewer))
        if len(chosen) == 1 and not all and (out is None or not out.is_dir()):
            text = json.dumps(export_dataset(chosen[0], base_url=base_url), indent=1, ensure_ascii=False) + "\n"
            if out is None:
                self.stdout.write(text, ending="")
            else:
                out.write_text(text, encoding="utf-8")
                self.stderr.write(f"wrote {out}")
            return
        if out is None:
            raise CommandError("Several datasets: give --out DIR.")
        for dataset in chosen:
            target = out / dataset.owner.username / f"{dataset.name}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            doc = export_dataset(dataset, base_url=base_url)
            target.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        self.stdout.write(f"wrote {len(chosen)} Croissant file(s) under {out}")

    def _chosen(self, names: list[str], viewer) -> list[Dataset]:
        chosen = []
        for full_name in names:
            try:
                chosen.append(Dataset.objects.named(full_name, user=viewer))
            except Http404:
                raise CommandError(f"{full_name}: no such dataset (or not visible to this user).") from None
        return chosen
