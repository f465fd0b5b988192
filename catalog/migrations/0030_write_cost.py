from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0029_detail_cost")]

    operations = []
