from datetime import datetime

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models.base import exactly_one_asset


class Affiliation(models.Model):
    """An organisation (university, company, lab) that users belong to."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class HubUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", User.Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person using the hub. The role decides staff and superuser flags (see save())."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        CURATOR = "curator", "Curator"
        USER = "user", "User"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER, db_index=True)
    affiliations = models.ManyToManyField(Affiliation, related_name="members", blank=True)

    objects = HubUserManager()

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=["admin", "curator", "user"]), name="user_role_valid"),
        ]

    def save(self, *args, **kwargs):
        # Admins manage everything, curators curate through the admin, users do neither.
        self.is_superuser = self.role == self.Role.ADMIN
        self.is_staff = self.role in (self.Role.ADMIN, self.Role.CURATOR)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_superuser", "is_staff"}
        super().save(*args, **kwargs)

    # Curators curate the catalogue (and licences) through the admin, and nothing else.
    CURATED_APPS = frozenset({"catalog", "licensing"})

    def has_perm(self, perm, obj=None) -> bool:
        if self.is_curator and perm.partition(".")[0] in self.CURATED_APPS:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        if self.is_curator and app_label in self.CURATED_APPS:
            return True
        return super().has_module_perms(app_label)

    @property
    def is_admin(self) -> bool:
        return self.is_active and self.role == self.Role.ADMIN

    @property
    def is_curator(self) -> bool:
        return self.is_active and self.role == self.Role.CURATOR


# --------------------------------------------------------------------------------------------
# Sharing: grants and invitations
# --------------------------------------------------------------------------------------------


class Permission(models.TextChoices):
    """What a grant allows, in increasing order; each level includes those before it. This is the one
    list of who may do what to an asset (used through ``AssetQuerySet.with_permission`` and
    ``Asset.has_permission`` by pages, API, admin and services):

    - read: see the asset and download its files;
    - write: also edit its metadata, lineage, dataset links and files;
    - manage: also change its visibility, delete it, transfer it and share it (grants, invitations,
      which may give manage again: it can be delegated).

    The owner, admins and curators hold every level on every asset they own or curate.
    """

    READ = "read", "Read"
    WRITE = "write", "Write"
    MANAGE = "manage", "Manage"

    @classmethod
    def at_least(cls, level: str) -> list[str]:
        """The levels that include ``level``: ``at_least("write") == ["write", "manage"]``."""
        values = cls.values
        return values[values.index(level) :]

    @classmethod
    def highest(cls, *levels: str) -> str:
        return max(levels, key=cls.values.index)


class RevocableQuerySet(models.QuerySet):
    """Rows that end when revoked or when ``expires_at`` passes (grants, invitations, tokens)."""

    def active(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class Revocable:
    """``is_active`` of one row, the same rule as ``RevocableQuerySet.active``."""

    revoked_at: datetime | None
    expires_at: datetime | None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class SharedAssetQuerySet(RevocableQuerySet):
    def for_asset(self, asset):
        return self.filter(**{asset.kind: asset})

    def reaching(self, user):
        """Grants that apply to the user: to them directly or to one of their affiliations."""
        return self.filter(Q(user=user) | Q(affiliation__in=user.affiliations.values("pk")))


class Grant(Revocable, models.Model):
    """Read, write or manage access (``Permission``) to one model or dataset, for one user or every
    member of an affiliation. A grantee holds at most one unrevoked grant per asset (constraints
    below): a new grant replaces the previous one."""

    Permission = Permission

    model = models.ForeignKey("catalog.MLModel", null=True, blank=True, on_delete=models.CASCADE, related_name="grants")
    dataset = models.ForeignKey(
        "catalog.Dataset", null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="grants")
    affiliation = models.ForeignKey(Affiliation, null=True, blank=True, on_delete=models.CASCADE, related_name="grants")
    permission = models.CharField(max_length=8, choices=Permission.choices, default=Permission.READ)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="grants_given")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = SharedAssetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="grant_user_active_idx"),
            models.Index(fields=["affiliation", "revoked_at"], name="grant_affiliation_active_idx"),
        ]
        constraints = [
            exactly_one_asset("grant"),
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(affiliation__isnull=True))
                | (Q(user__isnull=True) & Q(affiliation__isnull=False)),
                name="grant_exactly_one_grantee",
            ),
            models.CheckConstraint(condition=Q(permission__in=Permission.values), name="grant_permission_valid"),
            # One unrevoked grant per grantee and asset (NULLs never clash, so each pair is its own index).
            *[
                models.UniqueConstraint(
                    fields=[asset, grantee],
                    condition=Q(revoked_at__isnull=True),
                    name=f"grant_one_per_{grantee}_{asset}",
                )
                for asset in ("model", "dataset")
                for grantee in ("user", "affiliation")
            ],
        ]

    def __str__(self) -> str:
        return f"{self.permission} on {self.asset} for {self.grantee}"

    @property
    def asset(self):
        return self.model or self.dataset

    @property
    def grantee(self):
        return self.user or self.affiliation


class Invitation(models.Model):
    """An offer of access, accepted with a secret token; only the token's SHA-256 is stored."""

    Permission = Permission

    model = models.ForeignKey(
        "catalog.MLModel", null=True, blank=True, on_delete=models.CASCADE, related_name="invitations"
    )
    dataset = models.ForeignKey(
        "catalog.Dataset", null=True, blank=True, on_delete=models.CASCADE, related_name="invitations"
    )
    invited_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(blank=True)
    permission = models.CharField(max_length=8, choices=Permission.choices, default=Permission.READ)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="invitations_sent")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    grant = models.OneToOneField(Grant, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitation")

    objects = SharedAssetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            exactly_one_asset("invitation"),
            models.CheckConstraint(
                condition=Q(invited_user__isnull=False) | ~Q(email=""), name="invitation_has_recipient"
            ),
            models.CheckConstraint(condition=Q(permission__in=Permission.values), name="invitation_permission_valid"),
        ]

    def __str__(self) -> str:
        return f"invitation to {self.invited_user or self.email} for {self.asset}"

    @property
    def asset(self):
        return self.model or self.dataset

    @property
    def recipient(self) -> str:
        return self.invited_user.username if self.invited_user else self.email

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.accepted_at:
            return "accepted"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


# --------------------------------------------------------------------------------------------
# API tokens
# --------------------------------------------------------------------------------------------


class ApiToken(Revocable, models.Model):
    """A personal access token. The secret is shown once; only its SHA-256 is kept."""

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part of the token, for recognising it.")
    token_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = RevocableQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=["read", "write"]), name="apitoken_scope_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


# --------------------------------------------------------------------------------------------
# Audit trail
# --------------------------------------------------------------------------------------------


class AuditChainHead(models.Model):
    """One row: the last event of the chain. Locked while appending so the chain stays linear."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="auditchainhead_singleton")]

    def __str__(self) -> str:
        return f"audit chain head at #{self.last_seq}"


class AuditEvent(models.Model):
    """An append-only, hash-chained record of something that happened (see accounts.audit)."""

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True, db_index=True)
    target_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_name or 'system'}"
