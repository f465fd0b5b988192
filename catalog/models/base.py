"""Vocabularies, choices and what models and datasets share (owner, visibility, licence, access)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404


# Asset names: anything printable but "/" (names are addressed as owner/name, like on Hugging Face).
asset_name_validator = RegexValidator(
    r"^[^/\x00-\x1f\x7f\s](?:[^/\x00-\x1f\x7f]*[^/\x00-\x1f\x7f\s])?$",
    "A name may not contain '/', control characters, or leading or trailing spaces.",
)

non_negative = MinValueValidator(0, "Must be zero or more.")


def exactly_one_asset(prefix: str) -> models.CheckConstraint:
    """The check that a row belonging to an asset points at a model or a dataset, never both or neither."""
    return models.CheckConstraint(
        condition=(Q(model__isnull=False) & Q(dataset__isnull=True))
        | (Q(model__isnull=True) & Q(dataset__isnull=False)),
        name=f"{prefix}_exactly_one_asset",
    )


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
        return self.label

    @property
    def label(self) -> str:
        return readable_name(self.slug, self.name)


def readable_name(slug: str, name: str) -> str:
    """A vocabulary entry's name for people: a name loaded as a bare slug ("general-web") reads
    "General web"."""
    if name and name != slug:
        return name
    return slug.replace("-", " ").replace("_", " ").capitalize()


class AssetQuerySet(models.QuerySet):
    """Access is decided here, once: every page, endpoint, search, chart and agent query starts from it.

    The levels (read, write, manage) are ``accounts.models.Permission``. Read: public assets, the
    user's own, those with an active grant to the user or to one of their affiliations. Write and
    manage: the user's own and those granted at that level or above. Admins and curators hold every
    level on everything. Inactive users are anonymous.
    """

    def _grants(self, user, levels: list[str] | None = None):
        from accounts.models import Grant

        kind = self.model.kind  # the name of the grant's foreign key to this kind of asset
        grants = Grant.objects.active().reaching(user).filter(**{f"{kind}__isnull": False})
        if levels is not None:
            grants = grants.filter(permission__in=levels)
        return grants.values(f"{kind}_id")

    def with_permission(self, user, level: str) -> AssetQuerySet:
        """The assets on which ``user`` holds ``level`` (or a level that includes it)."""
        from accounts.models import Permission

        levels = Permission.at_least(level)  # ValueError on an unknown level
        if not is_member(user):
            return self.filter(visibility=Visibility.PUBLIC) if level == Permission.READ else self.none()
        if sees_everything(user):
            return self
        if level == Permission.READ:
            return self.filter(Q(visibility=Visibility.PUBLIC) | Q(owner=user) | Q(pk__in=self._grants(user)))
        return self.filter(Q(owner=user) | Q(pk__in=self._grants(user, levels)))

    def visible_to(self, user) -> AssetQuerySet:
        return self.with_permission(user, "read")

    def editable_by(self, user) -> AssetQuerySet:
        return self.with_permission(user, "write")

    def manageable_by(self, user) -> AssetQuerySet:
        """Visibility changes, deletion, transfer and sharing."""
        return self.with_permission(user, "manage")

    def public(self) -> AssetQuerySet:
        return self.filter(visibility=Visibility.PUBLIC)

    def with_name(self, full_name: str) -> AssetQuerySet:
        """The asset called ``owner/name`` (none for a malformed name); access is not decided here."""
        owner, _, name = full_name.partition("/")
        return self.filter(owner__username=owner, name=name) if owner and name else self.none()

    def named(self, full_name: str, *, user) -> Asset:
        """The asset called ``owner/name`` that ``user`` may see; Http404 when it is missing, hidden or
        the name is malformed (a hidden asset answers like a missing one). Pages, API views and the Hub
        API look assets up through it; chain select_related and the like before it:
        ``MLModel.objects.select_related("license").named(ref, user=request.user)``."""
        return get_object_or_404(self.visible_to(user).with_name(full_name))


def is_member(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def sees_everything(user) -> bool:
    return is_member(user) and user.role in ("admin", "curator")


def visibility_shape(user) -> str | None:
    """What ``visible_to(user)`` adds to a statement when it names no user or time: "public" (visitors),
    "everything" (admins, curators); None for members, whose visibility holds their id and the time
    (grants expire). Statements compiled once per shape (catalog.statements) rest on this."""
    if not is_member(user):
        return "public"
    return "everything" if sees_everything(user) else None


class Asset(models.Model):
    """Fields shared by models and datasets. ``kind`` is the singular word for the class (also the
    name of the foreign key that grants, invitations, files and commits hold to it), ``plural`` the
    word in URLs (``/models/``, ``/api/v1/datasets/``)."""

    kind: ClassVar[str]
    plural: ClassVar[str]

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_%(class)ss")
    name = models.CharField(max_length=200, validators=[asset_name_validator])
    card = models.TextField(blank=True, help_text="Markdown description (model card / dataset card).")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC, db_index=True)
    license = models.ForeignKey("licensing.License", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    license_declared = models.CharField(
        max_length=300,
        blank=True,
        help_text="The licence string as declared, kept even when it matches no known licence.",
    )
    license_expression = models.CharField(
        max_length=500,
        blank=True,
        help_text="A declared AND / OR expression parsed into licence keys (licensing.services.resolve_declared); "
        "empty for a single licence.",
    )
    downloads = models.BigIntegerField(default=0, validators=[non_negative])
    likes = models.BigIntegerField(default=0, validators=[non_negative])
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # Maintained by PostgreSQL triggers (migration catalog 0004); unused on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = AssetQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.owner.username}/{self.name}"

    @property
    def full_name(self) -> str:
        return f"{self.owner.username}/{self.name}"

    def has_permission(self, user, level: str) -> bool:
        """Whether ``user`` holds ``level`` on this asset (``AssetQuerySet.with_permission``; no query
        for its owner, admins and curators, who hold every level)."""
        if is_member(user) and (self.owner_id == user.pk or sees_everything(user)):
            return True
        return type(self).objects.with_permission(user, level).filter(pk=self.pk).exists()

    def is_editable_by(self, user) -> bool:
        return self.has_permission(user, "write")

    def is_manageable_by(self, user) -> bool:
        return self.has_permission(user, "manage")

    @staticmethod
    def kinds() -> dict[str, type[Asset]]:
        """Every asset class by its plural (``{"models": MLModel, "datasets": Dataset}``)."""
        return {cls.plural: cls for cls in Asset.__subclasses__()}

    @staticmethod
    def of_plural(plural: str) -> type[Asset]:
        """The asset class a URL's plural names; Http404 for any other word."""
        try:
            return Asset.kinds()[plural]
        except KeyError:
            raise Http404("No such kind of asset.") from None


