from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from catalog import crypto, files


class Command(BaseCommand):
    help = (
        "Re-wrap every file version's data key under the current master key (OMH_MASTER_KEY_ID), without "
        "re-encrypting content. Keep the old key in OMH_MASTER_KEYS until this has run, then remove it. "
        "In the embedded default, --generate first adds a new development key to var/master_keys.json."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--generate",
            action="store_true",
            help="embedded default only: create a new development master key and make it current",
        )
        parser.add_argument("--all", action="store_true", help="re-wrap keys already under the current master key too")
        parser.add_argument(
            "--new-key",
            action="store_true",
            help="print a fresh id:key pair for OMH_MASTER_KEYS and exit (changes nothing)",
        )

    def handle(self, *args, generate: bool, all: bool, new_key: bool, **options) -> None:
        if new_key:
            key_id, encoded = crypto.new_master_key()
            self.stdout.write(f"{key_id}:{encoded}")
            return
        if generate:
            import os

            if os.environ.get("OMH_MASTER_KEYS"):
                raise CommandError(
                    "--generate is for the embedded key ring; with OMH_MASTER_KEYS add the key there "
                    "and set OMH_MASTER_KEY_ID."
                )
            self.stdout.write(f"New development master key {crypto.add_development_key()} is now current.")
        try:
            current = crypto.keyring().current_id
            count = files.rotate_master_key(everything=all)
        except (ImproperlyConfigured, crypto.IntegrityError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Re-wrapped {count} data keys under master key {current}."))
