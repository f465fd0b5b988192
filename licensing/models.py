"""The licence knowledge base and the stored results of compliance analysis."""

from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse

license_key_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9.+_-]*$", "A licence key is lower case letters, digits and . + _ - (ScanCode style)."
)


class LicenseCategory(models.TextChoices):
    PUBLIC_DOMAIN = "public_domain", "Public domain"
    PERMISSIVE = "permissive", "Permissive"
    WEAK_COPYLEFT = "weak_copyleft", "Weak copyleft"
    COPYLEFT = "copyleft", "Copyleft"
    USE_RESTRICTED = "use_restricted", "OpenRAIL / use-restricted"
    NO_DERIVATIVES = "no_derivatives", "No derivatives (shared verbatim only)"
    PROPRIETARY = "proprietary", "Proprietary agreement"
    NON_COMMERCIAL = "non_commercial", "Non-commercial / source-available"
    UNKNOWN = "unknown", "Unknown"


class Relicensing(models.TextChoices):
    """What a derivative work may be released under."""

    ALLOWED = "allowed", "Any licence"
    CONDITIONAL = "conditional", "Any licence that carries these terms"
    SAME = "same", "Only this licence"
    UNKNOWN = "unknown", "Unknown"


class Reuse(models.TextChoices):
    """What a reuse of the work produces, after ModelGo (duplicate / derivative / independent / NODEF)."""

    COPY = "copy", "A copy of the work"
    DERIVATIVE = "derivative", "A derivative work"
    INDEPENDENT = "independent", "An independent work"
    UNDEFINED = "undefined", "Not defined by the licence"
    FORBIDDEN = "forbidden", "Not permitted"
    UNSHARED = "unshared", "A derivative that may be made but not shared"


class Source(models.TextChoices):
    SCANCODE = "scancode", "ScanCode LicenseDB"
    MODELGO = "modelgo", "ScanCode + ModelGo terms"
    CURATED = "curated", "Curated by OpenModelHub"
    LOCAL = "local", "Entered locally"


class License(models.Model):
    """A licence or licence agreement, keyed by its ScanCode licence key (e.g. ``apache-2.0``).

    The boolean terms are nullable: ``None`` means the knowledge base does not know, which the
    analysis reports as such instead of guessing.
    """

    Category = LicenseCategory
    Relicensing = Relicensing
    Reuse = Reuse
    Source = Source

    key = models.CharField(
        max_length=100,
        unique=True,
        validators=[license_key_validator],
        help_text="ScanCode licence key, e.g. apache-2.0",
    )
    spdx_id = models.CharField(max_length=100, blank=True, db_index=True, help_text="SPDX identifier, e.g. Apache-2.0")
    name = models.CharField(max_length=300)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.UNKNOWN, db_index=True)
    url = models.URLField(max_length=500, blank=True)
    scancode_category = models.CharField(max_length=40, blank=True, help_text="The category ScanCode gives it.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.LOCAL)
    is_agreement = models.BooleanField(
        default=False, help_text="A contract the user must accept (Llama, Gemma), not a unilateral licence."
    )
    commercial_use = models.BooleanField(null=True, blank=True)
    redistribution = models.BooleanField(null=True, blank=True)
    relicensing = models.CharField(max_length=12, choices=Relicensing.choices, default=Relicensing.UNKNOWN)
    share_alike = models.BooleanField(default=False, help_text="Derivatives must be released under the same terms.")
    attribution = models.BooleanField(null=True, blank=True, help_text="Notices, licence text or credit must be kept.")
    use_restrictions = models.BooleanField(
        null=True, blank=True, help_text="Use-based restrictions (acceptable-use policy, OpenRAIL attachment A)."
    )
    terms = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Reuse outcomes per relation ({'reuse': {'fine_tune': 'derivative', ...}}), rights, obligations, notes."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(category__in=LicenseCategory.values), name="license_category_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(relicensing__in=Relicensing.values), name="license_relicensing_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.spdx_id or self.key

    def get_absolute_url(self) -> str:
        return reverse("licensing:license-detail", kwargs={"key": self.key})

    @property
    def no_derivatives(self) -> bool:
        """Adapted material may be made but not shared (CC ND, ModelGo ``coverage: [duplicate]``)."""
        return Reuse.UNSHARED in (self.terms.get("reuse") or {}).values()

    @property
    def successors(self) -> list[str]:
        """Keys of the later versions of this licence's family a derivative may be released under."""
        return list(self.terms.get("successors") or [])


class LicenseAlias(models.Model):
    """Another way of writing a licence: an SPDX id, a Hugging Face tag, a name, a common spelling."""

    alias = models.CharField(max_length=300, unique=True, help_text="Normalised: lower case, single spaces.")
    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="aliases")

    class Meta:
        verbose_name_plural = "licence aliases"
        ordering = ["alias"]

    def __str__(self) -> str:
        return f"{self.alias} -> {self.license.key}"


class Severity(models.TextChoices):
    VIOLATION = "violation", "Violation"
    WARNING = "warning", "Warning"
    OBLIGATION = "obligation", "Obligation"
    INFO = "info", "Information"


class ComplianceReport(models.Model):
    """The last compliance analysis of one model; recomputed when its licence, lineage or datasets change.

    ``findings`` and ``verdicts`` refer to assets by kind and id so that each viewer is shown only
    the names of assets they may see (see ``licensing.compliance.present``).
    """

    Severity = Severity

    model = models.OneToOneField("catalog.MLModel", on_delete=models.CASCADE, related_name="compliance")
    has_violations = models.BooleanField(default=False, db_index=True)
    violation_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    obligation_count = models.PositiveIntegerField(default=0)
    findings = models.JSONField(default=list, blank=True)
    verdicts = models.JSONField(default=dict, blank=True)
    ancestor_count = models.PositiveIntegerField(default=0)
    dataset_count = models.PositiveIntegerField(default=0)
    analysed_at = models.DateTimeField()

    class Meta:
        ordering = ["-analysed_at"]

    def __str__(self) -> str:
        return f"compliance of model #{self.model_id}"
