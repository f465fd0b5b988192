"""Permission levels read / write / manage (accounts.models.Permission), and one unrevoked grant per
grantee and asset: duplicates left by accepting an invitation beside an existing grant are revoked
first, keeping the highest permission (the newest among equals)."""

from django.db import migrations, models
from django.utils import timezone

LEVELS = ["read", "write", "manage"]
CHOICES = [("read", "Read"), ("write", "Write"), ("manage", "Manage")]


def revoke_duplicate_grants(apps, schema_editor) -> None:
    Grant = apps.get_model("accounts", "Grant")
    kept: set[tuple] = set()
    duplicates = []
    rows = Grant.objects.filter(revoked_at__isnull=True).values_list(
        "pk", "model_id", "dataset_id", "user_id", "affiliation_id", "permission", "created_at")
    for pk, *key, permission, _ in sorted(rows, key=lambda r: (LEVELS.index(r[5]), r[6], r[0]), reverse=True):
        if tuple(key) in kept:
            duplicates.append(pk)
        kept.add(tuple(key))
    Grant.objects.filter(pk__in=duplicates).update(revoked_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_audit_guard")]

    operations = [
        migrations.RemoveConstraint(model_name="grant", name="grant_permission_valid"),
        migrations.RemoveConstraint(model_name="invitation", name="invitation_permission_valid"),
        migrations.AlterField(model_name="grant", name="permission",
                              field=models.CharField(choices=CHOICES, default="read", max_length=8)),
        migrations.AlterField(model_name="invitation", name="permission",
                              field=models.CharField(choices=CHOICES, default="read", max_length=8)),
        migrations.AddConstraint(model_name="grant", constraint=models.CheckConstraint(
            condition=models.Q(permission__in=LEVELS), name="grant_permission_valid")),
        migrations.AddConstraint(model_name="invitation", constraint=models.CheckConstraint(
            condition=models.Q(permission__in=LEVELS), name="invitation_permission_valid")),
        migrations.RunPython(revoke_duplicate_grants, migrations.RunPython.noop),
        *[migrations.AddConstraint(model_name="grant", constraint=models.UniqueConstraint(
            fields=(asset, grantee), condition=models.Q(revoked_at__isnull=True),
            name=f"grant_one_per_{grantee}_{asset}"))
          for asset in ("model", "dataset") for grantee in ("user", "affiliation")],
    ]
