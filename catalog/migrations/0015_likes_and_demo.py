from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0014_search_embeddings")]

    operations = []
