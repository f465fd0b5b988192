from django.db import migrations, models

HELP = (
    "A declared AND / OR expression parsed into licence keys (licensing.services.resolve_declared); "
    "empty for a single licence."
)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0015_likes_and_demo")]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="license_expression",
            field=models.CharField(blank=True, help_text=HELP, max_length=500),
        ),
        migrations.AddField(
            model_name="mlmodel",
            name="license_expression",
            field=models.CharField(blank=True, help_text=HELP, max_length=500),
        ),
    ]
