from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_api_indexes")]

    operations = []
