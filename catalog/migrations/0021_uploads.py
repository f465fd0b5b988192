# Upload sessions record the object their content was encrypted into while it was received, so that
# the commit adopts it instead of encrypting the staged copy a second time (issue #17).
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("catalog", "0020_discovery")]
    operations = [
        migrations.AddField(
            model_name="uploadsession",
            name="storage_key",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="uploadsession",
            name="key_id",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="uploadsession",
            name="wrapped_key",
            field=models.BinaryField(blank=True, default=b""),
        ),
        migrations.AddField(
            model_name="uploadsession",
            name="nonce_prefix",
            field=models.BinaryField(blank=True, default=b""),
        ),
        migrations.AddField(
            model_name="uploadsession",
            name="chunk_size",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
