"""The catalogue: models, their architectures and lineage, datasets and their files and columns."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import connection, models
from django.db.models import Q
from django.urls import reverse

# Asset names: anything printable but "/" (names are addressed as owner/name, like on Hugging Face).
asset_name_validator = RegexValidator(
    r"^[^/\x00-\x1f\x7f\s](?:[^/\x00-\x1f\x7f]*[^/\x00-\x1f\x7f\s])?$",
    "A name may not contain '/', control characters, or leading or trailing spaces.",
)

non_negative = MinValueValidator(0, "Must be zero or more.")


class Media(models.TextChoices):
    TEXT = "text", "Text"
    IMAGE = "image", "Image"
    AUDIO = "audio", "Audio"
    VIDEO = "video", "Video"
    TABULAR = "tabular", "Tabular"
    MULTIMODAL = "multimodal", "Multimodal"
    OTHER = "other", "Other"


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    PRIVATE = "private", "Private"


class TrainingType(models.TextChoices):
    PRETRAIN = "pretrain", "Pre-train"
    FINETUNE = "finetune", "Fine-tune"
    RL = "rl", "Reinforcement learning"


class Family(models.TextChoices):
    TRANSFORMER = "transformer", "Transformer"
    CNN = "cnn", "CNN"
    RNN = "rnn", "RNN"
    OTHER = "other", "Other"


class Pooling(models.TextChoices):
    MAX = "max", "Max"
    AVG = "avg", "Average"
    MIN = "min", "Min"
    OTHER = "other", "Other"


class Relation(models.TextChoices):
    FINE_TUNE = "fine_tune", "Fine-tune"
    ADAPTER = "adapter", "Adapter"
    QUANTIZATION = "quantization", "Quantization"
    MERGE = "merge", "Merge"
    DISTILLATION = "distillation", "Distillation"
    CONTINUED_PRETRAINING = "continued_pretraining", "Continued pre-training"


class Level(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Balance(models.TextChoices):
    BALANCED = "balanced", "Balanced"
    MODERATELY_IMBALANCED = "moderately_imbalanced", "Moderately imbalanced"
    HIGHLY_IMBALANCED = "highly_imbalanced", "Highly imbalanced"


class DatasetRole(models.TextChoices):
    TRAINED_ON = "trained_on", "Trained on"
    EVALUATED_ON = "evaluated_on", "Evaluated on"
    FINE_TUNED_ON = "fine_tuned_on", "Fine-tuned on"


class RelationshipType(models.TextChoices):
    FOREIGN_KEY = "foreign_key", "Foreign key"
    JOIN = "join", "Join"
    REFERENCE = "reference", "Reference"
    AGGREGATION = "aggregation", "Aggregation"
    DERIVED = "derived", "Derived"


class MediaType(models.Model):
    """One of the fixed media kinds (rows created by migration), kept as a table for joins and facets."""

    slug = models.CharField(max_length=16, primary_key=True, choices=Media.choices)

    class Meta:
        ordering = ["slug"]
        constraints = [models.CheckConstraint(condition=Q(slug__in=Media.values), name="mediatype_slug_valid")]

    def __str__(self) -> str:
        return self.get_slug_display()


class Task(models.Model):
    """An ML task (Hugging Face style slug); a table so that new tasks need no migration."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    modality = models.CharField(max_length=16, choices=Media.choices, default=Media.OTHER)

    class Meta:
        ordering = ["slug"]
        constraints = [models.CheckConstraint(condition=Q(modality__in=Media.values), name="task_modality_valid")]

    def __str__(self) -> str:
        return self.name


