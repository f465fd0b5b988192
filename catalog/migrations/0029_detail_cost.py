from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0028_response_cache")]

    operations = []
