"""Datasets (EXAI normalised schema, seed 002), their files, columns and relationships."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from catalog.models.base import (
    _asset_indexes,
    _asset_constraints,
    Asset,
    Balance,
    DatasetRole,
    Domain,
    Level,
    MediaType,
    RelationshipType,
    Task,
    non_negative,
)
from catalog.models.mlmodels import MLModel


class Dataset(Asset):
    kind, plural = "dataset", "datasets"
    Level = Level
    Balance = Balance

    # The EXAI metadata groups (seed 002), in the order pages, forms and the admin show them.
    IDENTIFICATION_FIELDS = (
        "year",
        "objective",
        "access",
        "availability",
        "num_citations",
        "citation_link",
        "sources",
        "storage_uri",
    )
    TECHNICAL_FIELDS = (
        "instances_number",
        "features_number",
        "features_description",
        "representativity_level",
        "representativity_description",
        "sample_balance_level",
        "sample_balance_description",
        "split",
        "has_missing_values",
        "global_missing_percentage",
        "missing_values_description",
        "missing_values_handling_method",
        "temporal_factors",
        "metadata_provided_with_dataset",
        "external_documentation_available",
        "documentation_link",
    )
    ETHICS_FLAGS = (
        "informed_consent",
        "transparency",
        "user_control",
        "equity_non_discrimination",
        "security_measures_in_place",
        "data_quality_documented",
        "anonymization_applied",
        "record_keeping_policy_exists",
        "purpose_limitation_respected",
        "accountability_defined",
    )

    media = models.ManyToManyField(MediaType, related_name="datasets", blank=True)
    tasks = models.ManyToManyField(Task, related_name="datasets", blank=True)
    domains = models.ManyToManyField(Domain, related_name="datasets", blank=True)
    authors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="authored_datasets", blank=True)

    # Identification & general information
    year = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1900), MaxValueValidator(2100)], db_index=True
    )
    objective = models.TextField(blank=True)
    access = models.CharField(max_length=100, blank=True, help_text="public, private, restricted, academic ...")
    availability = models.CharField(max_length=100, blank=True, help_text="online, offline, on_request, archived ...")
    num_citations = models.PositiveIntegerField(null=True, blank=True)
    citation_link = models.URLField(max_length=500, blank=True)
    sources = models.TextField(blank=True)
    storage_uri = models.CharField(max_length=500, blank=True)

    # Technical characteristics
    instances_number = models.BigIntegerField(null=True, blank=True, db_index=True, validators=[non_negative])
    features_description = models.TextField(blank=True)
    features_number = models.PositiveIntegerField(null=True, blank=True)
    representativity_description = models.TextField(blank=True)
    representativity_level = models.CharField(max_length=8, choices=Level.choices, blank=True)
    sample_balance_description = models.TextField(blank=True)
    sample_balance_level = models.CharField(max_length=24, choices=Balance.choices, blank=True)
    split = models.BooleanField(null=True, blank=True, help_text="Already split into train/test.")
    missing_values_description = models.TextField(blank=True)
    has_missing_values = models.BooleanField(null=True, blank=True)
    global_missing_percentage = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(100.0)]
    )
    missing_values_handling_method = models.CharField(max_length=200, blank=True)
    temporal_factors = models.BooleanField(null=True, blank=True)
    metadata_provided_with_dataset = models.BooleanField(null=True, blank=True)
    external_documentation_available = models.BooleanField(null=True, blank=True)
    documentation_link = models.URLField(max_length=500, blank=True)

    # Ethics criteria (null = unknown)
    informed_consent = models.BooleanField(null=True, blank=True)
    transparency = models.BooleanField(null=True, blank=True)
    user_control = models.BooleanField(null=True, blank=True)
    equity_non_discrimination = models.BooleanField(null=True, blank=True)
    security_measures_in_place = models.BooleanField(null=True, blank=True)
    data_quality_documented = models.BooleanField(null=True, blank=True)
    data_errors_description = models.TextField(blank=True)
    anonymization_applied = models.BooleanField(null=True, blank=True)
    record_keeping_policy_exists = models.BooleanField(null=True, blank=True)
    purpose_limitation_respected = models.BooleanField(null=True, blank=True)
    accountability_defined = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            *_asset_constraints("dataset"),
            models.CheckConstraint(
                condition=Q(instances_number__isnull=True) | Q(instances_number__gte=0),
                name="dataset_instances_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(global_missing_percentage__isnull=True)
                | Q(global_missing_percentage__gte=0, global_missing_percentage__lte=100),
                name="dataset_missing_percentage_range",
            ),
            models.CheckConstraint(
                condition=Q(year__isnull=True) | Q(year__gte=1900, year__lte=2100), name="dataset_year_range"
            ),
            models.CheckConstraint(
                condition=Q(representativity_level__in=["", *Level.values]), name="dataset_representativity_valid"
            ),
            models.CheckConstraint(
                condition=Q(sample_balance_level__in=["", *Balance.values]), name="dataset_balance_valid"
            ),
        ]
        indexes = [
            *_asset_indexes("dataset"),
            models.Index(fields=["instances_number", "id"], name="dataset_instances_id_idx"),
        ]

    def get_absolute_url(self) -> str:
        return reverse("catalog:dataset-detail", kwargs={"owner": self.owner.username, "name": self.name})


class ModelDataset(models.Model):
    """A model's use of a dataset."""

    Role = DatasetRole

    model = models.ForeignKey(MLModel, on_delete=models.CASCADE, related_name="dataset_links")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="model_links")
    role = models.CharField(max_length=16, choices=DatasetRole.choices, default=DatasetRole.TRAINED_ON)

    class Meta:
        verbose_name = "model–dataset link"
        ordering = ["model", "dataset", "role"]
        constraints = [
            models.UniqueConstraint(fields=["model", "dataset", "role"], name="modeldataset_unique"),
            models.CheckConstraint(condition=Q(role__in=DatasetRole.values), name="modeldataset_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.get_role_display().lower()} {self.dataset}"


class DatasetFile(models.Model):
    """A file of a dataset as described by its metadata (seed 002 ``dataset_files``)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=500, help_text="Path of the file in the dataset, e.g. data/train.csv")
    logical_role = models.CharField(max_length=100, blank=True, help_text="training_data, test_data, metadata ...")
    format = models.CharField(max_length=50, blank=True)
    mime_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True, validators=[non_negative])
    row_count = models.BigIntegerField(null=True, blank=True, validators=[non_negative])
    description = models.TextField(blank=True)
    sha256 = models.CharField(
        max_length=64,
        blank=True,
        validators=[RegexValidator(r"^[0-9a-f]{64}$", "A SHA-256 is 64 lower-case hexadecimal digits.")],
        help_text="Checksum the metadata gives for a file held elsewhere (a stored file has its version's).",
    )
    md5 = models.CharField(
        max_length=32,
        blank=True,
        validators=[RegexValidator(r"^[0-9a-f]{32}$", "An MD5 is 32 lower-case hexadecimal digits.")],
        help_text="Checksum the metadata gives for a file held elsewhere.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["dataset", "path"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "path"], name="datasetfile_path_unique"),
            models.CheckConstraint(
                condition=Q(size_bytes__isnull=True) | Q(size_bytes__gte=0), name="datasetfile_size_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(row_count__isnull=True) | Q(row_count__gte=0), name="datasetfile_rows_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset}:{self.path}"


class FileColumn(models.Model):
    dataset_file = models.ForeignKey(DatasetFile, on_delete=models.CASCADE, related_name="columns")
    name = models.CharField(max_length=255, db_index=True)
    data_type_original = models.CharField(max_length=100, blank=True)
    data_type_interpreted = models.CharField(
        max_length=50, blank=True, help_text="numerical, categorical, text, identifier, datetime, boolean, media ..."
    )
    description = models.TextField(blank=True)
    is_primary_key_component = models.BooleanField(default=False)
    is_nullable = models.BooleanField(default=True)
    is_pii = models.BooleanField(default=False, db_index=True)
    example_values = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField()
    stats = models.JSONField(default=dict, blank=True)
    value_sketch = models.BinaryField(
        null=True,
        blank=True,
        editable=False,
        help_text="MinHash of the column's values from profiling (catalog.profiling.ValueSketch): union/join search.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["dataset_file", "position"]
        constraints = [
            models.UniqueConstraint(fields=["dataset_file", "name"], name="filecolumn_name_unique"),
            models.UniqueConstraint(fields=["dataset_file", "position"], name="filecolumn_position_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class DatasetRelationship(models.Model):
    Type = RelationshipType

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="relationships")
    from_file = models.ForeignKey(DatasetFile, on_delete=models.CASCADE, related_name="outgoing_relationships")
    to_file = models.ForeignKey(DatasetFile, on_delete=models.CASCADE, related_name="incoming_relationships")
    relationship_type = models.CharField(max_length=16, choices=RelationshipType.choices)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["dataset", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(relationship_type__in=RelationshipType.values), name="relationship_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_file.path} {self.relationship_type} {self.to_file.path}"

    def clean(self) -> None:
        if self.from_file_id and self.from_file.dataset_id != self.dataset_id:
            raise ValidationError({"from_file": "The file must belong to this dataset."})


class DatasetRelationshipColumnLink(models.Model):
    relationship = models.ForeignKey(DatasetRelationship, on_delete=models.CASCADE, related_name="column_links")
    from_column = models.ForeignKey(FileColumn, on_delete=models.CASCADE, related_name="+")
    to_column = models.ForeignKey(FileColumn, on_delete=models.CASCADE, related_name="+")
    link_order = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = "relationship column link"
        ordering = ["relationship", "link_order"]
        constraints = [
            models.UniqueConstraint(fields=["relationship", "link_order"], name="columnlink_order_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.from_column} -> {self.to_column}"

    def clean(self) -> None:
        rel = self.relationship
        if self.from_column_id and self.from_column.dataset_file_id != rel.from_file_id:
            raise ValidationError({"from_column": "The column must belong to the relationship's source file."})
        if self.to_column_id and self.to_column.dataset_file_id != rel.to_file_id:
            raise ValidationError({"to_column": "The column must belong to the relationship's target file."})
