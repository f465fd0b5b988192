from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_api_indexes")]

    operations = [
        migrations.AddField(
            model_name="mlmodel",
            name="release_date",
            field=models.DateField(
                blank=True, db_index=True, null=True,
                help_text="When its authors first released it (not when it was added here); empty when unknown.",
            ),
        ),
    ]