class Domain(models.Model):
    """An application domain of a dataset (EXAI ``domain`` list), e.g. healthcare, education."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class AssetQuerySet(models.QuerySet):
    """Access is decided here, once: every page, endpoint, search, chart and agent query starts from it.

    Visible: public assets; the user's own; those with an active grant to the user or to one of
    their affiliations. Admins and curators see and edit everything. Inactive users are anonymous.
    """

    def _grants(self, user, *, write: bool = False):
        from accounts.models import Grant, asset_field

        field_name = asset_field(self.model)
        grants = Grant.objects.active().reaching(user).filter(**{f"{field_name}__isnull": False})
        if write:
            grants = grants.filter(permission=Grant.Permission.WRITE)
        return grants.values(f"{field_name}_id")

    def visible_to(self, user) -> AssetQuerySet:
        if not is_member(user):
            return self.filter(visibility=Visibility.PUBLIC)
        if sees_everything(user):
            return self
        return self.filter(Q(visibility=Visibility.PUBLIC) | Q(owner=user) | Q(pk__in=self._grants(user)))

    def editable_by(self, user) -> AssetQuerySet:
        if not is_member(user):
            return self.none()
        if sees_everything(user):
            return self
        return self.filter(Q(owner=user) | Q(pk__in=self._grants(user, write=True)))

    def public(self) -> AssetQuerySet:
        return self.filter(visibility=Visibility.PUBLIC)


def is_member(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def sees_everything(user) -> bool:
    return is_member(user) and user.role in ("admin", "curator")


class Asset(models.Model):
    """Fields shared by models and datasets."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_%(class)ss")
    name = models.CharField(max_length=200, validators=[asset_name_validator])
    card = models.TextField(blank=True, help_text="Markdown description (model card / dataset card).")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC, db_index=True)
    license = models.ForeignKey(
        "licensing.License", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    license_declared = models.CharField(
        max_length=300, blank=True, help_text="The licence string as declared, kept even when it matches no known licence."
    )
    downloads = models.BigIntegerField(default=0, validators=[non_negative])
    likes = models.BigIntegerField(default=0, validators=[non_negative])
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = AssetQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.owner.username}/{self.name}"

    @property
    def full_name(self) -> str:
        return f"{self.owner.username}/{self.name}"


def _asset_constraints(prefix: str) -> list:
    return [
        models.UniqueConstraint(fields=["owner", "name"], name=f"{prefix}_owner_name_unique"),
        models.CheckConstraint(condition=Q(downloads__gte=0), name=f"{prefix}_downloads_non_negative"),
        models.CheckConstraint(condition=Q(likes__gte=0), name=f"{prefix}_likes_non_negative"),
        models.CheckConstraint(condition=Q(visibility__in=Visibility.values), name=f"{prefix}_visibility_valid"),
    ]


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class MLModel(Asset):
    """A machine-learning model (``MLModel`` to avoid clashing with ``django.db.models.Model``)."""

    TrainingType = TrainingType
    Family = Family

    media = models.ManyToManyField(MediaType, related_name="models", blank=True)
    tasks = models.ManyToManyField(Task, related_name="models", blank=True)
    training_type = models.CharField(max_length=16, choices=TrainingType.choices, blank=True, db_index=True)
    architecture_family = models.CharField(max_length=16, choices=Family.choices, default=Family.OTHER, db_index=True)
    architecture_name = models.CharField(max_length=200, blank=True, help_text="e.g. LlamaForCausalLM, ResNet")
    parameter_count = models.BigIntegerField(null=True, blank=True, db_index=True, validators=[non_negative])
    authors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="authored_models", blank=True)
    bases = models.ManyToManyField(
        "self", through="ModelLineage", through_fields=("model", "base"), symmetrical=False,
        related_name="derivatives", blank=True,
    )
    datasets = models.ManyToManyField("Dataset", through="ModelDataset", related_name="models", blank=True)

    class Meta:
        verbose_name = "model"
        ordering = ["-updated_at", "-id"]
        constraints = [
            *_asset_constraints("mlmodel"),
            models.CheckConstraint(
                condition=Q(parameter_count__isnull=True) | Q(parameter_count__gte=0),
                name="mlmodel_parameter_count_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(training_type__in=["", *TrainingType.values]), name="mlmodel_training_type_valid"
            ),
            models.CheckConstraint(condition=Q(architecture_family__in=Family.values), name="mlmodel_family_valid"),
        ]
        indexes = [models.Index(fields=["name"], name="mlmodel_name_idx")]

    def get_absolute_url(self) -> str:
        return reverse("catalog:model-detail", kwargs={"owner": self.owner.username, "name": self.name})

    def ancestor_ids(self) -> set[int]:
        """Every model this one derives from, at any depth, in one recursive query."""
        return ancestor_ids([self.pk])


