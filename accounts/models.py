from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


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
            models.CheckConstraint(
                condition=models.Q(role__in=["admin", "curator", "user"]), name="user_role_valid"
            ),
        ]

    def save(self, *args, **kwargs):
        # Admins manage everything, curators curate through the admin, users do neither.
        self.is_superuser = self.role == self.Role.ADMIN
        self.is_staff = self.role in (self.Role.ADMIN, self.Role.CURATOR)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_superuser", "is_staff"}
        super().save(*args, **kwargs)

    @property
    def is_admin(self) -> bool:
        return self.is_active and self.role == self.Role.ADMIN

    @property
    def is_curator(self) -> bool:
        return self.is_active and self.role == self.Role.CURATOR
