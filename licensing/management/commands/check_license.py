import json

from django.core.management.base import BaseCommand, CommandError

from licensing import compliance, services
from licensing.management.commands._common import Operator, model_by_name
from licensing.models import Severity


class Command(BaseCommand):
    help = (
        "Analyse one model's licence compliance along its lineage and training datasets, store the result "
        "and print the findings. Exits 1 when there is a violation, 2 on bad input."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("model", metavar="OWNER/NAME")
        parser.add_argument("--purpose", choices=compliance.PURPOSES, help="may I use this model for this?")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, model: str, purpose: str | None, json: bool, **options) -> None:
        target = model_by_name(model)
        result = services.analyse_model(target.pk)
        shown = compliance.present(result.findings, result.verdicts, Operator(), purpose=purpose)
        if json:
            self.stdout.write(
                _json(
                    {
                        "model": target.full_name,
                        "license": target.license_declared or None,
                        "has_violations": result.has_violations,
                        **shown,
                    }
                )
            )
        else:
            self._print(target, result, shown, purpose)
        if result.has_violations:
            raise CommandError(
                f"{target.full_name}: {result.count(Severity.VIOLATION)} licence violation(s)", returncode=1
            )

    def _print(self, target, result, shown, purpose) -> None:
        lic = target.license.name if target.license else (target.license_declared or "none declared")
        self.stdout.write(
            f"{target.full_name} — licence: {lic}; {result.ancestor_count} ancestors, "
            f"{result.dataset_count} training datasets analysed"
        )
        if not shown["findings"]:
            self.stdout.write(self.style.SUCCESS("no findings"))
        for f in shown["findings"]:
            style = {"violation": self.style.ERROR, "warning": self.style.WARNING}.get(f["severity"], str)
            path = " -> ".join(p["name"] for p in f["path"])
            self.stdout.write(style(f"[{f['severity']}] {f['code']}: {f['explanation']}"))
            self.stdout.write(f"    path: {path}")
        if purpose:
            verdict = shown["verdicts"][purpose]
            self.stdout.write(f"\nMay I use it for {purpose}? {verdict['answer']}")
            for reason in verdict["reasons"]:
                self.stdout.write(f"  because: {reason}")
            for condition in verdict["conditions"]:
                self.stdout.write(f"  if: {condition}")


def _json(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
