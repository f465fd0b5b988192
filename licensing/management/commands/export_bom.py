import json
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from licensing import bom
from licensing.management.commands._common import Operator, model_by_name


class Command(BaseCommand):
    help = (
        "Export a model's AI bill of materials — its ancestry, training and evaluation datasets, licences and "
        "file hashes — as SPDX 3.0 JSON-LD (AI and Dataset profiles) or CycloneDX 1.6 (ML-BOM)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("model", metavar="OWNER/NAME")
        parser.add_argument("--format", choices=bom.FORMATS, default="spdx")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, model: str, format: str, output: str | None, **options) -> None:
        target = model_by_name(model)
        text = json.dumps(bom.export(target, format, viewer=Operator()), indent=2, ensure_ascii=False)
        if not output:
            self.stdout.write(text)
            return
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(f"no such directory: {path.parent}", returncode=2)
        # Write beside the target and rename, so a failure never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise CommandError(f"cannot write {path}: {exc}", returncode=2) from None
        self.stdout.write(f"wrote {format} BOM of {target.full_name} to {path}")
