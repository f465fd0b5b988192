from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("catalog", "0012_upload_sessions")]

    operations = [
        migrations.AddField(
            model_name="fileversion",
            name="requeued",
            field=models.PositiveSmallIntegerField(
                default=0, help_text="Times the pipeline sweep queued this pending version again (catalog.pipeline)."
            ),
        ),
    ]
