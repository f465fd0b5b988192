from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0023_search_scale")]

    operations = []
