from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0026_request_cost")]

    operations = []
