from django.core.validators import RegexValidator
from django.db import models

license_key_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9.+_-]*$", "A licence key is lower case letters, digits and . + _ - (ScanCode style)."
)


class LicenseCategory(models.TextChoices):
    PUBLIC_DOMAIN = "public_domain", "Public domain"
    PERMISSIVE = "permissive", "Permissive"
    WEAK_COPYLEFT = "weak_copyleft", "Weak copyleft"
    COPYLEFT = "copyleft", "Copyleft"
    USE_RESTRICTED = "use_restricted", "OpenRAIL / use-restricted"
    PROPRIETARY = "proprietary", "Proprietary agreement"
    NON_COMMERCIAL = "non_commercial", "Non-commercial / source-available"
    UNKNOWN = "unknown", "Unknown"


class License(models.Model):
    """A licence or licence agreement, keyed by its ScanCode licence key (e.g. ``apache-2.0``)."""

    Category = LicenseCategory

    key = models.CharField(
        max_length=100, unique=True, validators=[license_key_validator], help_text="ScanCode licence key, e.g. apache-2.0"
    )
    spdx_id = models.CharField(max_length=100, blank=True, db_index=True, help_text="SPDX identifier, e.g. Apache-2.0")
    name = models.CharField(max_length=300)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.UNKNOWN, db_index=True)
    url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(category__in=LicenseCategory.values), name="license_category_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.spdx_id or self.key
