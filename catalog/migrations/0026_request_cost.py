from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0025_recommend_scale")]

    operations = []