def _asset_indexes(prefix: str) -> list:
    """Keyset pagination: one (sort key, id) index per sort order of the lists."""
    return [
        models.Index(fields=["updated_at", "id"], name=f"{prefix}_updated_id_idx"),
        models.Index(fields=["created_at", "id"], name=f"{prefix}_created_id_idx"),
        # the id columns ride along (PostgreSQL): a walk of the most downloaded rows matching an id fragment
        # reads the index alone, not a table page per row (catalog.search.most_downloaded_ctes)
        models.Index(fields=["downloads", "id"], name=f"{prefix}_downloads_id_idx", include=["name", "owner"]),
        models.Index(fields=["likes", "id"], name=f"{prefix}_likes_id_idx"),
        models.Index(fields=["name", "id"], name=f"{prefix}_name_id_idx"),
    ]


def _asset_constraints(prefix: str) -> list:
    return [
        models.UniqueConstraint(fields=["owner", "name"], name=f"{prefix}_owner_name_unique"),
        models.CheckConstraint(condition=Q(downloads__gte=0), name=f"{prefix}_downloads_non_negative"),
        models.CheckConstraint(condition=Q(likes__gte=0), name=f"{prefix}_likes_non_negative"),
        models.CheckConstraint(condition=Q(visibility__in=Visibility.values), name=f"{prefix}_visibility_valid"),
    ]
