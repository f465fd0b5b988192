from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0027_search_tiers")]

    operations = []
