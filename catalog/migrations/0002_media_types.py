from django.db import migrations

MEDIA = ["text", "image", "audio", "video", "tabular", "multimodal", "other"]


def create_media_types(apps, schema_editor):
    MediaType = apps.get_model("catalog", "MediaType")
    for slug in MEDIA:
        MediaType.objects.get_or_create(slug=slug)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(create_media_types, migrations.RunPython.noop)]
