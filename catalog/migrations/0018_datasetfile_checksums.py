import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("catalog", "0017_performance")]

    operations = [
        migrations.AddField(
            model_name="datasetfile",
            name="md5",
            field=models.CharField(
                blank=True,
                help_text="Checksum the metadata gives for a file held elsewhere.",
                max_length=32,
                validators=[
                    django.core.validators.RegexValidator("^[0-9a-f]{32}$", "An MD5 is 32 lower-case hexadecimal digits.")
                ],
            ),
        ),
        migrations.AddField(
            model_name="datasetfile",
            name="sha256",
            field=models.CharField(
                blank=True,
                help_text="Checksum the metadata gives for a file held elsewhere (a stored file has its version's).",
                max_length=64,
                validators=[
                    django.core.validators.RegexValidator(
                        "^[0-9a-f]{64}$", "A SHA-256 is 64 lower-case hexadecimal digits."
                    )
                ],
            ),
        ),
    ]
