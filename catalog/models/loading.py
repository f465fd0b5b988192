"""What the record loaders last wrote, so that a later load can tell a curator's edit from its own data."""

from django.db import models


class LoadedRecord(models.Model):
    """One record as a loader (``load_records``, ``load_licenses``) left it: which row it wrote, a
    fingerprint per part of the row's loaded values then (``{"card": "9f2c…", "media": …}``), and one
    of the input it came from. A later load compares the row as it is now with ``state``: a part
    that differs was edited since, and the loader keeps the row (unless asked to ``--update``).
    Parts are compared by name, so a part added to or dropped from the fingerprint in a later
    version of the hub is not mistaken for an edit."""

    class Kind(models.TextChoices):
        MODEL = "model"
        DATASET = "dataset"
        LICENSE = "license"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    key = models.CharField(max_length=400, help_text="The record's natural key: owner/name, or a licence key.")
    object_id = models.BigIntegerField(help_text="The row written; a rename or deletion since is an edit too.")
    state = models.JSONField(default=dict, help_text="Part name -> SHA-256 prefix of its value after the load.")
    source_hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the input record.")
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="loadedrecord_kind_key_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