def ancestor_ids(model_ids: list[int]) -> set[int]:
    """All ancestors (bases of bases ...) of the given models, by one recursive CTE."""
    if not model_ids:
        return set()
    table = ModelLineage._meta.db_table
    placeholders = ", ".join(["%s"] * len(model_ids))
    sql = f"""
        WITH RECURSIVE ancestors(id) AS (
            SELECT base_id FROM {table} WHERE model_id IN ({placeholders})
            UNION
            SELECT l.base_id FROM {table} l JOIN ancestors a ON l.model_id = a.id
        )
        SELECT id FROM ancestors
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, model_ids)
        return {row[0] for row in cursor.fetchall()}


class TransformerDetails(models.Model):
    model = models.OneToOneField(MLModel, on_delete=models.CASCADE, primary_key=True, related_name="transformer")
    decoder_count = models.PositiveIntegerField(null=True, blank=True)
    attention_size = models.PositiveIntegerField(null=True, blank=True)
    up_size = models.PositiveIntegerField(null=True, blank=True)
    down_size = models.PositiveIntegerField(null=True, blank=True)
    embedding_size = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "Transformer details"

    def __str__(self) -> str:
        return f"Transformer details of {self.model}"


class CNNDetails(models.Model):
    model = models.OneToOneField(MLModel, on_delete=models.CASCADE, primary_key=True, related_name="cnn")
    module_count = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "CNN details"

    def __str__(self) -> str:
        return f"CNN details of {self.model}"


class CNNModule(models.Model):
    Pooling = Pooling

    cnn = models.ForeignKey(CNNDetails, on_delete=models.CASCADE, related_name="modules")
    position = models.PositiveIntegerField()
    conv_size = models.PositiveIntegerField()
    pooling_type = models.CharField(max_length=8, choices=Pooling.choices)

    class Meta:
        verbose_name = "CNN module"
        ordering = ["cnn", "position"]
        constraints = [
            models.UniqueConstraint(fields=["cnn", "position"], name="cnnmodule_position_unique"),
            models.CheckConstraint(condition=Q(pooling_type__in=Pooling.values), name="cnnmodule_pooling_valid"),
        ]

    def __str__(self) -> str:
        return f"module {self.position}: conv {self.conv_size}, {self.pooling_type} pooling"


class RNNDetails(models.Model):
    model = models.OneToOneField(MLModel, on_delete=models.CASCADE, primary_key=True, related_name="rnn")
    criterion = models.CharField(max_length=100, blank=True, help_text="Training criterion / loss, e.g. cross_entropy")
    batch_size = models.PositiveIntegerField(null=True, blank=True)
    input_size = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "RNN details"

    def __str__(self) -> str:
        return f"RNN details of {self.model}"


class LineageCycleError(ValidationError):
    pass


class ModelLineage(models.Model):
    """A directed edge: ``model`` derives from ``base`` by ``relation``."""

    Relation = Relation

    model = models.ForeignKey(MLModel, on_delete=models.CASCADE, related_name="base_edges")
    base = models.ForeignKey(MLModel, on_delete=models.CASCADE, related_name="derivative_edges")
    relation = models.CharField(max_length=24, choices=Relation.choices, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "lineage edge"
        ordering = ["model", "base"]
        constraints = [
            models.UniqueConstraint(fields=["model", "base"], name="lineage_edge_unique"),
            models.CheckConstraint(condition=~Q(model=models.F("base")), name="lineage_no_self_loop"),
            models.CheckConstraint(condition=Q(relation__in=Relation.values), name="lineage_relation_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.model} --{self.relation}--> {self.base}"

    def clean(self) -> None:
        if self.model_id and self.base_id:
            check_lineage_edge(self.model_id, self.base_id)


def check_lineage_edge(model_id: int, base_id: int) -> None:
    """Refuse an edge model -> base that would close a cycle (base already derives from model)."""
    if model_id == base_id:
        raise LineageCycleError("A model cannot be its own base model.", code="self_loop")
    if model_id in ancestor_ids([base_id]):
        raise LineageCycleError(
            "This base model already derives from the model: the lineage would form a cycle.", code="cycle"
        )


# --------------------------------------------------------------------------------------------
# Datasets (EXAI normalised schema, seed 002)
# --------------------------------------------------------------------------------------------


class Dataset(Asset):
    Level = Level
    Balance = Balance

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
        indexes = [models.Index(fields=["name"], name="dataset_name_idx")]

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
