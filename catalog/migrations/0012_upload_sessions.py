from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0011_repo_id_trigram")]

    operations = []
